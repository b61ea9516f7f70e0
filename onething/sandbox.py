"""The workflow sandbox the worker and the replayer run workflows in.

The SDK's sandbox enters a workflow by `exec` of a short source string: for each activation,
and, with a payload codec, for each payload sequence the worker encodes or decodes, to ask
the workflow's serialization context. `exec` of a string compiles it on every call, about
half of each call's cost (`scripts/bench_sandbox.py`), on the worker's event loop. The
strings are a handful of constants per workflow type: compiled once here, the sandbox runs
the same code with the same globals and restrictions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import CodeType
from typing import Any

from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

# The SDK's sandboxed instance, of which one method is wrapped; tests/service/test_sandbox.py
# fails if an SDK upgrade moves it or stops entering the sandbox through `_run_code`.
from temporalio.worker.workflow_sandbox._runner import _Instance


@functools.lru_cache(maxsize=256)
def compiled(source: str) -> CodeType:
    """The sandbox's source string as code, named as `exec` of the string names it."""
    return compile(source, "<string>", "exec")


class _CompiledOnce(_Instance):
    def _run_code(self, code: str, **extra_globals: Any) -> None:
        super()._run_code(compiled(code), **extra_globals)  # type: ignore[arg-type]


@dataclass(frozen=True)
class CompiledOnceSandbox(SandboxedWorkflowRunner):
    """The SDK's sandbox, the code it enters workflows by compiled once per process."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _CompiledOnce(det, self.runner_class, self.restrictions)
