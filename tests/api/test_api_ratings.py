"""Ratings (好差评) over the HTTP API, with a real worker on the time-skipping server: who
may rate, when, the errors (reason missing 422, second rating 409, not one's own case 403),
the 差评's follow-up answered by its department, the appeal decided by a supervisor, and the
figures of the report equal to those counted by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from starter.demo import DEMO_ITEM, demo_applicant
from tests.conftest import time_skipping_server
from tests.support.api import as_, assert_error, completed_case, item_at, submitted, until

BEIJING = ZoneInfo("Asia/Shanghai")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api_env(store_engine: Engine) -> AsyncIterator[WorkflowEnvironment]:
    """The module's API on a server per store (asked for `store_engine` for that): a
    follow-up's workflow ID carries the case number, which is unique within one store only,
    so the two stores' cases must not meet on one server."""
    env = await time_skipping_server()
    try:
        yield env
    finally:
        await env.shutdown()


def rate_path(application_id: str) -> str:
    return f"/applications/{application_id}/rating"


async def test_rating_a_case_its_errors_the_follow_up_and_the_appeal(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    # Not yet decided: refused, naming the application.
    running = await submitted(api, catalog)
    await item_at(api, running)
    r = await api.post(rate_path(running), json={"level": "satisfied"}, headers=as_("app-demo"))
    assert "still being handled" in assert_error(r, 409, "application_id")["message"]

    app_id = await completed_case(api, catalog)
    bad = {"level": "dissatisfied", "reason": "补正材料来回跑了两趟", "channel": "online"}
    # Not one's own case; not a rater's role.
    assert_error(await api.post(rate_path(app_id), json=bad, headers=as_("app-other")), 403)
    for who in ("rev-health", "sup", "audit", "clerk-xh"):
        assert_error(await api.post(rate_path(app_id), json=bad, headers=as_(who)), 403)
    # Below 满意 without a reason; a window rating from an applicant's token.
    for level in ("basically_satisfied", "dissatisfied", "very_dissatisfied"):
        r = await api.post(rate_path(app_id), json={"level": level}, headers=as_("app-demo"))
        assert_error(r, 422, "reason")
    r = await api.post(
        rate_path(app_id), json={**bad, "channel": "window"}, headers=as_("app-demo")
    )
    assert_error(r, 422, "channel")
    assert_error(
        await api.post(rate_path(app_id), json={"level": "great"}, headers=as_("app-demo")),
        422,
        "level",
    )

    r = await api.post(rate_path(app_id), json=bad, headers=as_("app-demo"))
    assert r.status_code == 201, r.text
    rating: dict[str, Any] = r.json()
    case = rating["case_number"]
    assert rating["level_text"] == "不满意" and rating["bad"] is True
    assert rating["rater"] == "applicant" and rating["rater_text"] == "申请人"
    assert rating["channel_text"] == "网上" and rating["recorded_by"] is None
    assert rating["rated_at"].endswith("+08:00")
    assert rating["items"] == [{"item_code": DEMO_ITEM, "department": "health"}]
    [follow] = rating["follow_ups"]
    assert follow["department"] == "health" and follow["days"] == 15
    assert follow["status"] == "open" and follow["status_text"] == "待回访"
    person = demo_applicant()  # who rated is kept keyed: no name, ID or phone travels
    for secret in (person.name, person.id_number, person.phone):
        assert secret not in r.text

    # A second rating, by anyone: 409 naming the case number.
    again = await api.post(rate_path(app_id), json={"level": "satisfied"}, headers=as_("clerk-yc"))
    assert_error(again, 409, "case_number")
    again = await api.post(rate_path(app_id), json={"level": "satisfied"}, headers=as_("app-demo"))
    assert_error(again, 409, "case_number")

    # Reading it.
    assert (await api.get(rate_path(app_id), headers=as_("app-demo"))).json()["case_number"] == case
    assert_error(await api.get(rate_path(app_id), headers=as_("app-other")), 403)
    assert_error(await api.get(f"/ratings/{case}", headers=as_("rev-market")), 403)
    assert (await api.get(f"/ratings/{case}", headers=as_("rev-health"))).status_code == 200
    assert_error(
        await api.get("/ratings/420684-20000101-000001", headers=as_("sup")), 404, "case_number"
    )
    listed = (await api.get("/ratings?bad_only=true", headers=as_("head-health"))).json()
    assert case in [x["case_number"] for x in listed["items"]]
    assert_error(await api.get("/ratings?department=market", headers=as_("head-health")), 403)

    # The follow-up: the task is open with its due instant; health answers, in time.
    base = f"/ratings/{case}/follow-ups/health"
    state = await until(api, base, lambda s: s.get("due_at"), what="the follow-up is due")
    assert state["clock_state"] == "normal"
    tasks = (await api.get("/tasks?kind=rating_follow_up", headers=as_("rev-health"))).json()
    assert any(t["application_id"] == app_id for t in tasks["items"])
    answer = {"outcome": "fixed", "text": "已回访, 补正清单改为一次性告知"}
    assert_error(await api.post(f"{base}/answer", json=answer, headers=as_("rev-market")), 403)
    assert_error(await api.post(f"{base}/answer", json=answer, headers=as_("insp-health")), 403)
    r = await api.post(
        f"{base}/answer", json={"outcome": "fixed", "text": ""}, headers=as_("rev-health")
    )
    assert_error(r, 422, "text")
    r = await api.post(f"{base}/answer", json=answer, headers=as_("rev-health"))
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "fixed" and r.json()["in_time"] is True
    assert_error(
        await api.post(f"{base}/answer", json=answer, headers=as_("head-health")),
        409,
        "case_number",
    )

    # The appeal: by the department, once; decided by a supervisor only.
    appeal = {"reason": "申请人确认系误评"}
    assert_error(
        await api.post(f"/ratings/{case}/appeal", json=appeal, headers=as_("rev-market")), 403
    )
    r = await api.post(f"/ratings/{case}/appeal", json=appeal, headers=as_("head-health"))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending" and r.json()["appealed_by"] == "head-health"
    assert_error(
        await api.post(f"/ratings/{case}/appeal", json=appeal, headers=as_("rev-health")),
        409,
        "case_number",
    )
    decision = {"verdict": "upheld", "reason": "经回访核实, 申请人误评"}
    assert_error(
        await api.post(
            f"/ratings/{case}/appeal/decision", json=decision, headers=as_("head-health")
        ),
        403,
    )
    r = await api.post(f"/ratings/{case}/appeal/decision", json=decision, headers=as_("sup"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "upheld" and r.json()["decided_by"] == "sup"
    assert r.json()["decided_at"].endswith("+08:00")
    assert (await api.get(f"/ratings/{case}", headers=as_("audit"))).json()["excluded"] is True


async def test_a_clerk_rates_at_the_window_and_the_report_counts_by_hand(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    first = await completed_case(api, catalog)
    second = await completed_case(api, catalog)
    third = await completed_case(api, catalog)
    r = await api.post(rate_path(first), json={"level": "very_satisfied"}, headers=as_("clerk-yc"))
    assert r.status_code == 201, r.text
    assert r.json()["channel"] == "window" and r.json()["recorded_by"] == "clerk-yc"
    assert r.json()["follow_ups"] == []
    assert_error(
        await api.post(
            rate_path(second),
            json={"level": "satisfied", "rater": "agent"},
            headers=as_("clerk-yc"),
        ),
        422,
        "rater",
    )
    r = await api.post(
        rate_path(second),
        json={"level": "basically_satisfied", "reason": "等候较久"},
        headers=as_("app-demo"),
    )
    assert r.status_code == 201, r.text
    r = await api.post(
        rate_path(third),
        json={"level": "very_dissatisfied", "reason": "态度差", "channel": "sms"},
        headers=as_("app-demo"),
    )
    assert r.status_code == 201, r.text
    bad_case = r.json()["case_number"]

    assert_error(await api.get("/reports/ratings", headers=as_("rev-health")), 403)
    assert_error(await api.get("/reports/ratings", headers=as_("app-demo")), 403)
    assert_error(
        await api.get("/reports/ratings?since=2026-12-02&until=2026-12-01", headers=as_("sup")),
        422,
        "until",
    )
    query = "/reports/ratings"
    scope = {"hall": "yicheng-center", "item_code": DEMO_ITEM}
    report = (await api.get(query, params=scope, headers=as_("audit"))).json()
    f = report["figures"]
    # This module's ratings (the session's store: no module before it rates this item at
    # this hall; tests/cli/test_cli_ratings.py comes after): 1 excluded (the first test's,
    # upheld), then 非常满意, 基本满意, 非常不满意 (its follow-up open, within its limit).
    assert f["excluded_by_appeal"] == 1
    assert f["ratings"] == 3
    assert [c["count"] for c in f["levels"]] == [1, 0, 1, 0, 1]
    assert f["good"] == 2 and f["good_rate"] == round(2 / 3, 4) and f["bad"] == 1
    assert (f["bad_settled_in_time"], f["bad_due"], f["bad_pending"]) == (0, 0, 1)
    assert f["rectification_rate"] is None and f["follow_ups_overdue"] == 0
    assert report["as_of"].endswith("+08:00") and set(report["by_department"]) == {"health"}

    # Past its limit, unanswered: overdue; 差评整改率 0 of 1.
    rated = await until(api, f"/ratings/{bad_case}", lambda r: r["follow_ups"][0]["due_at"])
    follow: dict[str, Any] = rated["follow_ups"][0]
    due = datetime.fromisoformat(follow["due_at"])
    assert due.astimezone(BEIJING).strftime("%H:%M") == "17:30"
    late = (due + timedelta(hours=1)).isoformat()
    r = await api.get(query, params={**scope, "as_of": late}, headers=as_("sup"))
    f = r.json()["figures"]
    assert (f["bad_due"], f["bad_settled_in_time"], f["rectification_rate"]) == (1, 0, 0.0)
    assert f["follow_ups_overdue_open"] == 1 and f["follow_ups_overdue"] == 1
    naive = await api.get(
        query, params={**scope, "as_of": "2026-12-01T10:00:00"}, headers=as_("sup")
    )
    assert_error(naive, 422, "as_of")

    # Answered (in its workflow's time, before the due instant): settled in time, 1 of 1.
    answer = {"outcome": "explained", "text": "已电话说明办理要求"}
    r = await api.post(
        f"/ratings/{bad_case}/follow-ups/health/answer", json=answer, headers=as_("head-health")
    )
    assert r.status_code == 200 and r.json()["in_time"] is True, r.text
    f = (await api.get(query, params={**scope, "as_of": late}, headers=as_("sup"))).json()[
        "figures"
    ]
    assert (f["bad_due"], f["bad_settled_in_time"], f["rectification_rate"]) == (1, 1, 1.0)
    assert f["follow_ups_explained"] == 1 and f["follow_ups_overdue"] == 0
