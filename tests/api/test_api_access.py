"""Access over HTTP: a taken task is decided only by its taker (a supervisor releases or
reassigns it), and reviewers and inspectors read other departments' items only as code,
name, department and status — on every route that shows an application."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from domain.application import item_workflow_id
from domain.catalog import Catalog
from onething.runtime import open_store
from onething.settings import Settings
from starter.demo import DEMO_ITEM
from store import tasks as tasks_store
from tests.conftest import run_cli
from tests.support.api import (
    STAFF_REGISTRY,
    as_,
    assert_error,
    decide,
    full_body,
    item_at,
    post_new,
    submitted,
    token,
    under_review,
)

REGISTRY = STAFF_REGISTRY  # the module's API: two members of staff where a task changes hands


# --------------------------------------------------------------------------- taken tasks


async def test_a_taken_step_is_paused_only_by_its_taker_or_the_head(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    """Excluded time (Art. 45) stops the taker's clock: a colleague may not start or end it."""
    application_id = await submitted(api, catalog)
    task_id = (await under_review(api, application_id))["open_task"]["task_id"]
    taken = await api.post("/tasks/take", json={"task_id": task_id}, headers=as_("rev-health"))
    assert taken.status_code == 200, taken.text
    pause = f"/applications/{application_id}/items/{DEMO_ITEM}/excluded-time"
    start = {"kind": "expert_review", "expected_days": 5, "reason": "需组织专家评审"}

    error = assert_error(await api.post(pause, json=start, headers=as_("rev-health-2")), 409)
    assert error["message"] == "task: taken by rev-health" and error["code"] == "task_taken"
    started = await api.post(pause, json=start, headers=as_("head-health"))
    assert started.status_code == 200, started.text
    end = {"result": "专家评审通过"}
    error = assert_error(await api.post(f"{pause}/end", json=end, headers=as_("rev-health-2")), 409)
    assert error["fields"] == [{"field": "task", "problem": "taken by rev-health"}]
    ended = await api.post(f"{pause}/end", json=end, headers=as_("rev-health"))
    assert ended.status_code == 200, ended.text


async def test_a_taken_review_is_decided_only_by_its_taker(
    api: httpx.AsyncClient, catalog: Catalog, store_engine: Engine
) -> None:
    application_id = await submitted(api, catalog)
    task_id = (await under_review(api, application_id))["open_task"]["task_id"]
    decision = f"/applications/{application_id}/items/{DEMO_ITEM}/decision"
    approve = {"verdict": "approve"}

    async def post(path: str, who: str, **body: Any) -> httpx.Response:
        return await api.post(path, json=body, headers=as_(who))

    assert (await post("/tasks/take", "rev-health", task_id=task_id)).status_code == 200

    # A colleague of the department learns who has it; nobody else does.
    error = assert_error(await api.post(decision, json=approve, headers=as_("rev-health-2")), 409)
    assert error["message"] == "task: taken by rev-health" and error["code"] == "task_taken"
    assert error["fields"] == [{"field": "task", "problem": "taken by rev-health"}]
    for who in ("rev-market", "insp-health", "sup"):
        error = assert_error(await api.post(decision, json=approve, headers=as_(who)), 403)
        assert "taken" not in error["message"], (who, error)

    # Only a supervisor hands a task over, to staff of its role and department.
    for who in ("rev-health", "rev-health-2", "ops", "audit"):
        assert_error(await post("/tasks/release", who, task_id=task_id), 403)
        assert_error(await post("/tasks/reassign", who, task_id=task_id, to="rev-health-2"), 403)
    for to in ("rev-market", "insp-health", "sup", "nobody-known"):
        error = assert_error(await post("/tasks/reassign", "sup", task_id=task_id, to=to), 422)
        assert error["fields"][0]["field"] == "to" and to not in error["message"], error
    assert_error(await post("/tasks/release", "sup", task_id="no-such-task"), 404, "task_id")
    assert_error(await post("/tasks/reassign", "sup", task_id=task_id), 422, "to")

    moved = await post("/tasks/reassign", "sup", task_id=task_id, to="rev-health-2")
    assert moved.status_code == 200, moved.text
    row = moved.json()
    assert row["taken_by"] == "rev-health-2" and row["taken_at"]
    assert (row["handed_over_by"], row["handed_over_from"]) == ("sup", "rev-health")
    assert row["handed_over_at"]
    error = assert_error(await api.post(decision, json=approve, headers=as_("rev-health")), 409)
    assert error["message"] == "task: taken by rev-health-2"
    assert_error(await post("/tasks/take", "rev-health", task_id=task_id), 409, "task_id")

    released = await post("/tasks/release", "sup", task_id=task_id)
    assert released.status_code == 200, released.text
    row = released.json()
    assert row["taken_by"] is None and row["taken_at"] is None
    assert (row["handed_over_by"], row["handed_over_from"]) == ("sup", "rev-health-2")

    # Untaken: any reviewer of the department decides (and holds it while deciding).
    r = await api.post(decision, json=approve, headers=as_("rev-health"))
    assert r.status_code == 200, r.text
    inbox = await api.get(
        "/tasks",
        params={"application_id": application_id, "status": "all"},
        headers=as_("rev-health-2"),
    )
    [closed] = inbox.json()["items"]
    assert closed["status"] == "closed" and closed["taken_by"] == "rev-health"
    assert_error(await post("/tasks/release", "sup", task_id=task_id), 409, "task_id")
    assert_error(await post("/tasks/reassign", "sup", task_id=task_id, to="rev-health-2"), 409)

    events = [
        (e.action, e.actor, e.from_staff, e.to_staff)
        for e in tasks_store.events_of(store_engine, task_id)
    ]
    assert events == [
        ("taken", "rev-health", None, "rev-health"),
        ("reassigned", "sup", "rev-health", "rev-health-2"),
        ("released", "sup", "rev-health-2", None),
        ("taken", "rev-health", None, "rev-health"),
    ]


