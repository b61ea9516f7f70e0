"""The procedure of revision 2026-12 where people work, over a real worker and the
time-skipping Temporal server: excluded time (Art. 45) started and ended by the item's
department, what the head of a department reads and does, and referrals to supervision
(移送监管) listed and closed — over HTTP and on the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from domain.supervision import Referral, ReferralKind
from starter.demo import DEMO_ITEM
from starter.desk import eventually
from store import notifications
from store import supervision as supervision_store
from store.supervision import SupervisionReferral
from tests.conftest import Api, cli, cli_reaches, new_application_id, run_cli
from tests.support.api import (
    as_,
    assert_error,
    full_body,
    item_at,
    post_new,
    submitted,
    under_review,
)

FOOD = "food-business-license"  # market; on commitment: issued at once, inspected afterwards
START = {"kind": "expert_review", "expected_days": 10, "reason": "需组织专家对执业条件进行评审"}
END = {"result": "专家评审意见: 符合执业条件"}


def item_path(application_id: str, item_code: str = DEMO_ITEM) -> str:
    return f"/applications/{application_id}/items/{item_code}"


# --------------------------------------------------------------------------- excluded time


async def test_excluded_time_is_started_and_ended_by_the_items_department(
    served_api: Api, catalog: Catalog
) -> None:
    http = served_api.http
    application_id = await submitted(http, catalog)
    await under_review(http, application_id)
    assert catalog.item(DEMO_ITEM).department == "health"
    base = item_path(application_id)
    start, end = f"{base}/excluded-time", f"{base}/excluded-time/end"

    for who, reason in [
        ("insp-health", "only a reviewer or the head of the item's department"),
        ("sup", "only a reviewer or the head of the item's department"),
        ("ops", "only a reviewer or the head of the item's department"),
        ("clerk-yc", "only a reviewer or the head of the item's department"),
        ("app-demo", "only a reviewer or the head of the item's department"),
        ("audit", "never change"),
        ("rev-market", "belongs to department 'health'"),
        ("head-market", "belongs to department 'health'"),
    ]:
        for path, body in ((start, START), (end, END)):
            error = assert_error(await http.post(path, json=body, headers=as_(who)), 403)
            assert reason in error["message"], (who, path, error)

    # Bad input names its field; who decides comes from the token, never from the body.
    bad: list[tuple[dict[str, Any], str]] = [
        ({"expected_days": 0}, "expected_days"),
        ({"expected_days": 251}, "expected_days"),
        ({"expected_days": "10"}, "expected_days"),
        ({"kind": "correction"}, "kind"),
        ({"reason": "  "}, "reason"),
        ({"reason": "长" * 501}, "reason"),
        ({"decided_by": {"staff_id": "head-health", "role": "department_head"}}, "decided_by"),
    ]
    for change, field in bad:
        r = await http.post(start, json={**START, **change}, headers=as_("rev-health"))
        error = assert_error(r, 422, field)
        assert "长" * 50 not in r.text
    assert_error(await http.post(end, json={}, headers=as_("rev-health")), 422, "result")

    # 409 from the item's own rules, naming the field.
    error = assert_error(await http.post(end, json=END, headers=as_("head-health")), 409, "status")
    assert "no excluded time is running" in error["message"]

    r = await http.post(start, json=START, headers=as_("rev-health"))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "application_id": application_id,
        "item_code": DEMO_ITEM,
        "action": "excluded time started",
        "by": "rev-health",
        "status": "under_review",
    }
    again = assert_error(await http.post(start, json=START, headers=as_("head-health")), 409)
    assert "running already" in again["message"]
    approve = {"verdict": "approve"}
    blocked = await http.post(f"{base}/decision", json=approve, headers=as_("rev-health"))
    assert "excluded time (专家评审) is running" in assert_error(blocked, 409, "status")["message"]

    # The head of the department reads the item; another department's head does not.
    r = await http.get(base, headers=as_("head-health"))
    assert r.status_code == 200, r.text
    paused = r.json()
    assert paused["excluded_time"]["kind"] == "expert_review"
    assert paused["excluded_time"]["decided_by"]["staff_id"] == "rev-health"
    assert paused["clock"]["paused"] and paused["statutory_clock"]["paused"]
    assert_error(await http.get(base, headers=as_("head-market")), 403)

    r = await http.post(end, json=END, headers=as_("head-health"))
    assert r.status_code == 200, r.text
    assert (r.json()["action"], r.json()["by"]) == ("excluded time ended", "head-health")
    resumed = (await http.get(base, headers=as_("rev-health"))).json()
    assert resumed["excluded_time"] is None and not resumed["clock"]["paused"]
    trail = [(e["action"], e["actor"], e["role"]) for e in resumed["trail"]]
    assert ("excluded time started", "rev-health", "reviewer") in trail
    assert ("excluded time ended", "head-health", "department_head") in trail

    async def told() -> list[str]:
        r = await http.get(f"/applications/{application_id}/notices", headers=as_("app-demo"))
        kinds = [n["kind"] for n in r.json()]
        return kinds if "excluded_time_ended" in kinds else []

    assert "excluded_time" in await eventually(told, bool, "the applicant's two notices")

    r = await http.post(f"{base}/decision", json=approve, headers=as_("rev-health"))
    assert r.status_code == 200, r.text
    closed = await http.post(start, json=START, headers=as_("rev-health"))
    assert_error(closed, 409)


async def test_excluded_time_on_unknown_applications_items_and_after_issuance(
    served_api: Api, catalog: Catalog
) -> None:
    http = served_api.http
    r = await http.post(
        f"{item_path('nobody-00000')}/excluded-time", json=START, headers=as_("rev-health")
    )
    assert_error(r, 404, "application_id")
    application_id = await submitted(http, catalog)
    r = await http.post(
        f"{item_path(application_id, 'no-such-item')}/excluded-time",
        json=START,
        headers=as_("rev-health"),
    )
    assert_error(r, 404, "item_code")

    # On commitment the license is issued at once: the check afterwards is no pause of a
    # decision's limit (the item's rule says so: 409).
    food = await post_new(http, full_body(catalog, FOOD, commitment=True, someone_else=True))
    await item_at(http, food, FOOD, "inspecting")
    r = await http.post(
        f"{item_path(food, FOOD)}/excluded-time", json=START, headers=as_("rev-market")
    )
    assert "before the decision" in assert_error(r, 409, "status")["message"]


# --------------------------------------------------------------------------- department heads


async def test_the_head_of_a_department_reads_its_work_and_does_not_decide(
    served_api: Api, catalog: Catalog
) -> None:
    http = served_api.http
    application_id = await submitted(http, catalog)
    await under_review(http, application_id)
    r = await http.get(f"/applications/{application_id}", headers=as_("head-health"))
    assert r.status_code == 200, r.text
    error = assert_error(
        await http.get(f"/applications/{application_id}", headers=as_("head-market")), 403
    )
    assert "no item of department 'market'" in error["message"]

    # Their department's inbox, every role of it; not another department's.
    r = await http.get(
        "/tasks", params={"application_id": application_id}, headers=as_("head-health")
    )
    assert r.status_code == 200, r.text
    assert [(t["department"], t["kind"]) for t in r.json()["items"]] == [("health", "review")]
    r = await http.get("/tasks", params={"department": "market"}, headers=as_("head-health"))
    assert "may list only department 'health'" in assert_error(r, 403)["message"]
    r = await http.get(
        "/tasks", params={"application_id": application_id}, headers=as_("head-market")
    )
    assert r.json()["items"] == []

    for path in ("/supervision/cases", "/supervision/referrals"):
        assert (await http.get(path, headers=as_("head-health"))).status_code == 200
        r = await http.get(path, params={"department": "market"}, headers=as_("head-health"))
        assert "may list only department 'health'" in assert_error(r, 403)["message"]

    # They extend and pause; deciding is the reviewer's, taking a task too.
    decision = await http.post(
        f"{item_path(application_id)}/decision",
        json={"verdict": "approve"},
        headers=as_("head-health"),
    )
    assert "only reviewers" in assert_error(decision, 403)["message"]
    task_id = (
        await http.get(
            "/tasks", params={"application_id": application_id}, headers=as_("head-health")
        )
    ).json()["items"][0]["task_id"]
    take = await http.post("/tasks/take", json={"task_id": task_id}, headers=as_("head-health"))
    assert "this is a reviewer task" in assert_error(take, 403)["message"]


# --------------------------------------------------------------------------- referrals


async def referrals_of(
    http: httpx.AsyncClient, application_id: str, who: str, **params: str
) -> list[dict[str, Any]]:
    r = await http.get(
        "/supervision/referrals", params={"limit": "200", **params}, headers=as_(who)
    )
    assert r.status_code == 200, r.text
    return [c for c in r.json()["items"] if application_id in c["workflow_id"]]


async def test_a_revocation_is_referred_listed_by_scope_and_closed_by_a_supervisor(
    served_api: Api, catalog: Catalog
) -> None:
    http = served_api.http
    application_id = await post_new(
        http, full_body(catalog, FOOD, commitment=True, someone_else=True)
    )
    await item_at(http, application_id, FOOD, "inspecting")
    r = await http.post(
        f"{item_path(application_id, FOOD)}/inspection",
        json={"result": "false_commitment", "findings": "现场无冷链设备, 与承诺不符"},
        headers=as_("insp-market"),
    )
    assert r.status_code == 200, r.text

    async def referred() -> list[dict[str, Any]]:
        return await referrals_of(http, application_id, "sup")

    [referral] = await eventually(referred, bool, "the referral after the revocation")
    assert referral["kind"] == "revocation" and referral["kind_label"] == "撤销许可后移送监管"
    assert referral["department"] == "market" and referral["status"] == "open"
    assert referral["subject"] == f"{application_id}/{FOOD}"
    assert "与承诺不符" in referral["reason"]
    assert datetime.fromisoformat(referral["referred_at"]).utcoffset() is not None
    assert referral["closed_at"] is None and referral["resolution"] is None

    for who in ("audit", "ops", "insp-market", "rev-market", "head-market"):
        assert await referrals_of(http, application_id, who) == [referral], who
    for who in ("rev-health", "head-health"):
        assert await referrals_of(http, application_id, who) == [], who
    for who, params, reason in [
        ("rev-health", {"department": "market"}, "only department 'health'"),
        ("clerk-yc", {}, "for supervisors and the departments"),
        ("app-demo", {}, "for supervisors and the departments"),
    ]:
        r = await http.get("/supervision/referrals", params=params, headers=as_(who))
        assert reason in assert_error(r, 403)["message"]
    assert_error(
        await http.get("/supervision/referrals", params={"status": "x"}, headers=as_("sup")),
        422,
        "status",
    )

    # Paged like the supervision cases.
    r = await http.get(
        "/supervision/referrals", params={"limit": 1, "status": "all"}, headers=as_("sup")
    )
    page = r.json()
    assert len(page["items"]) == 1 and page["limit"] == 1 and page["total"] >= 1
    assert page["next_offset"] == (1 if page["total"] > 1 else None)

    path = f"/supervision/referrals/{referral['id']}/closure"
    done = {"resolution": "已立案调查, 责令停业整改"}
    for who, reason in [
        ("audit", "never change"),
        ("head-market", "only a supervisor"),
        ("insp-market", "only a supervisor"),
        ("ops", "only a supervisor"),
    ]:
        error = assert_error(await http.post(path, json=done, headers=as_(who)), 403)
        assert reason in error["message"], (who, error)
    assert_error(await http.post(path, json={}, headers=as_("sup")), 422, "resolution")
    r = await http.post(path, json=done, headers=as_("sup"))
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["status"] == "closed" and closed["resolution"] == f"sup: {done['resolution']}"
    assert closed["closed_at"] is not None
    again = await http.post(path, json={"resolution": "再次"}, headers=as_("sup"))
    assert_error(again, 409, "referral_id")
    unknown = "/supervision/referrals/987654321/closure"
    assert_error(await http.post(unknown, json=done, headers=as_("sup")), 404, "referral_id")

    assert await referrals_of(http, application_id, "sup") == []
    [shown] = await referrals_of(http, application_id, "sup", status="closed")
    assert shown["resolution"] == f"sup: {done['resolution']}"


# --------------------------------------------------------------------------- command line


async def test_the_command_line_starts_and_ends_excluded_time(
    served_api: Api,
    catalog: Catalog,
    ts_env: WorkflowEnvironment,
    cli_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cli_reaches(monkeypatch, ts_env, served_api.engine, served_api.client.task_queue)
    application_id = await submitted(served_api.http, catalog)
    await under_review(served_api.http, application_id)
    start = [
        "exclude-time",
        application_id,
        DEMO_ITEM,
        "--kind",
        "testing",
        "--days",
        "10",
        "--reason",
        "送第三方机构检验",
        "--staff",
        "rev-9",
        "--department",
        "health",
    ]

    refused = await cli(*start[:-1], "market", code=2)
    assert "decided_by.department" in refused.stderr
    bad = await cli(*start[:6], "0", *start[7:], code=2)
    assert "expected_days" in bad.stderr
    wrong_role = await cli(*start, "--role", "inspector", code=2)
    assert "--role" in wrong_role.stderr
    shown = json.loads((await cli(*start, "--json")).stdout)
    assert shown == {
        "application_id": application_id,
        "item_code": DEMO_ITEM,
        "action": "excluded time started",
        "by": "rev-9",
        "status": "under_review",
    }
    item = await served_api.client.item_state(application_id, DEMO_ITEM)
    assert item.excluded_time is not None and item.excluded_time.kind.label == "检验"
    assert item.excluded_time.decided_by.staff_id == "rev-9"

    end = ["end-excluded-time", application_id, DEMO_ITEM, "--result", "检验合格"]
    ended = await cli(
        *end, "--staff", "head-9", "--department", "health", "--role", "department_head"
    )
    # In words: the item by its name, what happened, its status; no codes.
    said = ended.stdout
    assert "不计入时限的时间结束 (检验: 检验合格), 时限恢复计算" in said, said
    assert "护士执业注册" in said and "事项: 审查中" in said, said
    assert DEMO_ITEM not in said and "under_review" not in said and "excluded" not in said
    item = await served_api.client.item_state(application_id, DEMO_ITEM)
    assert item.excluded_time is None
    again = await cli(*end, "--staff", "head-9", "--department", "health", code=2)
    assert "status: no excluded time is running" in again.stderr
    assert [
        n.kind for n in notifications.notifications_of(served_api.engine, application_id)
    ].count("excluded_time") == 1

    # The head of the department extends the limit once (Art. 42).
    extend = ["extend", application_id, DEMO_ITEM, "5", "--reason", "需补充现场核实"]
    assert "--head" in (await cli(*extend, code=2)).stderr
    extended = await cli(*extend, "--head", "head-9", "--department", "health")
    assert extended.stdout.strip() == "审查时限延长5个工作日", extended.stdout  # in words
    item = await served_api.client.item_state(application_id, DEMO_ITEM)
    assert item.clock is not None and [e.days for e in item.clock.extensions] == [5]


def _referred(
    engine: Engine, application_id: str, reason: str, at_utc: datetime
) -> SupervisionReferral:
    """A revocation of the application's food license referred to the market's supervision."""
    row, _ = supervision_store.refer(
        engine,
        Referral(
            workflow_id=f"{application_id}/{FOOD}",
            kind=ReferralKind.REVOCATION,
            department="market",
            subject=f"{application_id}/{FOOD}",
            reason=reason,
            referred_at=at_utc.replace(tzinfo=UTC),
        ),
    )
    return row


def test_the_command_line_lists_and_closes_referrals(
    store_engine: Engine, catalog: Catalog, cli_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", store_engine.url.render_as_string(hide_password=False))
    application_id = new_application_id()
    row = _referred(
        store_engine, application_id, "整改后复查仍不合格", datetime(2026, 12, 1, 3, 30)
    )
    listed = json.loads(run_cli("referrals", "--department", "market", "--json").stdout)
    [mine] = [r for r in listed["items"] if r["id"] == row.id]
    assert mine["referred_at"] == "2026-12-01T03:30:00+00:00" and mine["status"] == "open"
    table = run_cli("referrals", "--department", "market", "--limit", "200").stdout
    assert "2026-12-01 11:30" in table and "撤销许可后移送监管" in table  # Beijing time
    assert "revocation" not in table and "+00:00" not in table
    nothing = run_cli("referrals", "--department", "no-such-department").stdout
    assert nothing.strip() == "没有移送监管的案件 (共 0 件)", nothing
    # What a supervisor reads is in words: the department and the item by their names.
    food = catalog.item(FOOD)
    assert food.department_name in table and food.name in table, table
    assert FOOD not in table and "market" not in table and "open" not in table

    refused = run_cli(
        "close-referral", str(row.id), "--resolution", " ", "--supervisor", "s1", code=2
    )
    assert "resolution" in refused.stderr
    closed = json.loads(
        run_cli(
            "close-referral", str(row.id), "--resolution", "已立案", "--supervisor", "s1", "--json"
        ).stdout
    )
    assert closed["status"] == "closed" and closed["resolution"] == "s1: 已立案"
    other = _referred(
        store_engine, f"{application_id}-2", "复查不合格", datetime(2026, 12, 2, 3, 30)
    )
    said = run_cli("close-referral", str(other.id), "--resolution", "已立案", "--supervisor", "s1")
    for words in ("已办结", "s1: 已立案", food.department_name, food.name, "2026-12-02 11:30"):
        assert words in said.stdout, said.stdout
    assert "closed" not in said.stdout and "resolution" not in said.stdout
    again = run_cli(
        "close-referral", str(row.id), "--resolution", "再次", "--supervisor", "s1", code=2
    )
    assert "referral_id: the referral is closed already" in again.stderr
    unknown = run_cli(
        "close-referral", "987654321", "--resolution", "x", "--supervisor", "s1", code=2
    )
    assert "referral_id: there is no supervision referral 987654321" in unknown.stderr
    listed = json.loads(
        run_cli("referrals", "--status", "closed", "--json", "--limit", "200").stdout
    )
    assert row.id in [r["id"] for r in listed["items"]]
