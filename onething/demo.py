"""The demo application `make run` submits, so the Web UI shows a running workflow at once."""

from __future__ import annotations

from domain.application import Channel, Submission
from domain.catalog import Catalog
from domain.people import Applicant, resident_id_check_digit

DEMO_APPLICATION_ID = "demo-0001"
DEMO_ITEM = "nurse-practice-registration"


def demo_applicant() -> Applicant:
    """A made-up applicant (valid format, belongs to nobody)."""
    first17 = "42068419900101100"
    return Applicant(
        name="王演示",
        id_number=first17 + resident_id_check_digit(first17),
        phone="13900000000",
    )


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
