"""Licenses over HTTP: the public verification shows the validity and renewal window; the
holder or a window clerk applies for renewal, a reviewer of the item's department decides;
who may do what, and bad input naming its field. A real worker on the time-skipping server."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.application import RevocationGround
from domain.catalog import Catalog
from starter.api import create_app
from starter.client import OnethingClient
from starter.demo import DEMO_ITEM
from starter.desk import eventually
from store import licenses
from tests.conftest import CODEC, api_over, cli, cli_reaches
from tests.desk import skip_to
from tests.support.api import REGISTRY, as_, assert_error, submitted, under_review

BEIJING = ZoneInfo("Asia/Shanghai")


class Api:
    def __init__(
        self, http: httpx.AsyncClient, env: WorkflowEnvironment, engine: Engine, task_queue: str
    ) -> None:
        self.http, self.env, self.engine, self.task_queue = http, env, engine, task_queue

    async def skip_to(self, at: datetime) -> None:
        await skip_to(self.env, at)


@pytest_asyncio.fixture(loop_scope="session")
async def api(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> AsyncIterator[Api]:
    async with api_over(fresh_ts_env, store_engine, catalog, REGISTRY) as api:
        yield Api(api.http, fresh_ts_env, store_engine, api.client.task_queue)


async def issued_nurse_license(api: Api, catalog: Catalog) -> licenses.License:
    application_id = await submitted(api.http, catalog)
    await under_review(api.http, application_id)
    r = await api.http.post(
        f"/applications/{application_id}/items/{DEMO_ITEM}/decision",
        json={"verdict": "approve"},
        headers=as_("rev-health"),
    )
    assert r.status_code == 200, r.text

    async def found() -> list[licenses.License]:
        return licenses.licenses_of(api.engine, application_id)

    [license] = await eventually(found, bool, "the license is issued")

    async def term_kept() -> bool:  # its term workflow starts right after the registry's row
        r = await api.http.get(f"/licenses/by-number/{license.number}/term", headers=as_("sup"))
        return r.status_code == 200

    await eventually(term_kept, bool, "the license's term is kept")
    return license


def _day(text: str) -> date:
    return date.fromisoformat(text)


async def test_verification_shows_validity_and_renewal_runs_over_http(
    api: Api, catalog: Catalog
) -> None:
    http = api.http
    license = await issued_nurse_license(api, catalog)
    r = await http.get(f"/licenses/{license.verification_code}")  # public: no token
    assert r.status_code == 200, r.text
    seen = r.json()
    issued_on = license.valid_from.replace(tzinfo=UTC).astimezone(BEIJING).date()
    through = _day(seen["valid_through"])
    assert through + timedelta(days=1) == issued_on.replace(year=issued_on.year + 5)
    until = datetime.fromisoformat(seen["valid_until"])
    assert until.utcoffset() is not None and until.astimezone(BEIJING).date() == through + (
        timedelta(days=1)
    )
    assert (seen["status"], seen["status_label"], seen["valid"]) == ("issued", "有效", True)
    assert (seen["term"], seen["renewed_as"], seen["validity_known"]) == (1, None, True)
    window = seen["renewal_window"]
    assert (through - _day(window["closes_on"])).days == 30  # Art. 50 default, calendar days
    assert (through - _day(window["opens_on"])).days == 60  # local choice
    assert "王" in seen["holder_hint"] and "演示" not in seen["holder_hint"]

    number = license.number
    term = f"/licenses/by-number/{number}/term"
    renewal = f"/licenses/by-number/{number}/renewal"
    decision = f"{renewal}/decision"
    for who, status in [
        ("app-demo", 200),
        ("clerk-yc", 200),
        ("rev-health", 200),
        ("sup", 200),
        ("app-other", 403),
        ("rev-market", 403),
    ]:
        r = await http.get(term, headers=as_(who))
        assert r.status_code == status, (who, r.text)
    assert (await http.get(term)).status_code == 401
    state = (await http.get(term, headers=as_("sup"))).json()
    assert state["phase"] == "valid" and state["window"]["opens_on"] == window["opens_on"]

    # Bad input names its field.
    bad: list[tuple[str, dict[str, Any], str]] = [
        ("app-demo", {}, "hall"),
        ("app-demo", {"hall": "Not A Hall"}, "hall"),
        ("app-demo", {"hall": "yicheng-center", "channel": "window"}, "channel"),
        ("app-demo", {"hall": "yicheng-center", "received_by": "x"}, "received_by"),
        ("clerk-yc", {"channel": "online"}, "channel"),
    ]
    for who, body, field in bad:
        assert_error(await http.post(renewal, json=body, headers=as_(who)), 422, field)
    # A hall of the right shape that this center does not have: refused before the workflow.
    nowhere = await http.post(renewal, json={"hall": "yicheng-city"}, headers=as_("app-demo"))
    assert "not a hall of this center" in assert_error(nowhere, 422, "hall")["message"]
    # Too early: the window is not open yet.
    early = await http.post(renewal, json={"hall": "yicheng-center"}, headers=as_("app-demo"))
    error = assert_error(early, 409, "license_number")
    assert window["opens_on"] in error["message"]

    await api.skip_to(datetime.fromisoformat(state["window"]["opens_at"]) + timedelta(hours=1))
    for who, reason in [
        ("app-other", "only their own"),
        ("audit", "never change"),
        ("rev-health", "only applicants and window clerks"),
    ]:
        r = await http.post(renewal, json={"hall": "yicheng-center"}, headers=as_(who))
        assert reason in assert_error(r, 403)["message"], who
    r = await http.post(renewal, json={}, headers=as_("clerk-yc"))
    assert r.status_code == 200, r.text
    applied = r.json()
    assert applied["phase"] == "renewal_pending"
    case = applied["renewal"]
    assert case["channel"] == "window" and case["hall"] == "yicheng-center"
    assert case["case_number"].startswith("420684-")
    again = await http.post(renewal, json={"hall": "yicheng-center"}, headers=as_("app-demo"))
    assert_error(again, 409, "license_number")

    for who, status in [("rev-market", 403), ("insp-health", 403), ("audit", 403)]:
        r = await http.post(decision, json={"verdict": "approve"}, headers=as_(who))
        assert_error(r, status)
    assert_error(
        await http.post(decision, json={"verdict": "refuse"}, headers=as_("rev-health")),
        422,
        "reason",
    )
    assert_error(
        await http.post(decision, json={"verdict": "maybe"}, headers=as_("rev-health")),
        422,
        "verdict",
    )
    r = await http.post(decision, json={"verdict": "approve"}, headers=as_("rev-health"))
    assert r.status_code == 200, r.text
    decided = r.json()
    assert (decided["phase"], decided["term"], decided["renewed_as"]) == ("renewed", 2, "renewed")

    after = (await http.get(f"/licenses/{license.verification_code}")).json()
    assert (after["term"], after["renewed_as"], after["renewed_as_label"]) == (
        2,
        "renewed",
        "准予延续",
    )
    new_through = _day(after["valid_through"])
    assert new_through == through.replace(year=through.year + 5)


async def test_unknown_validity_and_unknown_licenses(api: Api) -> None:
    old = licenses.issue_license(
        api.engine,
        application_id=f"A-{uuid.uuid4().hex[:8]}",
        item_code=DEMO_ITEM,
        license_kind="nurse_practice_certificate",
        holder_name="王演示",
        valid_from=datetime(2026, 3, 2, tzinfo=UTC),
    )
    seen = (await api.http.get(f"/licenses/{old.verification_code}")).json()
    assert (seen["valid_until"], seen["validity_known"], seen["renewal_window"]) == (
        None,
        False,
        None,
    )
    r = await api.http.get(f"/licenses/by-number/{old.number}/term", headers=as_("sup"))
    assert_error(r, 404, "license_number")
    assert_error(await api.http.get("/licenses/nocode-0000"), 404, "verification_code")
    r = await api.http.get("/licenses/by-number/YC-NOBODY-1/term", headers=as_("sup"))
    assert_error(r, 404, "license_number")


HTML = {"Accept": "text/html"}


async def test_a_browser_reads_the_verification_in_chinese(api: Api) -> None:
    """Revoked, or issued before validity was kept (its code of the older kind): each says
    so on the page; an unknown code gets a page, not JSON."""
    application_id = f"A-{uuid.uuid4().hex[:8]}"
    old = licenses.issue_license(
        api.engine,
        application_id=application_id,
        item_code=DEMO_ITEM,
        license_kind="nurse_practice_certificate",
        holder_name="王演示",
        valid_from=datetime(2026, 3, 2, tzinfo=UTC),
    )
    page = await api.http.get(f"/licenses/{old.verification_code}", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "此电子证照真实有效" in page.text and "以证照载明的有效期为准" in page.text
    assert "2026-03-02 08:00 (北京时间)" in page.text and "王演示" not in page.text
    assert old.number in page.text and "护士执业证书" in page.text

    licenses.revoke(
        api.engine,
        application_id=application_id,
        item_code=DEMO_ITEM,
        reason="现场核查发现承诺不实",
        at=datetime(2026, 4, 1, 2, 0, tzinfo=UTC),
        ground=RevocationGround.FALSE_COMMITMENT.value,
    )
    page = await api.http.get(f"/licenses/{old.verification_code}", headers=HTML)
    assert "已被撤销" in page.text and "2026-04-01 10:00 (北京时间)" in page.text
    assert RevocationGround.FALSE_COMMITMENT.label in page.text
    assert "现场核查发现承诺不实" not in page.text  # the case's details stay in the case
    assert "真实有效" not in page.text

    unknown = await api.http.get("/licenses/NOSUCHCODE2345", headers=HTML)
    assert unknown.status_code == 404 and "未找到与此核验码对应的电子证照" in unknown.text
    assert "NOSUCHCODE2345" not in unknown.text


async def test_past_its_end_a_license_reads_expired_before_its_term_records_it(
    api: Api,
) -> None:
    """The registry still says issued (the term's workflow has not run since the end, a
    worker down): a verifier reads expired, never in force."""
    ended = licenses.issue_license(
        api.engine,
        application_id=f"A-{uuid.uuid4().hex[:8]}",
        item_code="food-business-license",
        license_kind="food_business_license",
        holder_name="宜城某某便利店",
        valid_from=datetime(2021, 3, 2, tzinfo=UTC),
        valid_until=datetime(2026, 3, 1, 16, 0, tzinfo=UTC),  # 2026-03-02 00:00 Beijing
    )
    assert ended.status == "issued"
    seen = (await api.http.get(f"/licenses/{ended.verification_code}")).json()
    assert (seen["status"], seen["status_label"], seen["valid"]) == ("expired", "已过期", False)
    assert seen["valid_through"] == "2026-03-01" and seen["renewal_window"] is None
    page = await api.http.get(f"/licenses/{ended.verification_code}", headers=HTML)
    assert "此电子证照已过期失效" in page.text and "真实有效" not in page.text


async def test_the_command_line_shows_renews_and_decides(
    api: Api,
    catalog: Catalog,
    fresh_ts_env: WorkflowEnvironment,
    cli_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cli_reaches(monkeypatch, fresh_ts_env, api.engine, api.task_queue)
    license = await issued_nurse_license(api, catalog)

    shown = json.loads((await cli("license", "show", license.number, "--json")).stdout)
    assert shown["term"] == 1 and shown["valid_through"] and shown["renewal_window"]
    assert "王演示" not in json.dumps(shown, ensure_ascii=False)
    # What staff read: as the public verification page says it, in words and Beijing days.
    said = (await cli("license", "show", license.number)).stdout
    assert said.startswith("此电子证照真实有效。"), said
    for words in ("护士执业证书", "有效期至", shown["valid_through"], "延续申请期"):
        assert words in said, said
    assert "valid_through" not in said and "issued" not in said and "王演示" not in said
    await cli("license", "show", "YC-NOBODY-1", code=2)
    term = json.loads((await cli("license", "term", license.number, "--json")).stdout)
    assert term["phase"] == "valid"
    in_words = (await cli("license", "term", license.number)).stdout
    for words in ("第1个有效期", "状态", "有效", "有效期至", shown["valid_through"]):
        assert words in in_words, in_words
    assert "phase" not in in_words and "+00:00" not in in_words and "T0" not in in_words
    early = await cli("license", "renew", license.number, "--hall", "yicheng-center", code=2)
    assert "license_number: the renewal window opens on" in early.stderr
    bad = await cli("license", "renew", license.number, "--hall", "Bad Hall", code=2)
    assert "hall" in bad.stderr
    await api.skip_to(datetime.fromisoformat(term["window"]["opens_at"]) + timedelta(hours=1))
    nowhere = await cli("license", "renew", license.number, "--hall", "yicheng-city", code=2)
    assert "hall: 'yicheng-city' is not a hall of this center" in nowhere.stderr
    renew = ["license", "renew", license.number, "--hall", "yicheng-center"]
    no_clerk = await cli(*renew, code=2)
    assert "received_by" in no_clerk.stderr
    applied_said = (await cli(*renew, "--clerk", "clerk-1")).stdout
    applied = json.loads((await cli("license", "term", license.number, "--json")).stdout)
    assert applied["phase"] == "renewal_pending" and applied["renewal"]["case_number"]
    hall = catalog.halls["yicheng-center"].name
    for words in ("延续申请审查中", applied["renewal"]["case_number"], hall, "窗口", "决定期限"):
        assert words in applied_said, applied_said
    assert "yicheng-center" not in applied_said and "renewal_pending" not in applied_said
    decide = ["license", "decide-renewal", license.number]
    refused = await cli(*decide, "refuse", "--reviewer", "r-1", "--department", "health", code=2)
    assert "reason" in refused.stderr
    other = await cli(*decide, "approve", "--reviewer", "r-1", "--department", "market", code=2)
    assert "reviewer" in other.stderr
    done = await cli(*decide, "approve", "--reviewer", "r-1", "--department", "health")
    assert "第2个有效期, 准予延续" in done.stdout, done.stdout
    term = json.loads((await cli("license", "term", license.number, "--json")).stdout)
    assert term["term"] == 2


@pytest.mark.parametrize("store_engine", ["sqlite"], indirect=True)
async def test_a_renewal_no_worker_carries_out_answers_503_saying_it_may_still_be(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    """The client's deadline, not a read's: its answer says the renewal may still be carried
    out (tests/cli/test_cli_unanswered.py shows one carried out later, on the dev server;
    the time-skipping server sends the term's next query to the stopped worker)."""
    async with api_over(fresh_ts_env, store_engine, catalog, REGISTRY) as served:
        api = Api(served.http, fresh_ts_env, store_engine, served.client.task_queue)
        license = await issued_nurse_license(api, catalog)
        term = f"/licenses/by-number/{license.number}/term"
        window = (await api.http.get(term, headers=as_("sup"))).json()["window"]
        await api.skip_to(datetime.fromisoformat(window["opens_at"]) + timedelta(hours=1))
    # The worker has stopped. A renewal waits the client's 2 s for one, not a read's 1 s.
    impatient = OnethingClient(
        fresh_ts_env.client, api.task_queue, catalog, answer_within=timedelta(seconds=2)
    )
    app = create_app(impatient, store_engine, REGISTRY, codec=CODEC, query_timeout=1.0)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
        started = time.monotonic()
        r = await http.post(
            f"/licenses/by-number/{license.number}/renewal", json={}, headers=as_("clerk-yc")
        )
        assert time.monotonic() - started < 8
        message = assert_error(r, 503, "worker")["message"]
        assert "within 2 s" in message and "may still be carried out" in message, message
