"""The workflow sandbox the worker and the replayer run workflows in.

The SDK's sandbox enters a workflow by `exec` of a short source string: for each activation,
and, with a payload codec, for each payload sequence the worker encodes or decodes, to ask
the workflow's serialization context. `exec` of a string compiles it on every call, about
half of each call's cost (`scripts/bench_sandbox.py`), on the worker's event loop. The
strings are a handful of constants per workflow type: compiled once here, the sandbox runs
the same code with the same globals and restrictions.

To answer a serialization context (or an external store's), ours does not enter at all.
The answer is a read of the instance's pending commands and its info, made by the SDK's own
method; entering for it cost the importer's swap of `sys.modules` and the builtins, about
245 times a 开办便利店 (`scripts/bench_sandbox.py`: 23 µs an entry, 0.7 µs a read).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import CodeType
from typing import Any

from temporalio.converter import SerializationContext
from temporalio.converter._extstore import StorageDriverStoreContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

# The SDK's sandboxed instance, of which three methods are replaced; tests/service/
# test_sandbox.py fails if an SDK upgrade moves it, stops entering the sandbox through
# `_run_code`, or answers a context differently from ours.
from temporalio.worker.workflow_sandbox._runner import _Instance


@functools.lru_cache(maxsize=256)
def compiled(source: str) -> CodeType:
    """The sandbox's source string as code, named as `exec` of the string names it."""
    return compile(source, "<string>", "exec")


class _CompiledOnce(_Instance):
    def _run_code(self, code: str, **extra_globals: Any) -> None:
        super()._run_code(compiled(code), **extra_globals)  # type: ignore[arg-type]

    def _in_sandbox(self) -> Any:
        """The SDK's instance inside the sandbox (`_in_sandbox.InSandbox`), once created."""
        return self.globals_and_locals.get("__temporal_in_sandbox")

    def get_serialization_context(
        self, command_info: CommandInfo | None
    ) -> SerializationContext | None:
        inside = self._in_sandbox()
        if inside is None:  # not created yet, or an SDK that names it otherwise: enter
            return super().get_serialization_context(command_info)
        context: SerializationContext | None = inside.get_serialization_context(command_info)
        return context

    def get_external_store_context(
        self, command_info: CommandInfo | None
    ) -> StorageDriverStoreContext:
        inside = self._in_sandbox()
        if inside is None:
            return super().get_external_store_context(command_info)
        context: StorageDriverStoreContext = inside.get_external_store_context(command_info)
        return context


@dataclass(frozen=True)
class CompiledOnceSandbox(SandboxedWorkflowRunner):
    """The SDK's sandbox: the code it enters workflows by compiled once per process, and
    serialization contexts read without entering."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _CompiledOnce(det, self.runner_class, self.restrictions)
