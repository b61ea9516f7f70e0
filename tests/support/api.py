"""What the HTTP API's tests share: the suite's tokens, requests as one of them, the error
body's shape, submissions, waiting for a state through the API, the API in-process or on a
port, and the citizen's and the dashboard's fixed data.

The fixtures `api_env`, `served_api` and `api` are the API over a worker of its own for a
whole test module; `tests/api/conftest.py` offers them to every API test, and a module
elsewhere imports them from here. A module configures them by its `REGISTRY` (the tokens,
when not the suite's) or by overriding `api_env` (a Temporal server of its own).
"""

from __future__ import annotations

import itertools
import re
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine, delete
from temporalio.testing import WorkflowEnvironment

from domain.bundle import as_bundle, one_set_of_materials
from domain.calendar import WorkingCalendar
from domain.catalog import Catalog
from domain.people import resident_id_check_digit
from onething.case_facts import project
from onething.devserver import free_port
from onething.histories import load_histories
from onething.keys import configured_subject_keys
from starter.api import create_app
from starter.api.routes.citizen_desk import RateLimit
from starter.auth import TokenRegistry, applicant_ref
from starter.demo import DEMO_ITEM, demo_applicant, demo_submission
from starter.desk import eventually
from store import case_facts
from store.db import session
from tests.browser import PHONE as PHONE_VIEWPORT
from tests.conftest import (
    CODEC,
    Api,
    api_over,
    dev_server,
    new_application_id,
    onething_client,
    serving,
)
from tests.histories.record import recording_converter

# -- tokens -------------------------------------------------------------------------------

HALL = "yicheng-center"
OTHER_ID = "11010519491231002X"  # another applicant's ID number (the check digit is right)
assert OTHER_ID[-1] == resident_id_check_digit(OTHER_ID[:17])

# The subject keyring this process is configured with: what the API and the worker read.
SUBJECT_KEYS = configured_subject_keys()
# One member of staff per desk, an applicant for the demo and another.
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


# People with no credit history, one each time, never one of the made-up applicants
# (starter.desk: born 1990-01-01): a random sequence met them one time in a thousand, and
# the false commitment recorded for it then barred the demo applicant for the session.
SOMEONE_ELSE_PREFIX = "42068419910202"
_someone_else = itertools.count(1)


def token(name: str) -> str:
    """The bearer token of the entry named `name`."""
    return f"test-token-{name}-0123456789"


def registry(*extra: dict[str, Any]) -> TokenRegistry:
    """`ENTRIES` and `extra` (entries without their tokens), each with its `token`."""
    document = {"tokens": [{**e, "token": token(e["name"])} for e in [*ENTRIES, *extra]]}
    return TokenRegistry.from_document(document, subject_keys=SUBJECT_KEYS)


REGISTRY = registry()
# Two members of staff per desk where a task changes hands, and urban's reviewer.
STAFF_REGISTRY = registry(
    {"name": "rev-health-2", "role": "reviewer", "department": "health"},
    {"name": "insp-market-2", "role": "inspector", "department": "market"},
    {"name": "rev-urban", "role": "reviewer", "department": "urban"},
)


def as_(name: str) -> dict[str, str]:
    """Headers that call the API as `name`."""
    return {"Authorization": f"Bearer {token(name)}"}


