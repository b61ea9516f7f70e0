"""A pytest plugin: the billable Temporal actions each lifecycle scenario cost, in the output."""

from __future__ import annotations

from collections import Counter

import pytest

SCENARIO_COSTS: dict[str, Counter[str]] = {}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SCENARIO_COSTS:
        return
    terminalreporter.section("billable Temporal actions per application scenario")
    for scenario, counts in sorted(SCENARIO_COSTS.items()):
        parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        terminalreporter.write_line(f"{sum(counts.values()):4d}  {scenario}  ({parts})")