async def test_a_taken_inspection_is_recorded_only_by_its_taker(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    item = "food-business-license"
    body = full_body(catalog, item, commitment=True, someone_else=True)
    application_id = await post_new(api, body)
    task_id = (await item_at(api, application_id, item, "inspecting"))["open_task"]["task_id"]
    r = await api.post("/tasks/take", json={"task_id": task_id}, headers=as_("insp-market"))
    assert r.status_code == 200, r.text
    path = f"/applications/{application_id}/items/{item}/inspection"
    passed = {"result": "passed"}
    error = assert_error(await api.post(path, json=passed, headers=as_("insp-market-2")), 409)
    assert error["message"] == "task: taken by insp-market"
    r = await api.post(path, json=passed, headers=as_("insp-market"))
    assert r.status_code == 200, r.text


# --------------------------------------------------------------------------- other departments


SECRET_REASON = "经现场核实消毒间面积不足"


async def test_other_departments_items_show_only_code_name_department_status(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    # open-beauty-salon: market first, then health and urban's sign filing (reviewed: it
    # has a limit of its own, so it is not recorded on the spot).
    application_id = await post_new(api, full_body(catalog, "open-beauty-salon"))
    market, health = "business-license-individual", "public-venue-hygiene-license"
    await decide(api, application_id, market, "rev-market", verdict="approve")
    await decide(api, application_id, health, "rev-health", verdict="reject", reason=SECRET_REASON)
    await decide(api, application_id, "outdoor-sign-filing", "rev-urban", verdict="approve")
    result = await api.get(
        f"/applications/{application_id}/result", params={"wait": 30}, headers=as_("sup")
    )
    assert result.status_code == 200 and result.json()["status"] == "rejected", result.text
    base = f"/applications/{application_id}"

    async def read(path: str, who: str) -> httpx.Response:
        r = await api.get(base + path, headers=as_(who))
        assert r.status_code == 200, (who, path, r.text)
        return r

    full = (await read("", "sup")).json()
    [license] = [i["license"] for i in full["items"] if i["item_code"] == market]
    secrets = {
        market: [license["number"], license["verification_code"]],
        health: [SECRET_REASON],
    }
    for path in ("", "/result", "/notices"):  # the supervisor's view has them all
        text = (await read(path, "sup")).text
        assert all(s in text for s in secrets[health]), path
    for path in ("", "/result"):
        text = (await read(path, "sup")).text
        assert all(s in text for s in secrets[market]), path

    for who, own, other in [
        ("rev-market", market, health),
        ("insp-market", market, health),
        ("rev-health", health, market),
    ]:
        for path in ("", "/result", "/notices"):
            text = (await read(path, who)).text
            assert not any(s in text for s in secrets[other]), (who, path)
        text = (await read("", who)).text
        assert all(s in text for s in secrets[own]), who

        state = (await read("", who)).json()
        [theirs] = [i for i in state["items"] if i["item_code"] == other]
        assert theirs["name"] and theirs["department"] == catalog.items[other].department
        assert theirs["status"] in ("issued", "closed", "rejected")
        assert (theirs["license"], theirs["reason"], theirs["path"]) == (None, None, None)
        outcome = (await read("/result", who)).json()
        [theirs] = [i for i in outcome["items"] if i["item_code"] == other]
        assert theirs["status"] in ("issued", "closed", "rejected")
        assert (theirs["license"], theirs["reason"], theirs["path"]) == (None, None, None)
        [mine] = [i for i in outcome["items"] if i["item_code"] == own]
        assert mine["path"] == "review"

    # A window clerk of the hall reads the whole application, as before.
    text = (await read("", "clerk-yc")).text
    assert all(s in text for s in secrets[market] + secrets[health])


# --------------------------------------------------------------------------- the command line


def test_the_command_line_hands_tasks_over_and_holds_them_for_their_taker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ONETHING_DATA_DIR", str(tmp_path))
    staff = [
        ("rev-1", "reviewer", "health"),
        ("rev-2", "reviewer", "health"),
        ("rev-m", "reviewer", "market"),
        ("sup-1", "supervisor", None),
    ]
    document = {
        "tokens": [
            {"name": n, "role": r, "token": token(n), **({"department": d} if d else {})}
            for n, r, d in staff
        ]
    }
    monkeypatch.setenv("ONETHING_API_TOKENS", json.dumps(document))
    engine = open_store(Settings(database_url=url))
    task_id = f"{item_workflow_id('X1', DEMO_ITEM)}/review"
    tasks_store.open_task(
        engine,
        tasks_store.StaffTask(
            task_id=task_id,
            application_id="X1",
            workflow_id=item_workflow_id("X1", DEMO_ITEM),
            item_code=DEMO_ITEM,
            kind="review",
            department="health",
            role="reviewer",
            created_at=datetime(2026, 11, 28, 1, 0, tzinfo=UTC),
        ),
    )

    run_cli("take", task_id, "--staff", "rev-1")
    # Refused from the store's row before anything is sent to Temporal.
    decision = f"decide X1 {DEMO_ITEM} approve --reviewer rev-2 --department health".split()
    assert "task: taken by rev-1" in run_cli(*decision, code=2).stderr
    refused = run_cli("reassign", task_id, "--to", "rev-m", "--supervisor", "sup-1", code=2)
    assert "to: only a reviewer of department 'health'" in refused.stderr
    moved = json.loads(
        run_cli("reassign", task_id, "--to", "rev-2", "--supervisor", "sup-1", "--json").stdout
    )
    assert (moved["taken_by"], moved["handed_over_from"]) == ("rev-2", "rev-1")
    assert moved["handed_over_at"].endswith("+00:00")
    released = json.loads(run_cli("release", task_id, "--supervisor", "sup-1", "--json").stdout)
    assert released["taken_by"] is None and released["handed_over_from"] == "rev-2"
    shown = run_cli("release", task_id, "--supervisor", "sup-1").stdout
    assert "+00:00" not in shown  # people read Beijing time
    assert [e.action for e in tasks_store.events_of(engine, task_id)] == [
        "taken",
        "reassigned",
        "released",
    ]
    engine.dispose()
