"""The simulated service-center desk the scenario tests share: who applies, with what,
and who acts — as a window system and department staff would through the typed client."""

from __future__ import annotations

import asyncio
import zlib

from domain.application import ItemState, ItemStatus, Submission
from domain.bundle import as_bundle, one_set_of_materials
from domain.catalog import Catalog
from domain.people import Applicant, Role, Staff, resident_id_check_digit
from starter.client import ClientError, OnethingClient


def made_up_applicant(seed: str) -> Applicant:
    """A made-up applicant per seed: one test's credit records never bar another's."""
    first17 = f"42068419900101{zlib.crc32(seed.encode()) % 1000:03d}"
    return Applicant(
        name="测试", id_number=first17 + resident_id_check_digit(first17), phone="13900000001"
    )


def full_submission(
    catalog: Catalog,
    target: str,
    application_id: str,
    applicant: Applicant,
    *,
    leave_out: tuple[str, ...] = (),
    commitment: bool = False,
    pledge: bool = False,
    accepted_by: Staff | None = None,
) -> Submission:
    """Everything the one set of materials asks for (conditional ones aside), less `leave_out`."""
    materials = one_set_of_materials(catalog, as_bundle(catalog, target))
    return Submission.model_validate(
        {
            "application_id": application_id,
            "bundle_code" if target in catalog.bundles else "item_code": target,
            "applicant": applicant,
            "materials": [
                m.code for m in materials.to_bring if not m.condition and m.code not in leave_out
            ],
            "commitment_signed": commitment,
            "deficiency_pledge_signed": pledge,
            "accepted_by": accepted_by,
        }
    )


def staff(role: Role, department: str) -> Staff:
    return Staff(staff_id=f"{role.value}-{department}", role=role, department=department)


async def item_in(
    client: OnethingClient, application_id: str, item_code: str, *statuses: ItemStatus
) -> ItemState:
    """Until the item is in one of `statuses` with its staff task open."""
    for _ in range(400):
        try:
            state: ItemState | None = await client.item_state(application_id, item_code)
        except ClientError:
            state = None
        if state is not None and state.status in statuses and state.open_task is not None:
            return state
        await asyncio.sleep(0.025)
    raise AssertionError(f"{application_id}/{item_code} never reached {statuses}")
