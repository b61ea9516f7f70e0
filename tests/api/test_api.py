"""The HTTP API over a real worker and the time-skipping Temporal server: each operation,
each role's allowed and refused cases, and the error bodies."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.bundle import as_bundle, one_set_of_materials
from domain.catalog import Catalog
from domain.people import resident_id_check_digit
from onething.keys import configured_subject_keys
from starter.api import create_app
from starter.auth import TokenRegistry, applicant_ref
from starter.demo import DEMO_ITEM, demo_applicant, demo_submission
from store.db import make_engine
from tests.conftest import api_http, new_application_id

HALL = "yicheng-center"
OTHER_ID = "11010519491231002X"
assert OTHER_ID[-1] == resident_id_check_digit(OTHER_ID[:17])


def _token(name: str) -> str:
    return f"test-token-{name}-0123456789"


# The subject keyring this process is configured with: what the API and the worker read.
SUBJECT_KEYS = configured_subject_keys()
ENTRIES: list[dict[str, Any]] = [
    {"name": "clerk-yc", "role": "window_clerk", "hall": HALL},
    {"name": "clerk-xh", "role": "window_clerk", "hall": "xiaohe"},
    {"name": "rev-health", "role": "reviewer", "department": "health"},
    {"name": "rev-market", "role": "reviewer", "department": "market"},
    {"name": "insp-health", "role": "inspector", "department": "health"},
    {"name": "insp-market", "role": "inspector", "department": "market"},
    {"name": "sup", "role": "supervisor"},
    {"name": "head-health", "role": "department_head", "department": "health"},
    {"name": "head-market", "role": "department_head", "department": "market"},
    {"name": "audit", "role": "auditor"},
    {"name": "ops", "role": "operator"},
    {
        "name": "app-demo",
        "role": "applicant",
        "applicant_ref": applicant_ref(SUBJECT_KEYS, demo_applicant().id_number),
    },
    {
        "name": "app-other",
        "role": "applicant",
        "applicant_ref": applicant_ref(SUBJECT_KEYS, OTHER_ID),
    },
]
REGISTRY = TokenRegistry.from_document(
    {"tokens": [{**e, "token": _token(e["name"])} for e in ENTRIES]}, subject_keys=SUBJECT_KEYS
)


def as_(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(name)}"}


def body_of(catalog: Catalog, application_id: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = demo_submission(catalog, application_id).model_dump(mode="json")
    data.update(changes)
    return data


def assert_error(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    if field is not None:
        assert field in [f["field"] for f in error["fields"]], error
    return error


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> AsyncIterator[httpx.AsyncClient]:
    async with api_http(ts_env, store_engine, catalog, REGISTRY) as http:
        yield http


async def submitted(api: httpx.AsyncClient, catalog: Catalog, who: str = "clerk-yc") -> str:
    application_id = new_application_id()
    body = body_of(catalog, application_id)
    if who.startswith("app-"):
        body["channel"] = "online"  # an applicant's own submission never comes by a window
    r = await api.post("/applications", json=body, headers=as_(who))
    assert r.status_code == 201, r.text
    return application_id


async def item_at(
    api: httpx.AsyncClient, application_id: str, item_code: str = DEMO_ITEM, *statuses: str
) -> dict[str, Any]:
    """Poll the item (as a supervisor) until it is in one of `statuses` with a task open."""
    wanted = statuses or ("under_review",)
    for _ in range(300):
        r = await api.get(f"/applications/{application_id}/items/{item_code}", headers=as_("sup"))
        if r.status_code == 200 and r.json()["status"] in wanted and r.json()["open_task"]:
            body: dict[str, Any] = r.json()
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"{item_code} never reached {wanted}")


async def under_review(api: httpx.AsyncClient, application_id: str) -> dict[str, Any]:
    return await item_at(api, application_id, DEMO_ITEM, "under_review")


async def completed_case(api: httpx.AsyncClient, catalog: Catalog) -> str:
    """A nurse registration accepted at yicheng-center, approved by the health reviewer and
    completed."""
    application_id = await submitted(api, catalog)
    await item_at(api, application_id)
    path = f"/applications/{application_id}/items/{DEMO_ITEM}/decision"
    r = await api.post(path, json={"verdict": "approve"}, headers=as_("rev-health"))
    assert r.status_code == 200, r.text
    for _ in range(300):
        r = await api.get(f"/applications/{application_id}", headers=as_("sup"))
        if r.json()["status"] == "completed":
            return application_id
        await asyncio.sleep(0.05)
    raise AssertionError("the application never completed")


async def application_when(
    api: httpx.AsyncClient, application_id: str, ok: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    for _ in range(300):
        r = await api.get(f"/applications/{application_id}", headers=as_("sup"))
        if r.status_code == 200 and ok(r.json()):
            body: dict[str, Any] = r.json()
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"{application_id} never got there")


# --------------------------------------------------------------------------- authentication


async def test_no_token_is_401_unknown_token_is_401(api: httpx.AsyncClient) -> None:
    r = await api.get("/applications/abc-001")
    error = assert_error(r, 401)
    assert error["code"] == "unauthorized" and r.headers["www-authenticate"] == "Bearer"
    r = await api.get("/tasks", headers={"Authorization": "Bearer not-a-known-token-at-all"})
    assert assert_error(r, 401)["message"] == "unknown token"
    r = await api.get("/tasks", headers={"Authorization": "Basic abc"})
    assert_error(r, 401)


async def test_me_names_role_and_scope(api: httpx.AsyncClient) -> None:
    r = await api.get("/me", headers=as_("rev-health"))
    assert r.json() == {
        "name": "rev-health",
        "role": "reviewer",
        "hall": None,
        "department": "health",
    }


# --------------------------------------------------------------------------- submit


async def test_clerk_submits_201_then_the_same_id_200(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    application_id = new_application_id()
    body = body_of(catalog, application_id)
    first = await api.post("/applications", json=body, headers=as_("clerk-yc"))
    assert first.status_code == 201, first.text
    assert first.json()["created"] is True
    assert first.headers["location"] == f"/applications/{application_id}"
    again = await api.post("/applications", json=body, headers=as_("clerk-yc"))
    assert again.status_code == 200
    assert again.json() == {**first.json(), "created": False}
    state = await application_when(api, application_id, lambda s: bool(s["trail"]))
    accepted = next(e for e in state["trail"] if e["action"] == "accepted")
    assert accepted["actor"] == "clerk-yc"  # the clerk is recorded as accepting


async def test_applicant_submits_only_for_themselves(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    application_id = new_application_id()
    at_window = body_of(catalog, application_id)
    r = await api.post("/applications", json=at_window, headers=as_("app-demo"))
    assert_error(r, 422, "channel")
    mine = body_of(catalog, application_id, channel="online")
    r = await api.post("/applications", json=mine, headers=as_("app-demo"))
    assert r.status_code == 201, r.text
    r = await api.post(
        "/applications", json=body_of(catalog, new_application_id()), headers=as_("app-other")
    )
    error = assert_error(r, 403)
    assert "only their own" in error["message"]
    # The ID is taken: someone else re-using it learns no more than that.
    theirs = body_of(catalog, application_id, channel="online")
    theirs["applicant"] = {**theirs["applicant"], "id_number": OTHER_ID}
    r = await api.post("/applications", json=theirs, headers=as_("app-other"))
    assert_error(r, 409, "application_id")


@pytest.mark.parametrize(
    ("who", "reason"),
    [
        ("clerk-xh", "only at hall 'xiaohe'"),
        ("rev-health", "only applicants and window clerks"),
        ("sup", "only applicants and window clerks"),
        ("ops", "only applicants and window clerks"),
        ("audit", "auditors read but never change"),
    ],
)
async def test_submit_refused_outside_scope(
    api: httpx.AsyncClient, catalog: Catalog, who: str, reason: str
) -> None:
    r = await api.post(
        "/applications", json=body_of(catalog, new_application_id()), headers=as_(who)
    )
    error = assert_error(r, 403)
    assert error["code"] == "forbidden" and reason in error["message"]


async def test_submit_unknown_item_404_names_item_code(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    body = body_of(catalog, new_application_id(), item_code="no-such-item")
    error = assert_error(
        await api.post("/applications", json=body, headers=as_("clerk-yc")), 404, "item_code"
    )
    assert "no-such-item" in error["message"]
    body = body_of(catalog, new_application_id(), item_code=None, bundle_code="no-such-bundle")
    assert_error(
        await api.post("/applications", json=body, headers=as_("clerk-yc")), 404, "bundle_code"
    )


async def test_submit_material_the_item_does_not_need_422(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    body = body_of(catalog, new_application_id())
    body["materials"] = [*body["materials"], "premises-proof"]
    index = len(body["materials"]) - 1
    error = assert_error(
        await api.post("/applications", json=body, headers=as_("clerk-yc")),
        422,
        f"materials[{index}]",
    )
    assert "premises-proof" in error["fields"][0]["problem"]


@pytest.mark.parametrize("bad", ["110105194912310021", "12345", "11010519491331002X"])
async def test_malformed_id_number_422_never_echoes_it(
    api: httpx.AsyncClient, catalog: Catalog, bad: str
) -> None:
    body = body_of(catalog, new_application_id())
    body["applicant"] = {**body["applicant"], "id_number": bad}
    r = await api.post("/applications", json=body, headers=as_("clerk-yc"))
    error = assert_error(r, 422, "applicant.id_number")
    assert error["code"] == "invalid"
    assert bad not in r.text and bad[:12] not in r.text


async def test_malformed_phone_and_shape_errors_name_their_fields(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    body = body_of(catalog, new_application_id())
    body["applicant"] = {**body["applicant"], "phone": "12345"}
    r = await api.post("/applications", json=body, headers=as_("clerk-yc"))
    assert_error(r, 422, "applicant.phone")
    assert "12345" not in r.text
    both = body_of(catalog, new_application_id(), bundle_code="open-convenience-store")
    r = await api.post("/applications", json=both, headers=as_("clerk-yc"))
    error = assert_error(r, 422, "body")
    assert "exactly one of item_code or bundle_code" in error["message"]
    r = await api.post(
        "/applications",
        content=b"{not json",
        headers={**as_("clerk-yc"), "Content-Type": "application/json"},
    )
    assert_error(r, 422, "body")


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("clerk-yc", 200),
        ("clerk-xh", 403),
        ("rev-health", 200),
        ("insp-health", 200),
        ("rev-market", 403),
        ("head-health", 200),
        ("head-market", 403),
        ("app-demo", 200),
        ("app-other", 403),
        ("sup", 200),
        ("audit", 200),
        ("ops", 200),
    ],
)
async def test_read_application_by_role(
    api: httpx.AsyncClient, catalog: Catalog, who: str, status: int
) -> None:
    application_id = await submitted(api, catalog)
    r = await api.get(f"/applications/{application_id}", headers=as_(who))
    if status == 200:
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["application_id"] == application_id and body["hall"] == HALL
        assert demo_applicant().id_number not in r.text and demo_applicant().name not in r.text
    else:
        assert assert_error(r, 403)["code"] == "forbidden"


async def test_unknown_application_404_bad_id_422(api: httpx.AsyncClient) -> None:
    assert_error(await api.get("/applications/nobody-00000", headers=as_("sup")), 404)
    assert_error(
        await api.get("/applications/%24%24bad", headers=as_("sup")), 422, "application_id"
    )
    r = await api.get(f"/applications/nobody-00000/items/{DEMO_ITEM}", headers=as_("sup"))
    assert_error(r, 404, "application_id")


async def test_read_item_and_its_refusals(api: httpx.AsyncClient, catalog: Catalog) -> None:
    application_id = await submitted(api, catalog)
    item = await under_review(api, application_id)
    assert item["item_code"] == DEMO_ITEM and item["open_task"]["kind"] == "review"
    r = await api.get(
        f"/applications/{application_id}/items/{DEMO_ITEM}", headers=as_("rev-health")
    )
    assert r.status_code == 200
    r = await api.get(f"/applications/{application_id}/items/no-such-item", headers=as_("sup"))
    error = assert_error(r, 404, "item_code")
    assert "no-such-item" in error["message"]
    r = await api.get(
        f"/applications/{application_id}/items/business-license-individual", headers=as_("sup")
    )
    assert_error(r, 404, "item_code")
    r = await api.get(
        f"/applications/{application_id}/items/{DEMO_ITEM}", headers=as_("rev-market")
    )
    assert_error(r, 403)


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


def full_body(
    catalog: Catalog,
    target: str,
    *,
    leave_out: tuple[str, ...] = (),
    commitment: bool = False,
    pledge: bool = False,
    someone_else: bool = False,
) -> dict[str, Any]:
    """Everything the one set of materials asks for, less `leave_out`."""
    materials = one_set_of_materials(catalog, as_bundle(catalog, target)).to_bring
    body = body_of(catalog, new_application_id(), item_code=None, bundle_code=None)
    body["item_code" if target in catalog.items else "bundle_code"] = target
    body["materials"] = [m.code for m in materials if not m.condition and m.code not in leave_out]
    body["commitment_signed"], body["deficiency_pledge_signed"] = commitment, pledge
    if someone_else:  # a person with no credit history, for the commitment path
        first17 = f"420684199{uuid.uuid4().int % 10**8:08d}"[:17]
        first17 = first17[:6] + "19900101" + first17[14:]
        body["applicant"] = {
            **body["applicant"],
            "id_number": first17 + resident_id_check_digit(first17),
        }
    return body


async def post_new(api: httpx.AsyncClient, body: dict[str, Any], who: str = "clerk-yc") -> str:
    r = await api.post("/applications", json=body, headers=as_(who))
    assert r.status_code == 201, r.text
    application_id: str = r.json()["application_id"]
    return application_id


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


async def test_supplement_deficient_materials(api: httpx.AsyncClient, catalog: Catalog) -> None:
    body = full_body(catalog, "food-business-license", leave_out=("equipment-layout",), pledge=True)
    application_id = await post_new(api, body)
    state = await application_when(
        api, application_id, lambda s: s["status"] == "awaiting_supplement"
    )
    assert [m["code"] for m in state["outstanding"]] == ["equipment-layout"]
    path = f"/applications/{application_id}/supplement"

    error = assert_error(
        await api.post(path, json={"materials": ["nurse-diploma"]}, headers=as_("app-demo")),
        422,
        "materials[0]",
    )
    assert "nurse-diploma" in error["message"]
    handed_in = body["materials"][0]  # a material of the application, but not awaited
    error = assert_error(
        await api.post(path, json={"materials": [handed_in]}, headers=as_("app-demo")),
        409,
        "materials[0]",
    )
    assert "not awaited" in error["message"]
    assert_error(
        await api.post(path, json={"materials": []}, headers=as_("app-demo")), 422, "materials"
    )
    for who in ("app-other", "rev-market", "audit", "sup", "clerk-xh"):
        r = await api.post(path, json={"materials": ["equipment-layout"]}, headers=as_(who))
        assert_error(r, 403)

    arrived = {"materials": ["equipment-layout"], "channel": "mail"}
    r = await api.post(path, json=arrived, headers=as_("app-demo"))
    assert r.status_code == 200, r.text
    assert r.json() == {"application_id": application_id, "outstanding": []}
    assert_error(await api.post(path, json=arrived, headers=as_("clerk-yc")), 409, "status")
    state = (await api.get(f"/applications/{application_id}", headers=as_("clerk-yc"))).json()
    assert "supplement received by mail" in [e["action"] for e in state["trail"]]
    r = await api.get(f"/applications/{application_id}/notices", headers=as_("app-demo"))
    assert r.status_code == 200, r.text
    notices = r.json()
    assert [n["kind"] for n in notices[:2]] == ["accepted", "deficiency_notice"]
    assert "容缺受理" in notices[1]["message"]
    assert {n["recipient"] for n in notices} == {"applicant"}
    assert demo_applicant().id_number not in r.text
    r = await api.get(f"/applications/{application_id}/notices", headers=as_("app-other"))
    assert_error(r, 403)
    staff_view = await api.get(f"/applications/{application_id}/notices", headers=as_("sup"))
    assert len(staff_view.json()) >= len(notices)


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


async def test_applicant_withdraws_operator_cancels(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    mine = await submitted(api, catalog, who="app-demo")
    path = f"/applications/{mine}/withdrawal"
    why = {"reason": "不再需要"}
    for who, reason in [
        ("app-other", "only their own"),
        ("rev-health", "only the applicant or a window clerk"),
        ("ops", "only the applicant or a window clerk"),
        ("audit", "never change"),
    ]:
        error = assert_error(await api.post(path, json=why, headers=as_(who)), 403)
        assert reason in error["message"], (who, error)
    assert_error(await api.post(path, json={"reason": ""}, headers=as_("app-demo")), 422, "reason")
    r = await api.post(path, json=why, headers=as_("app-demo"))
    assert r.status_code == 200, r.text
    assert r.json() == {"application_id": mine, "status": "withdrawn", "by": "app-demo"}
    assert_error(await api.post(path, json=why, headers=as_("app-demo")), 409)  # ended
    await application_when(api, mine, lambda s: s["status"] == "withdrawn")

    at_window = await submitted(api, catalog, who="app-demo")
    r = await api.post(f"/applications/{at_window}/withdrawal", json=why, headers=as_("clerk-yc"))
    assert r.status_code == 200, r.text
    state = (await api.get(f"/applications/{at_window}", headers=as_("clerk-yc"))).json()
    [withdrawn] = [e for e in state["trail"] if e["action"] == "withdrawn"]
    assert (withdrawn["role"], withdrawn["on_behalf_of"]) == ("window_clerk", "applicant")
    assert state["status"] == "withdrawn"  # at once, not when the items have wound down

    other = await submitted(api, catalog)
    path = f"/applications/{other}/cancellation"
    why = {"reason": "重复提交"}
    for who, reason in [
        ("clerk-yc", "only an operator"),
        ("sup", "only an operator"),
        ("app-demo", "only an operator"),
        ("audit", "never change"),
    ]:
        error = assert_error(await api.post(path, json=why, headers=as_(who)), 403)
        assert reason in error["message"], (who, error)
    r = await api.post(path, json=why, headers=as_("ops"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    assert_error(await api.post(path, json=why, headers=as_("ops")), 409)
    assert_error(
        await api.post("/applications/nobody-00000/cancellation", json=why, headers=as_("ops")),
        404,
        "application_id",
    )


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


# --------------------------------------------------------------------------- catalog, guide


async def test_catalog_items_paged_and_item_detail(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    page = (await api.get("/catalog/items", params={"limit": 5})).json()
    assert page["total"] == len(catalog.items) and len(page["items"]) == 5
    assert page["next_offset"] == 5
    health = (await api.get("/catalog/items", params={"department": "health"})).json()
    assert {i["department"] for i in health["items"]} == {"health"}
    item = (await api.get(f"/catalog/items/{DEMO_ITEM}")).json()
    assert item["code"] == DEMO_ITEM and item["materials"]
    error = assert_error(await api.get("/catalog/items/no-such-item"), 404, "item_code")
    assert "no-such-item" in error["message"]


async def test_bundle_detail_has_one_form_materials_reductions(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    bundles = (await api.get("/catalog/bundles")).json()
    assert bundles["total"] == len(catalog.bundles)
    r = await api.get("/catalog/bundles/open-transport-company")
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["form_schema"]["type"] == "object" and detail["form_schema"]["properties"]
    assert detail["materials"]["to_bring"]
    rows = {row["measure"]: row for row in detail["reductions"]["rows"]}
    assert rows["materials"]["bundle"] < rows["materials"]["one_by_one"]
    assert_error(await api.get("/catalog/bundles/no-such-bundle"), 404, "bundle_code")


async def test_guide_json_text_and_qr(api: httpx.AsyncClient) -> None:
    guide = (await api.get("/guides/open-convenience-store")).json()
    assert guide["kind"] == "bundle" and guide["url"].endswith("/guides/open-convenience-store")
    near = (
        await api.get(f"/guides/{DEMO_ITEM}", params={"latitude": 31.7, "longitude": 112.25})
    ).json()
    kms = [h["km"] for h in near["halls"]]
    assert kms == sorted(kms)
    text = await api.get(f"/guides/{DEMO_ITEM}/text")
    assert text.headers["content-type"].startswith("text/plain") and "办事指南" in text.text
    svg = await api.get(f"/guides/{DEMO_ITEM}/qr.svg")
    assert svg.headers["content-type"] == "image/svg+xml" and "<svg" in svg.text
    png = await api.get(f"/guides/{DEMO_ITEM}/qr.png")
    assert png.content.startswith(b"\x89PNG")
    assert_error(await api.get("/guides/no-such-thing"), 404, "code")
    r = await api.get(f"/guides/{DEMO_ITEM}", params={"latitude": 31.7})
    assert_error(r, 422, "longitude")
    page = await api.get(f"/guides/{DEMO_ITEM}", headers={"Accept": "text/html,*/*;q=0.8"})
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>护士执业注册" in page.text and "需要准备的材料" in page.text
    halls = (await api.get("/halls", params={"latitude": 31.7, "longitude": 112.25})).json()
    assert halls and "km" in halls[0]


# --------------------------------------------------------------------------- reports, codec, health


@pytest.mark.parametrize("who", ["sup", "audit", "ops", "rev-health", "clerk-yc"])
async def test_reports_for_staff(api: httpx.AsyncClient, who: str) -> None:
    r = await api.get("/reports/reductions", headers=as_(who))
    assert r.status_code == 200 and r.json()["bundles"]
    r = await api.get("/reports/coverage", headers=as_(who))
    assert r.status_code == 200 and 0 < r.json()["percent"] <= 100


async def test_reports_refused_to_applicants_and_anonymous(api: httpx.AsyncClient) -> None:
    error = assert_error(await api.get("/reports/coverage", headers=as_("app-demo")), 403)
    assert "for staff" in error["message"]
    assert_error(await api.get("/reports/reductions"), 401)


async def test_codec_for_operators_and_auditors_only(api: httpx.AsyncClient) -> None:
    plain = {
        "payloads": [
            {
                "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
                "data": base64.b64encode(b'"secret"').decode(),
            }
        ]
    }
    encoded = await api.post("/codec/encode", json=plain, headers=as_("ops"))
    assert encoded.status_code == 200, encoded.text
    assert encoded.json() != plain
    decoded = await api.post("/codec/decode", json=encoded.json(), headers=as_("audit"))
    assert decoded.json() == plain
    for who in ("rev-health", "sup", "app-demo", "clerk-yc"):
        error = assert_error(await api.post("/codec/decode", json=plain, headers=as_(who)), 403)
        assert "operators and auditors" in error["message"]
    assert_error(await api.post("/codec/decode", json=plain), 401)
    bad = {"payloads": [{"metadata": {}, "data": "***"}]}
    assert_error(await api.post("/codec/decode", json=bad, headers=as_("ops")), 400)


async def test_healthz_ok(api: httpx.AsyncClient) -> None:
    r = await api.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "temporal": "ok", "store": "ok"}


async def test_healthz_503_when_the_store_is_down(
    ts_env: WorkflowEnvironment, catalog: Catalog, tmp_path: Any
) -> None:
    from starter.client import OnethingClient

    # A directory where the database file should be: SQLite cannot open it.
    (tmp_path / "isdir.db").mkdir()
    broken = make_engine(f"sqlite:///{tmp_path / 'isdir.db'}")
    app = create_app(OnethingClient(ts_env.client, "none", catalog), broken, REGISTRY)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api.test"
    ) as http:
        r = await http.get("/healthz")
    assert r.status_code == 503
    assert r.json()["status"] == "degraded" and r.json()["store"].startswith("down")
    assert r.json()["temporal"] == "ok"


async def test_oversized_body_413_and_wrong_method_405(api: httpx.AsyncClient) -> None:
    r = await api.post(
        "/applications",
        content=b'{"form": "' + b"x" * (2 << 20) + b'"}',
        headers={**as_("clerk-yc"), "Content-Type": "application/json"},
    )
    assert_error(r, 413, "body")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        yield b'{"form": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    r = await api.post(
        "/applications",
        content=chunks(),
        headers={**as_("clerk-yc"), "Content-Type": "application/json"},
    )
    assert_error(r, 413, "body")
    r = await api.delete("/applications", headers=as_("ops"))
    assert_error(r, 405)
    assert r.headers["allow"] == "GET, POST"


async def test_no_worker_answers_503_in_time(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    from starter.client import OnethingClient

    client = OnethingClient(ts_env.client, f"nobody-polls-{uuid.uuid4().hex[:6]}", catalog)
    app = create_app(client, store_engine, REGISTRY, query_timeout=0.5)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
        application_id = await submitted(http, catalog)  # starting needs no worker
        r = await http.get(f"/applications/{application_id}", headers=as_("sup"))
    # Left waiting for a worker it would hold up time skipping for the module's other tests.
    await ts_env.client.get_workflow_handle(f"application-{application_id}").terminate()
    error = assert_error(r, 503)
    assert error["code"] == "unavailable" and "worker" in error["message"]


# --------------------------------------------------------------------------- OpenAPI


async def test_openapi_describes_every_error(api: httpx.AsyncClient) -> None:
    doc = (await api.get("/openapi.json")).json()
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            statuses = set(op["responses"])
            if op.get("parameters") or "requestBody" in op:
                assert "422" in statuses, (method, path)
            if op.get("security"):
                assert {"401", "403"} <= statuses or path == "/me", (method, path)
            for status, response in op["responses"].items():
                if status.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, status)
    operations = {op["operationId"] for ops in doc["paths"].values() for op in ops.values()}
    assert {"submit", "get_application", "decide", "list_tasks", "verify_license"} <= operations
    submitted = doc["paths"]["/applications"]["post"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in submitted.values()} <= operations


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


async def test_incomplete_materials_get_a_correction_and_only_a_clerk_refuses(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    application_id = new_application_id()
    body = body_of(catalog, application_id)
    core = [m.code for m in catalog.item(DEMO_ITEM).materials if m.core and m.asked_for]
    body["materials"] = [c for c in body["materials"] if c != core[0]]
    r = await api.post("/applications", json=body, headers=as_("clerk-yc"))
    assert r.status_code == 201, r.text
    state = await application_when(api, application_id, lambda s: s["correction_clock"])
    assert state["status"] == "awaiting_correction"
    assert [m["code"] for m in state["outstanding"]] == [core[0]]

    path = f"/applications/{application_id}/refusal"
    outside = {"ground": "outside_powers", "reason": "不属本中心受理", "competent_office": "某局"}
    for who, reason in [
        ("rev-health", "only a window clerk"),
        ("clerk-xh", "not made at"),
        ("ops", "only a window clerk"),
        ("audit", "never change"),
    ]:
        error = assert_error(await api.post(path, json=outside, headers=as_(who)), 403)
        assert reason in error["message"], (who, error)
    nameless = {"ground": "outside_powers", "reason": "不属本中心受理"}
    assert_error(await api.post(path, json=nameless, headers=as_("clerk-yc")), 422)
    r = await api.post(path, json=outside, headers=as_("clerk-yc"))
    assert r.status_code == 200, r.text
    assert r.json() == {"application_id": application_id, "status": "refused", "by": "clerk-yc"}
    assert_error(await api.post(path, json=outside, headers=as_("clerk-yc")), 409)

    accepted = await submitted(api, catalog)
    await item_at(api, accepted)
    r = await api.post(f"/applications/{accepted}/refusal", json=outside, headers=as_("clerk-yc"))
    assert_error(r, 409, "status")


async def test_a_supervisor_extends_a_bundles_joint_limit_once(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    bundle = await post_new(api, full_body(catalog, "open-beauty-salon"))
    await application_when(api, bundle, lambda s: s["joint_clock"] is not None)
    path = f"/applications/{bundle}/extension"
    body = {"days": 15, "reason": "需组织听证"}
    for who, reason in [
        ("rev-health", "only a supervisor"),
        ("ops", "only a supervisor"),
        ("audit", "never change"),
    ]:
        error = assert_error(await api.post(path, json=body, headers=as_(who)), 403)
        assert reason in error["message"], (who, error)
    assert_error(await api.post(path, json={**body, "days": 16}, headers=as_("sup")), 409, "days")
    r = await api.post(path, json=body, headers=as_("sup"))
    assert r.status_code == 200, r.text
    assert r.json() == {"limit": "joint", "days": 15}
    assert_error(await api.post(path, json=body, headers=as_("sup")), 409, "status")

    single = await submitted(api, catalog)
    r = await api.post(f"/applications/{single}/extension", json=body, headers=as_("sup"))
    assert_error(r, 409, "status")
