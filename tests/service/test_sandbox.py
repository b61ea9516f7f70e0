"""The worker's sandbox compiles the code it enters workflows by once, not on every call.

The SDK enters a sandboxed workflow by `exec` of a source string, for each activation and,
with a payload codec, for each payload sequence's serialization context. These tests fail if
an SDK upgrade moves the instance class `onething.sandbox` wraps, or stops entering through
it: then every call would compile again, unseen (`scripts/bench_sandbox.py` measures it).
"""

from __future__ import annotations

import pytest
from temporalio import workflow
from temporalio.worker.workflow_sandbox import RestrictedWorkflowAccessError

from onething.sandbox import CompiledOnceSandbox, compiled
from scripts.bench_sandbox import details
from worker import WORKFLOWS, workflow_runner
from workflows.item import ItemWorkflow


async def test_the_worker_and_the_replayer_run_workflows_in_the_compiled_once_sandbox() -> None:
    runner = workflow_runner()
    assert isinstance(runner, CompiledOnceSandbox)
    for cls in WORKFLOWS:  # each workflow still passes the sandbox's validation
        runner.prepare_workflow(workflow._Definition.must_from_class(cls))


async def test_entering_a_workflow_compiles_nothing_after_the_first_time() -> None:
    runner = workflow_runner()
    first = runner.create_instance(details(ItemWorkflow))
    first.get_serialization_context(None)
    compiled_before = compiled.cache_info()

    second = runner.create_instance(details(ItemWorkflow))  # a new workflow of the same type
    for _ in range(5):
        second.get_serialization_context(None)

    after = compiled.cache_info()
    assert after.misses == compiled_before.misses  # no source compiled again
    assert after.hits >= compiled_before.hits + 5 + 2  # 5 entries, the 2 steps of creating it


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
