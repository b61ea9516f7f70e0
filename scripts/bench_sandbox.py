"""What the workflow sandbox costs the worker, per workflow type: CPU to create a new
instance (once per workflow the worker takes into its cache) and to answer a payload
sequence's serialization context (with a codec: for every payload sequence it encodes or
decodes), in the SDK's sandbox, which enters the workflow for it, and in ours
(`onething.sandbox`: its code compiled once, the context read without entering).

    .venv/bin/python scripts/bench_sandbox.py
    .venv/bin/python scripts/bench_sandbox.py --instances 50 --calls 20000
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from functools import partial

from temporalio import workflow
from temporalio.api.common.v1 import Payloads
from temporalio.api.failure.v1 import Failure
from temporalio.converter import DataConverter
from temporalio.worker import WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

# The SDK's own stand-in info for a workflow it validates (`prepare_workflow`).
from temporalio.worker.workflow_sandbox._runner import _fake_info

from worker import WORKFLOWS, compile_workflow_modules, workflow_runner


def details(cls: type) -> WorkflowInstanceDetails:
    return WorkflowInstanceDetails(
        payload_converter_factory=DataConverter.default._new_payload_converter,
        failure_converter_class=DataConverter.default.failure_converter_class,
        interceptor_classes=[],
        defn=workflow._Definition.must_from_class(cls),
        info=_fake_info,
        randomness_seed=-1,
        extern_functions={},
        disable_eager_activity_execution=False,
        worker_level_failure_exception_types=[],
        patch_activation_callback=None,
        last_completion_result=Payloads(),
        last_failure=Failure(),
    )


def cpu_per_call(call: Callable[[], object], times: int) -> float:
    call()  # warm: imports, caches
    start = time.process_time()
    for _ in range(times):
        call()
    return (time.process_time() - start) / times


async def measure(instances: int, calls: int) -> None:
    compile_workflow_modules()  # as the worker does at start: else each new instance compiles
    ours = workflow_runner()
    sdk = SandboxedWorkflowRunner(restrictions=ours.restrictions)
    print(f"{'workflow':26} {'new instance, ms CPU':>22} {'a context, µs CPU':>30}")
    print(f"{'':26} {'':>22} {'SDK (enters)':>14} {'ours':>15}")
    for cls in WORKFLOWS:
        det = details(cls)
        create = cpu_per_call(partial(ours.create_instance, det), instances)
        entered = []
        for runner in (sdk, ours):
            instance = runner.create_instance(det)
            enter = partial(instance.get_serialization_context, None)
            entered.append(cpu_per_call(enter, calls))
        print(
            f"{cls.__name__:26} {create * 1e3:>22.2f} "
            f"{entered[0] * 1e6:>14.1f} {entered[1] * 1e6:>15.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=30, help="new instances per type")
    parser.add_argument("--calls", type=int, default=10000, help="entries per type and sandbox")
    args = parser.parse_args()
    asyncio.run(measure(args.instances, args.calls))  # an instance needs a running loop


if __name__ == "__main__":
    main()
