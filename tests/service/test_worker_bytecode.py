"""The workflow worker leaves bytecode for the sandbox.

The sandbox imports the workflow modules afresh for every new workflow. Without bytecode
(PYTHONDONTWRITEBYTECODE=1, as on developer machines and in CI) it compiles their source
each time, about two thirds of the cost of a new workflow; the production image compiles
at build time.
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

from worker import compile_workflow_modules
from workflows.item import ItemWorkflow


def test_the_workflow_worker_writes_bytecode_for_the_workflow_modules() -> None:
    modules = sorted(Path(inspect.getfile(ItemWorkflow)).parent.glob("*.py"))
    cached = [Path(importlib.util.cache_from_source(str(m))) for m in modules]
    for pyc in cached:
        pyc.unlink(missing_ok=True)

    compile_workflow_modules()

    assert [p.name for p in cached if not p.exists()] == []
    assert all(p.stat().st_mtime >= m.stat().st_mtime for m, p in zip(modules, cached, strict=True))
