"""补正, not 不予受理 (行政许可法 Art. 32): incomplete materials get one correction notice
listing everything missing; the case stays open under the same application and is accepted
when the materials arrive, its limits counted from then; it lapses when they do not arrive
in time. Refusal to accept is a clerk's act on its two legal grounds, with reasons and
rights."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.application import (
    ApplicationStatus,
    Channel,
    ItemStatus,
    Refusal,
    RefusalGround,
    Supplement,
    Withdrawal,
)
from domain.catalog import Catalog
from domain.people import Role
from starter.client import Conflict
from store import licenses, notifications
from tests.conftest import onething_client
from tests.desk import eventually, item_in, staff
from tests.support.lifecycle import (
    CLERK,
    DAY,
    MISSING,
    SALON,
    awaiting_correction,
    report_cost,
    salon_awaiting_correction,
    submission,
)


async def test_one_correction_notice_then_accepted_when_the_materials_arrive(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    async with salon_awaiting_correction(fresh_ts_env, store_engine, catalog) as (client, waiting):
        app = waiting.application_id
        await fresh_ts_env.sleep(3 * DAY)
        with pytest.raises(Conflict, match=r"materials\[0\]: 'equipment-layout' is not awaited"):
            await client.supplement(
                app, Supplement(materials=["equipment-layout"], channel=Channel.MAIL)
            )
        left = await client.supplement(
            app, Supplement(materials=["operator-id"], channel=Channel.MAIL)
        )
        still = await client.state(app)
        left_after = await client.supplement(
            app, Supplement(materials=["premises-proof"], channel=Channel.WINDOW, received_by=CLERK)
        )
        business = catalog.bundles[SALON].members[0].item
        started = await item_in(client, app, business, ItemStatus.UNDER_REVIEW)
        accepted = await client.state(app)

    assert sorted(m.code for m in waiting.outstanding) == sorted(MISSING)
    assert waiting.items == []  # nothing runs before acceptance
    assert waiting.notice is not None and sorted(m.code for m in waiting.notice.missing) == sorted(
        MISSING
    )
    assert left == ["premises-proof"] and still.status is ApplicationStatus.AWAITING_CORRECTION
    assert left_after == []
    assert accepted.status is ApplicationStatus.IN_PROGRESS
    actions = [e.action for e in accepted.trail]
    assert actions[:4] == [
        "correction requested",
        "correction received by mail",
        "correction received by window",
        "accepted",
    ]
    # The limits count from complete materials: the review began after the correction.
    assert started.clock is not None and started.clock.started_at is not None
    assert started.clock.started_at >= waiting.notice.issued_at + 3 * DAY
    assert accepted.trips == 2  # the submission and the corrected material at the window
    sent = notifications.notifications_of(store_engine, app)
    [notice] = [n for n in sent if n.kind == "correction_notice"]
    assert all(m.name in notice.message for m in waiting.outstanding)  # every one, at once
    assert re.search(r"请于 \d{4}-\d\d-\d\d \d\d:\d\d 前", notice.message), notice.message


async def test_no_correction_in_time_lapses_the_application(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    async with salon_awaiting_correction(fresh_ts_env, store_engine, catalog) as (client, waiting):
        app = waiting.application_id
        await fresh_ts_env.sleep(60 * DAY)
        outcome = await client.result(app)
        await report_cost(fresh_ts_env, "correction notice, not corrected: lapsed", app)

    assert outcome.status is ApplicationStatus.LAPSED
    assert outcome.notice is not None
    assert sorted(m.code for m in outcome.notice.missing) == sorted(MISSING)
    kinds = [n.kind for n in notifications.notifications_of(store_engine, app)]
    assert kinds == ["correction_notice", "correction_reminder", "lapsed"]
    assert licenses.licenses_of(store_engine, app) == []


async def test_a_clerk_refuses_only_on_a_legal_ground_with_reasons_and_rights(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    refusal = Refusal(
        ground=RefusalGround.OUTSIDE_POWERS,
        reason="经营场所位于邻市辖区",
        competent_office="襄阳市襄州区政务服务中心",
        refused_by=CLERK,
    )
    async with salon_awaiting_correction(ts_env, store_engine, catalog) as (client, waiting):
        app = waiting.application_id
        with pytest.raises(Conflict, match=r"refused_by\.role"):
            await client.refuse(
                app, refusal.model_copy(update={"refused_by": staff(Role.REVIEWER, "market")})
            )
        assert await client.refuse(app, refusal) is ApplicationStatus.REFUSED
        outcome = await client.result(app)

    assert outcome.status is ApplicationStatus.REFUSED and outcome.reason == refusal.reason
    [notice] = [n for n in notifications.notifications_of(store_engine, app) if n.kind == "refused"]
    assert "不属于本行政机关职权范围" in notice.message
    assert "襄阳市襄州区政务服务中心" in notice.message
    assert "六十日内" in notice.message and "六个月内" in notice.message
    with pytest.raises(ValueError, match="competent_office"):
        Refusal(ground=RefusalGround.OUTSIDE_POWERS, reason="x", refused_by=CLERK)


async def test_an_accepted_application_cannot_be_refused_and_withdrawal_ends_a_correction(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    complete = submission(catalog, "nurse-practice-registration")
    incomplete = submission(catalog, SALON, leave_out=MISSING)
    refusal = Refusal(ground=RefusalGround.NOT_LICENSABLE, reason="无需许可", refused_by=CLERK)
    async with onething_client(ts_env, store_engine, catalog) as client:
        await client.submit(complete)
        await item_in(
            client, complete.application_id, "nurse-practice-registration", ItemStatus.UNDER_REVIEW
        )
        with pytest.raises(Conflict, match="status: only an application not yet accepted"):
            await client.refuse(complete.application_id, refusal)
        await client.submit(incomplete)
        await awaiting_correction(client, incomplete.application_id)
        await client.withdraw(incomplete.application_id, Withdrawal(reason="材料找不到了"))
        outcome = await client.result(incomplete.application_id)
        await client.withdraw(complete.application_id, Withdrawal(reason="test over"))

    assert outcome.status is ApplicationStatus.WITHDRAWN
    assert outcome.items == []


async def test_corrected_then_accepted_with_deficiency_gets_the_deficiency_notice_too(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    item = catalog.item("food-business-license")
    core = next(m.code for m in item.materials if m.core and m.asked_for and not m.is_form)
    deferrable = next(m.code for m in item.materials if m.deferrable)
    sub = submission(
        catalog, item.code, leave_out=(core, deferrable), pledge=True, applicant_seed="c-then-d"
    )
    app = sub.application_id
    async with onething_client(ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        await awaiting_correction(client, app)
        await client.supplement(app, Supplement(materials=[core], channel=Channel.ONLINE))
        state = await eventually(
            lambda: client.state(app),
            lambda s: (
                s.status is ApplicationStatus.AWAITING_SUPPLEMENT
                and s.notice is not None
                and s.notice.supplement_by is not None
            ),
            "the deficiency notice",
        )
        await client.withdraw(app, Withdrawal(reason="test over"))

    assert state.notice is not None and [m.code for m in state.notice.missing] == [deferrable]
    kinds = [n.kind for n in notifications.notifications_of(store_engine, app)]
    assert kinds[:3] == ["correction_notice", "accepted", "deficiency_notice"]


async def test_incomplete_bundle_gets_one_correction_notice_listing_every_missing_material(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    sub = submission(catalog, "open-beauty-salon", leave_out=("operator-id", "premises-proof"))
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        outcome = await eventually(
            lambda: client.state(sub.application_id),
            lambda s: s.status is ApplicationStatus.AWAITING_CORRECTION,
            "the correction notice",
        )
        await client.withdraw(sub.application_id, Withdrawal(reason="test over"))

    assert outcome.notice is not None
    assert sorted(m.code for m in outcome.notice.missing) == ["operator-id", "premises-proof"]
    assert all(m.core for m in outcome.notice.missing)
    assert licenses.licenses_of(store_engine, sub.application_id) == []