def assert_error(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """The response is the error body with `status` (naming `field`, when given); the error."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    if field is not None:
        assert field in [f["field"] for f in error["fields"]], error
    return error


# -- submissions --------------------------------------------------------------------------


def body_of(catalog: Catalog, application_id: str, **changes: Any) -> dict[str, Any]:
    """The demo submission as JSON, with `changes`."""
    data: dict[str, Any] = demo_submission(catalog, application_id).model_dump(mode="json")
    data.update(changes)
    return data


def full_body(
    catalog: Catalog,
    target: str,
    *,
    leave_out: tuple[str, ...] = (),
    commitment: bool = False,
    pledge: bool = False,
    someone_else: bool = False,
) -> dict[str, Any]:
    """A submission for `target` (an item or a bundle) with everything the one set of
    materials asks for, less `leave_out`; `someone_else`: an applicant with no credit
    history, for the commitment path."""
    materials = one_set_of_materials(catalog, as_bundle(catalog, target)).to_bring
    body = body_of(catalog, new_application_id(), item_code=None, bundle_code=None)
    body["item_code" if target in catalog.items else "bundle_code"] = target
    body["materials"] = [m.code for m in materials if not m.condition and m.code not in leave_out]
    body["commitment_signed"], body["deficiency_pledge_signed"] = commitment, pledge
    if someone_else:
        first17 = f"{SOMEONE_ELSE_PREFIX}{next(_someone_else) % 1000:03d}"
        body["applicant"] = {
            **body["applicant"],
            "id_number": first17 + resident_id_check_digit(first17),
        }
    return body


async def post_new(api: httpx.AsyncClient, body: dict[str, Any], who: str = "clerk-yc") -> str:
    """`body` submitted as `who` (201); the application's ID."""
    r = await api.post("/applications", json=body, headers=as_(who))
    assert r.status_code == 201, r.text
    application_id: str = r.json()["application_id"]
    return application_id


async def submitted(api: httpx.AsyncClient, catalog: Catalog, who: str = "clerk-yc") -> str:
    """The demo application submitted as `who` (online for an applicant); its ID."""
    application_id = new_application_id()
    body = body_of(catalog, application_id)
    if who.startswith("app-"):
        body["channel"] = "online"  # an applicant's own submission never comes by a window
    r = await api.post("/applications", json=body, headers=as_(who))
    assert r.status_code == 201, r.text
    return application_id


# -- waiting for a state ------------------------------------------------------------------


async def until(
    api: httpx.AsyncClient,
    path: str,
    ok: Callable[[Any], object],
    *,
    who: str = "sup",
    what: str | None = None,
    attempts: int = 300,
) -> Any:
    """GET `path` as `who` until it answers 200 with a body that is `ok`; that body. Any
    other answer is "not yet" (a workflow starting, a row not written yet)."""

    async def answer() -> Any:
        r = await api.get(path, headers=as_(who))
        return r.json() if r.status_code == 200 else None

    return await eventually(answer, ok, what or f"{path} as {who}", attempts=attempts)


async def application_when(
    api: httpx.AsyncClient, application_id: str, ok: Callable[[dict[str, Any]], object]
) -> dict[str, Any]:
    """The application (as a supervisor reads it) once it is `ok`."""
    state: dict[str, Any] = await until(api, f"/applications/{application_id}", ok)
    return state


async def item_at(
    api: httpx.AsyncClient, application_id: str, item_code: str = DEMO_ITEM, *statuses: str
) -> dict[str, Any]:
    """The item (as a supervisor reads it) once it is in one of `statuses` (default:
    under review) with a task open."""
    wanted = statuses or ("under_review",)
    item: dict[str, Any] = await until(
        api,
        f"/applications/{application_id}/items/{item_code}",
        lambda i: i["status"] in wanted and i["open_task"],
        what=f"{item_code} of {application_id} reaches {wanted}",
    )
    return item


async def under_review(api: httpx.AsyncClient, application_id: str) -> dict[str, Any]:
    """The demo item once its review is open."""
    return await item_at(api, application_id, DEMO_ITEM, "under_review")


async def documents_when(
    api: httpx.AsyncClient,
    application_id: str,
    count: int,
    who: str = "sup",
    title: str | None = None,
) -> list[dict[str, object]]:
    """The application's documents as `who` reads them, once there are `count` (of
    `title`, when given)."""
    rows: list[dict[str, object]] = await until(
        api,
        f"/applications/{application_id}/documents",
        lambda rows: len([d for d in rows if title in (None, d["title"])]) >= count,
        who=who,
        what=f"{application_id} has {count} documents",
    )
    return rows


async def decide(
    api: httpx.AsyncClient, application_id: str, item: str, who: str, **body: str
) -> None:
    """Once the item's review is open, `who` decides it with `body` (200)."""
    await item_at(api, application_id, item, "under_review")
    r = await api.post(
        f"/applications/{application_id}/items/{item}/decision", json=body, headers=as_(who)
    )
    assert r.status_code == 200, r.text


async def completed_case(api: httpx.AsyncClient, catalog: Catalog) -> str:
    """A nurse registration accepted at yicheng-center, approved by the health reviewer and
    completed; its ID."""
    application_id = await submitted(api, catalog)
    await decide(api, application_id, DEMO_ITEM, "rev-health", verdict="approve")
    await application_when(api, application_id, lambda s: s["status"] == "completed")
    return application_id


async def refused_after_a_correction_notice(api: httpx.AsyncClient, catalog: Catalog) -> str:
    """An application one core material short (a correction notice), then refused by the
    clerk as outside the center's powers (a decision): two documents. Its ID."""
    application_id = new_application_id()
    body = body_of(catalog, application_id)
    core = [m.code for m in catalog.item(DEMO_ITEM).materials if m.core and m.asked_for]
    body["materials"] = [c for c in body["materials"] if c != core[0]]
    r = await api.post("/applications", json=body, headers=as_("clerk-yc"))
    assert r.status_code == 201, r.text
    await application_when(api, application_id, lambda s: s["correction_clock"])
    refusal = {"ground": "outside_powers", "reason": "不属本中心受理", "competent_office": "某局"}
    r = await api.post(
        f"/applications/{application_id}/refusal", json=refusal, headers=as_("clerk-yc")
    )
    assert r.status_code == 200, r.text
    return application_id


# -- the API, in-process or on a port -----------------------------------------------------


@pytest.fixture(scope="module")
def api_env(ts_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """The Temporal server a module's API runs on: the session's time-skipping server,
    unless the module overrides this fixture with a server of its own."""
    return ts_env


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def served_api(
    request: pytest.FixtureRequest,
    api_env: WorkflowEnvironment,
    store_engine: Engine,
    catalog: Catalog,
) -> AsyncIterator[Api]:
    """The API over a worker of this module's own, with the module's `REGISTRY` (else the
    suite's) and the codec endpoint."""
    tokens = getattr(request.module, "REGISTRY", REGISTRY)
    async with api_over(api_env, store_engine, catalog, tokens) as served:
        # Every look-up of a module comes from one address; the limit's own tests set theirs.
        served.app.state.citizen.limit = RateLimit(attempts=1000)
        yield served


@pytest.fixture(scope="module")
def api(served_api: Api) -> httpx.AsyncClient:
    """`served_api`'s HTTP client."""
    return served_api.http


@asynccontextmanager
async def api_on_a_port(
    env: WorkflowEnvironment,
    engine: Engine,
    catalog: Catalog,
    tokens: TokenRegistry = REGISTRY,
    **options: Any,
) -> AsyncIterator[str]:
    """The API over a worker of `env`, served by uvicorn on a loopback port, with the codec
    endpoint and `options` for `create_app`; its base URL, which is also the public address
    the worker's licenses send the public to verify them."""
    port = free_port()
    async with onething_client(env, engine, catalog, f"http://127.0.0.1:{port}") as client:
        app = create_app(client, engine, tokens, codec=CODEC, **options)
        async with serving(app, port) as url:
            yield url


@asynccontextmanager
async def own_dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """A Temporal dev server of its own: it can list workflows (visibility), and what a
    module starts there stays out of every other test's way."""
    with tempfile.TemporaryDirectory() as directory:
        async with dev_server(Path(directory)) as env:
            yield env


# -- the citizen's pages ------------------------------------------------------------------

APPLICANT_PHONE = demo_applicant().phone
TAIL = APPLICANT_PHONE[-4:]  # the demo applicant's phone tail, as the look-up asks
WRONG = f"{(int(TAIL) + 1) % 10000:04d}"  # a phone tail that is not the applicant's
# As a browser posts the form (errors come back as the page; JSON for other callers).
FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}
# Code names a citizen must never read on the progress page.
SLUG = re.compile(r"[a-z]+(?:[-_][a-z]+)+|[A-Za-z]{4,}")


def visible(html: str) -> str:
    """The page's text, without markup, styles and scripts."""
    return re.sub(r"<style>.*?</style>|<script>.*?</script>|<[^>]+>", " ", html, flags=re.S)


async def case_number_of(api: httpx.AsyncClient, application_id: str) -> str:
    """The application's case number, once it has one."""
    state = await application_when(api, application_id, lambda s: bool(s["case_number"]))
    number: str = state["case_number"]
    return number


async def look_up(api: httpx.AsyncClient, number: str, tail: str) -> httpx.Response:
    """The progress look-up as a browser posts it."""
    return await api.post(
        "/progress", content=f"case_number={number}&phone_tail={tail}", headers=FORM
    )


async def phone_page(browser: Any, **options: Any) -> Any:
    """A new Chromium context the size of a phone (Chinese locale) and its page."""
    context = await browser.new_context(
        viewport=PHONE_VIEWPORT, device_scale_factor=2, is_mobile=True, locale="zh-CN", **options
    )
    return context, await context.new_page()


# -- the recorded scenarios in the read model ---------------------------------------------

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
SCENARIOS = sorted(p.name for p in HISTORIES.iterdir() if (p / "manifest.json").exists())


async def project_scenarios(engine: Engine) -> None:
    """Every recorded scenario of today's code projected into the emptied read model."""
    with session(engine) as s:
        s.exec(delete(case_facts.ItemFact))
        s.exec(delete(case_facts.CaseFact))
    calendar = WorkingCalendar.from_file()
    for name in SCENARIOS:
        histories = [h for _, h in load_histories(HISTORIES / name)]
        case, items = await project(histories, recording_converter(), calendar)
        assert case_facts.write(engine, case, items)
