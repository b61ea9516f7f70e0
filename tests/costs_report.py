"""A pytest plugin: the billable Temporal actions each lifecycle scenario cost, in the output.

Under pytest-xdist each worker process counts its own scenarios and hands them to the
controller when it finishes (`workeroutput`), which prints them all."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

SCENARIO_COSTS: dict[str, Counter[str]] = {}
_KEY = "onething_scenario_costs"


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:  # an xdist worker: its figures go to the controller
        output[_KEY] = json.dumps({k: dict(v) for k, v in SCENARIO_COSTS.items()})


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    sent = getattr(node, "workeroutput", {}).get(_KEY)
    for scenario, counts in json.loads(sent or "{}").items():
        SCENARIO_COSTS[scenario] = Counter(counts)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SCENARIO_COSTS:
        return
    terminalreporter.section("billable Temporal actions per application scenario")
    for scenario, counts in sorted(SCENARIO_COSTS.items()):
        parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        terminalreporter.write_line(f"{sum(counts.values()):4d}  {scenario}  ({parts})")
