"""Items and tasks over the HTTP API, with a real worker on the time-skipping Temporal
server: a review decided and its license verified, corrections, inspections after
issuance, the department head's extension, the staff inbox and taking a task from it."""

from __future__ import annotations

import httpx

from domain.catalog import Catalog
from starter.demo import DEMO_ITEM, demo_applicant
from tests.support.api import (
    as_,
    assert_error,
    full_body,
    item_at,
    post_new,
    submitted,
    under_review,
)

# --------------------------------------------------------------------------- decide and follow


async def test_review_decision_license_and_verification(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    application_id = await submitted(api, catalog)
    await under_review(api, application_id)
    path = f"/applications/{application_id}/items/{DEMO_ITEM}/decision"
    approve = {"verdict": "approve"}

    for who, reason in [
        ("rev-market", "belongs to department 'health'"),
        ("insp-health", "only reviewers"),
        ("clerk-yc", "only reviewers"),
        ("sup", "only reviewers"),
        ("audit", "auditors read but never change"),
        ("app-demo", "only reviewers"),
    ]:
        error = assert_error(await api.post(path, json=approve, headers=as_(who)), 403)
        assert reason in error["message"], (who, error)

    r = await api.post(path, json={"verdict": "reject"}, headers=as_("rev-health"))
    assert_error(r, 422, "reason")
    r = await api.post(path, json={"verdict": "maybe"}, headers=as_("rev-health"))
    assert_error(r, 422, "verdict")

    pending = await api.get(f"/applications/{application_id}/result", headers=as_("clerk-yc"))
    assert pending.status_code == 202 and pending.json()["done"] is False

    r = await api.post(path, json=approve, headers=as_("rev-health"))
    assert r.status_code == 200, r.text
    assert r.json()["by"] == "rev-health" and r.json()["action"] == "review approve"

    result = await api.get(
        f"/applications/{application_id}/result", params={"wait": 30}, headers=as_("app-demo")
    )
    assert result.status_code == 200, result.text
    outcome = result.json()
    assert outcome["status"] == "completed"
    [item] = outcome["items"]
    license = item["license"]
    assert item["status"] in ("issued", "closed") and license["number"]

    # A second decision on the closed review: 409.
    error = assert_error(await api.post(path, json=approve, headers=as_("rev-health")), 409)
    assert error["fields"][0]["field"] == "item_code" and "no review is open" in error["message"]
    assert error["code"] == "task_closed"

    # Anyone can verify the license, and learns nothing personal beyond a masked name.
    r = await api.get(f"/licenses/{license['verification_code']}")
    assert r.status_code == 200, r.text
    verified = r.json()
    assert verified["valid"] is True and verified["number"] == license["number"]
    name = demo_applicant().name
    assert verified["holder_hint"] == name[0] + "*" * (len(name) - 1) and name not in r.text
    assert_error(await api.get("/licenses/XXXXunknownXX"), 404, "verification_code")
    assert_error(await api.get("/licenses/no%20spaces"), 422, "verification_code")


async def test_correction_requested_then_answered(api: httpx.AsyncClient, catalog: Catalog) -> None:
    application_id = await submitted(api, catalog)
    await under_review(api, application_id)
    base = f"/applications/{application_id}/items/{DEMO_ITEM}"
    ask = {"verdict": "request_correction"}
    assert_error(
        await api.post(f"{base}/decision", json=ask, headers=as_("rev-health")), 422, "reason"
    )
    ask["reason"] = "学历证明复印件不清晰"
    r = await api.post(f"{base}/decision", json=ask, headers=as_("rev-health"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "correction_requested"

    answer = {"note": "已重新提交清晰复印件"}
    for who, reason in [
        ("app-other", "only their own"),
        ("rev-health", "only the applicant or a window clerk"),
        ("clerk-xh", "not made at 'xiaohe'"),
        ("audit", "never change"),
    ]:
        error = assert_error(
            await api.post(f"{base}/correction", json=answer, headers=as_(who)), 403
        )
        assert reason in error["message"], (who, error)
    online = {**answer, "channel": "online"}
    assert_error(
        await api.post(f"{base}/correction", json=online, headers=as_("clerk-yc")), 422, "channel"
    )
    window = {**answer, "channel": "window"}
    assert_error(
        await api.post(f"{base}/correction", json=window, headers=as_("app-demo")), 422, "channel"
    )
    assert_error(
        await api.post(f"{base}/correction", json={}, headers=as_("app-demo")), 422, "note"
    )

    r = await api.post(f"{base}/correction", json=answer, headers=as_("app-demo"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "under_review" and r.json()["action"] == "correction received"
    error = assert_error(
        await api.post(f"{base}/correction", json=answer, headers=as_("app-demo")), 409
    )
    assert "no correction is open" in error["message"]
    item = (await api.get(base, headers=as_("app-demo"))).json()
    assert [e["action"] for e in item["trail"]][-2:] == [
        "review request_correction",
        "correction received",
    ]


async def test_inspection_after_issuance_on_commitment(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    item = "food-business-license"
    body = full_body(catalog, item, commitment=True, someone_else=True)
    application_id = await post_new(api, body)
    await item_at(api, application_id, item, "inspecting")
    path = f"/applications/{application_id}/items/{item}/inspection"
    passed = {"result": "passed"}
    for who, reason in [
        ("insp-health", "belongs to department 'market'"),
        ("rev-market", "only inspectors"),
        ("sup", "only inspectors"),
        ("audit", "never change"),
        ("app-demo", "only inspectors"),
    ]:
        error = assert_error(await api.post(path, json=passed, headers=as_(who)), 403)
        assert reason in error["message"], (who, error)
    failed = {"result": "failed"}
    assert_error(await api.post(path, json=failed, headers=as_("insp-market")), 422, "findings")

    r = await api.post(path, json=passed, headers=as_("insp-market"))
    assert r.status_code == 200, r.text
    assert r.json()["action"] == "inspection passed" and r.json()["by"] == "insp-market"
    result = await api.get(
        f"/applications/{application_id}/result", params={"wait": 30}, headers=as_("insp-market")
    )
    assert result.status_code == 200, result.text
    assert result.json()["status"] == "completed"
    error = assert_error(await api.post(path, json=passed, headers=as_("insp-market")), 409)
    assert error["code"] == "task_closed"


async def test_the_department_head_extends_a_running_limit_once(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    application_id = await submitted(api, catalog)
    await under_review(api, application_id)
    assert catalog.item(DEMO_ITEM).department == "health"
    path = f"/applications/{application_id}/items/{DEMO_ITEM}/extension"
    extension = {"days": 10, "reason": "需组织专家评审"}
    for who, reason in [
        ("rev-health", "only the head of the item's department"),
        ("ops", "only the head of the item's department"),
        ("audit", "never change"),
        ("head-market", "belongs to department 'health'"),
    ]:
        error = assert_error(await api.post(path, json=extension, headers=as_(who)), 403)
        assert reason in error["message"], (who, error)
    # A supervisor extended before the revision; the item now refuses it (Art. 42).
    assert_error(await api.post(path, json=extension, headers=as_("sup")), 409, "decided_by.role")
    bad = {"days": 0, "reason": "x"}
    assert_error(await api.post(path, json=bad, headers=as_("head-health")), 422, "days")
    too_long = {"days": 11, "reason": "x"}
    assert_error(await api.post(path, json=too_long, headers=as_("head-health")), 409, "days")
    r = await api.post(path, json=extension, headers=as_("head-health"))
    assert r.status_code == 200, r.text
    assert r.json()["days"] == 10 and r.json()["limit"]
    again = assert_error(await api.post(path, json=extension, headers=as_("head-health")), 409)
    assert "extended once already" in again["message"]
    item = (
        await api.get(f"/applications/{application_id}/items/{DEMO_ITEM}", headers=as_("sup"))
    ).json()
    assert any("extended by 10" in e["action"] for e in item["trail"])
    r = await api.post(
        f"/applications/nobody-00000/items/{DEMO_ITEM}/extension",
        json=extension,
        headers=as_("head-health"),
    )
    assert_error(r, 404, "application_id")


async def test_decision_on_unknown_application_and_item(api: httpx.AsyncClient) -> None:
    r = await api.post(
        f"/applications/nobody-00000/items/{DEMO_ITEM}/decision",
        json={"verdict": "approve"},
        headers=as_("rev-health"),
    )
    assert_error(r, 404, "application_id")


# --------------------------------------------------------------------------- tasks


async def test_tasks_scoped_by_role_and_paged(api: httpx.AsyncClient, catalog: Catalog) -> None:
    application_id = await submitted(api, catalog)
    await under_review(api, application_id)
    await under_review(api, await submitted(api, catalog))

    r = await api.get("/tasks", headers=as_("rev-health"))
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] >= 2 and page["items"]
    assert {(t["department"], t["role"], t["status"]) for t in page["items"]} == {
        ("health", "reviewer", "open")
    }
    r = await api.get(
        "/tasks", params={"application_id": application_id}, headers=as_("rev-health")
    )
    [task] = r.json()["items"]
    assert task["kind"] == "review" and task["item_code"] == DEMO_ITEM

    r = await api.get("/tasks", headers=as_("rev-market"))
    assert all(t["department"] == "market" for t in r.json()["items"])

    first = (await api.get("/tasks", params={"limit": 1}, headers=as_("sup"))).json()
    assert len(first["items"]) == 1 and first["next_offset"] == 1 and first["total"] >= 2
    second = (await api.get("/tasks", params={"limit": 1, "offset": 1}, headers=as_("sup"))).json()
    assert second["items"][0]["task_id"] != first["items"][0]["task_id"]
    last = (
        await api.get("/tasks", params={"offset": first["total"] - 1}, headers=as_("audit"))
    ).json()
    assert last["next_offset"] is None and len(last["items"]) == 1

    everything = (await api.get("/tasks", params={"limit": 200}, headers=as_("sup"))).json()
    dues = [t["due_at"] for t in everything["items"]]
    assert dues == sorted(dues, key=lambda d: (d is None, d or ""))  # dated first, on any store

    for who, params, reason in [
        ("rev-health", {"department": "market"}, "only department 'health'"),
        ("rev-health", {"role": "inspector"}, "only reviewer tasks"),
        ("clerk-yc", {"hall": "xiaohe"}, "only hall 'yicheng-center'"),
        ("app-demo", {}, "for staff"),
    ]:
        error = assert_error(await api.get("/tasks", params=params, headers=as_(who)), 403)
        assert reason in error["message"]
    assert_error(await api.get("/tasks", params={"limit": 0}, headers=as_("sup")), 422, "limit")
    assert_error(await api.get("/tasks", params={"status": "x"}, headers=as_("sup")), 422, "status")
    assert_error(await api.get("/tasks"), 401)


async def test_take_a_task_from_the_inbox(api: httpx.AsyncClient, catalog: Catalog) -> None:
    application_id = await submitted(api, catalog)
    task = (await under_review(api, application_id))["open_task"]["task_id"]

    async def take(who: str, task_id: str = task) -> httpx.Response:
        return await api.post("/tasks/take", json={"task_id": task_id}, headers=as_(who))

    assert_error(await take("rev-market"), 403)  # another department
    assert_error(await take("insp-health"), 403)  # another role
    taken = await take("rev-health")
    assert taken.status_code == 200, taken.text
    assert taken.json()["taken_by"] == "rev-health" and taken.json()["taken_at"]
    again = await take("rev-health")
    assert again.json()["taken_at"] == taken.json()["taken_at"]  # one's own again: unchanged
    assert_error(await take("rev-health", "no-such-task"), 404, "task_id")
    assert_error(await take("audit"), 403)  # auditors never change
    inbox = await api.get(
        "/tasks", params={"application_id": application_id}, headers=as_("rev-health")
    )
    assert [t["taken_by"] for t in inbox.json()["items"]] == ["rev-health"]
