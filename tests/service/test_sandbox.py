"""The worker's sandbox compiles the code it enters workflows by once, not on every call,
and reads serialization contexts without entering.

The SDK enters a sandboxed workflow by `exec` of a source string, for each activation and,
with a payload codec, for each payload sequence's serialization context. These tests fail if
an SDK upgrade moves the instance class `onething.sandbox` wraps, or stops entering through
it: then every call would compile again, unseen (`scripts/bench_sandbox.py` measures it); or
if a context read without entering differs from the one the SDK gives by entering.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import CommandType
from temporalio.converter import SerializationContext, WorkflowSerializationContext
from temporalio.converter._extstore import StorageDriverStoreContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import RestrictedWorkflowAccessError
from temporalio.worker.workflow_sandbox._runner import _fake_info, _Instance

from audit.replay import replay
from onething.sandbox import CompiledOnceSandbox, _CompiledOnce, compiled
from scripts.bench_sandbox import details
from tests.histories.record import (
    BEFORE_LIGHTER_HISTORIES,
    DEV_SERVER_DIR,
    kept,
    recording_converter,
)
from worker import WORKFLOWS, workflow_runner
from workflows.item import ItemWorkflow


async def test_the_worker_and_the_replayer_run_workflows_in_the_compiled_once_sandbox() -> None:
    runner = workflow_runner()
    assert isinstance(runner, CompiledOnceSandbox)
    for cls in WORKFLOWS:  # each workflow still passes the sandbox's validation
        runner.prepare_workflow(workflow._Definition.must_from_class(cls))


async def test_entering_a_workflow_compiles_nothing_after_the_first_time() -> None:
    runner = workflow_runner()
    runner.create_instance(details(ItemWorkflow))
    compiled_before = compiled.cache_info()

    runner.create_instance(details(ItemWorkflow))  # a new workflow of the same type

    after = compiled.cache_info()
    assert after.misses == compiled_before.misses  # no source compiled again
    assert after.hits >= compiled_before.hits + 2  # the 2 entries of creating it


async def test_asking_for_a_serialization_context_does_not_enter_the_sandbox() -> None:
    instance = workflow_runner().create_instance(details(ItemWorkflow))
    entries_before = compiled.cache_info()

    for _ in range(5):
        context = instance.get_serialization_context(None)
        store = instance.get_external_store_context(None)

    assert compiled.cache_info() == entries_before  # not one entry
    assert context == WorkflowSerializationContext(
        namespace=_fake_info.namespace, workflow_id=_fake_info.workflow_id
    )
    assert store.target is not None and store.target.id == _fake_info.workflow_id


@dataclass
class _Answers:
    """Each context asked for, as ours read it and as the SDK's sandbox gave it by entering."""

    serialization: list[tuple[int | None, object, object]] = field(default_factory=list)
    store: list[tuple[int | None, object, object]] = field(default_factory=list)


class _Compared(_CompiledOnce):
    answers = _Answers()

    def get_serialization_context(
        self, command_info: CommandInfo | None
    ) -> SerializationContext | None:
        ours = super().get_serialization_context(command_info)
        sdks = _Instance.get_serialization_context(self, command_info)
        self.answers.serialization.append((_kind(command_info), ours, sdks))
        return ours

    def get_external_store_context(
        self, command_info: CommandInfo | None
    ) -> StorageDriverStoreContext:
        ours = super().get_external_store_context(command_info)
        sdks = _Instance.get_external_store_context(self, command_info)
        self.answers.store.append((_kind(command_info), ours, sdks))
        return ours


def _kind(command_info: CommandInfo | None) -> int | None:
    return command_info.command_type if command_info is not None else None


@dataclass(frozen=True)
class _ComparingSandbox(CompiledOnceSandbox):
    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _Compared(det, self.runner_class, self.restrictions)


async def test_a_context_read_without_entering_is_the_one_the_sdk_gives_by_entering() -> None:
    """Replaying a 开办便利店 recorded on the dev server, today's and the one from before
    lighter histories (local activities, children, a signal to the parent, timers,
    updates), every context the worker asks for is answered both ways, and the answers are
    equal."""
    _Compared.answers = answers = _Answers()
    runner = _ComparingSandbox(restrictions=workflow_runner().restrictions)

    for recording in (
        DEV_SERVER_DIR / "commitment_inspected",
        kept(BEFORE_LIGHTER_HISTORIES, "devserver/commitment_inspected"),
    ):
        reports = await replay(
            recording, recording_converter(), workflows=WORKFLOWS, workflow_runner=runner
        )
        assert reports and all(r.clean for r in reports), [r.line() for r in reports]
    asked = {kind for kind, _, _ in answers.serialization}
    assert {
        None,
        CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
        CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
        CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
    } <= asked, asked
    assert answers.store
    differing = [a for a in answers.serialization + answers.store if a[1] != a[2]]
    assert not differing, differing[:3]


async def test_a_workflow_in_the_compiled_once_sandbox_is_still_restricted() -> None:
    """The compiled code runs with the sandbox's importer and restrictions, as the string
    did: the wall clock is refused inside a workflow."""
    instance = workflow_runner().create_instance(details(ItemWorkflow))
    instance.importer.restriction_context.is_runtime = True  # type: ignore[attr-defined]
    with pytest.raises(RestrictedWorkflowAccessError, match=r"datetime\.datetime\.now"):
        instance._run_code(  # type: ignore[attr-defined]
            "with __temporal_importer.applied():\n  import datetime\n  datetime.datetime.now()\n",
            __temporal_importer=instance.importer,  # type: ignore[attr-defined]
        )
