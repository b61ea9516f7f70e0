"""Applications over the HTTP API, with a real worker on the time-skipping Temporal
server: who is calling, submitting and its refusals, reading by role, supplements,
withdrawal and cancellation, a clerk's refusal, a bundle's joint limit extended."""

from __future__ import annotations

import httpx
import pytest

from domain.catalog import Catalog
from starter.demo import DEMO_ITEM, demo_applicant
from tests.conftest import new_application_id
from tests.support.api import (
    HALL,
    OTHER_ID,
    application_when,
    as_,
    assert_error,
    body_of,
    full_body,
    item_at,
    post_new,
    submitted,
    under_review,
)

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


# ------------------------------------------------------------- supplement, withdraw, refuse, extend


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
