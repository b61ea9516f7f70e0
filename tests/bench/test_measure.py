"""When the bench takes a license as issued, read from a recorded history."""

from __future__ import annotations

from bench.measure import item_result_at, marker_at_s
from onething.costs import local_activity_data
from tests.histories.record import DEV_SERVER_DIR
from tests.service.test_costs import TOBACCO, histories_of


def test_a_local_license_is_issued_when_its_activity_completes_not_when_its_task_does() -> None:
    """Tobacco issues its license, reports it and opens the inspection's task in one workflow
    task: the license counts from `issue_license`'s completion, which the marker records,
    not from the marker's own time, the end of that whole task."""
    tobacco = histories_of(DEV_SERVER_DIR / "commitment_inspected")[TOBACCO]
    [marker] = [
        e
        for e in tobacco.events
        if (local_activity_data(e) or {}).get("activity_type") == "issue_license"
    ]
    completed = (local_activity_data(marker) or {})["complete_time"]

    issued, recorded = item_result_at(tobacco), marker_at_s(tobacco)

    assert issued == completed["seconds"] + completed["nanos"] / 1e9
    assert recorded == marker.event_time.seconds + marker.event_time.nanos / 1e9
    assert issued is not None and recorded is not None and issued < recorded
