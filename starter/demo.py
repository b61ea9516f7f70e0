"""The demo application `make run` submits, so the Web UI shows a running workflow at once.
Its applicant is the simulated desk's (`starter.desk.demo_applicant`)."""

from __future__ import annotations

from domain.application import Channel, Submission
from domain.catalog import Catalog
from starter.desk import demo_applicant

__all__ = ["DEMO_APPLICATION_ID", "DEMO_ITEM", "demo_applicant", "demo_submission"]

DEMO_APPLICATION_ID = "demo-0001"
DEMO_ITEM = "nurse-practice-registration"


def demo_submission(catalog: Catalog, application_id: str = DEMO_APPLICATION_ID) -> Submission:
    """Every material the demo item asks of the applicant, handed in at the window."""
    item = catalog.item(DEMO_ITEM)
    return Submission(
        application_id=application_id,
        item_code=item.code,
        applicant=demo_applicant(),
        channel=Channel.WINDOW,
        materials=[m.code for m in item.materials if m.asked_for],
    )
