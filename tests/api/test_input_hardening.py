"""A submission must never poison its workflow, and bad input is a 422 naming the field:
the one form's schema, nesting, lone surrogates, control and bidi characters, strict
types, errors that never echo what was sent; and the operator's way to end a workflow
that cannot run. Over a real worker and the time-skipping Temporal server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from domain.application import (
    Cancellation,
    Correction,
    LimitExtension,
    Submission,
    Termination,
    application_workflow_id,
)
from domain.bundle import as_bundle, one_form
from domain.catalog import Catalog
from domain.form import MAX_FORM_DEPTH, form_problems
from domain.people import Applicant, Role, Staff
from starter.client import ClientError, Conflict, NotFound
from starter.codec_endpoint import codec_app
from starter.demo import DEMO_ITEM, demo_applicant
from starter.desk import eventually
from store import tasks as tasks_store
from tests.conftest import CODEC, Api, cli_reaches, new_application_id
from tests.support.api import as_, assert_error, body_of, under_review
from workflows.application import ApplicationWorkflow

VALID_FORM = {
    "applicant": {"name": "王演示", "phone": "13900000000"},
    "nurse": {"institution": "宜城市人民医院", "practice_area": "宜城市"},
}


def nested(depth: int) -> str:
    """A JSON object `depth` levels deep, written by hand (json.dumps stops near 1,000)."""
    return '{"a": ' * depth + "1" + "}" * depth


def with_raw(body: dict[str, Any], field: str, raw_json: str) -> bytes:
    """`body` as JSON with `field` set to `raw_json` exactly as written."""
    text = json.dumps({k: v for k, v in body.items() if k != field}, ensure_ascii=False)
    return (text[:-1] + f', "{field}": {raw_json}}}').encode()


JSON = {"Content-Type": "application/json"}


async def started(served_api: Api, application_id: str) -> bool:
    handle = served_api.client.temporal.get_workflow_handle(application_workflow_id(application_id))
    try:
        await handle.describe()
    except RPCError as exc:
        assert exc.status == RPCStatusCode.NOT_FOUND
        return False
    return True


def problems(response: httpx.Response) -> dict[str, str]:
    return {f["field"]: f["problem"] for f in response.json()["error"]["fields"]}


# --------------------------------------------------------------------------- the form


@pytest.mark.parametrize("depth", [250, 500, 1500])
async def test_deep_form_is_422_naming_form_and_starts_nothing(
    served_api: Api, catalog: Catalog, depth: int
) -> None:
    """200-399 levels were accepted and poisoned the workflow (the worker's decoder stops
    at 200); 400-975 answered 500; deeper, 400 without a field."""
    application_id = new_application_id()
    content = with_raw(body_of(catalog, application_id), "form", nested(depth))
    r = await served_api.http.post(
        "/applications", content=content, headers={**as_("clerk-yc"), **JSON}
    )
    error = assert_error(r, 422)
    assert any(f["field"].startswith("form") for f in error["fields"]), error
    assert "deeper" in error["message"]
    assert not await started(served_api, application_id)


async def test_form_is_checked_against_the_one_form(served_api: Api, catalog: Catalog) -> None:
    post = served_api.http.post
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"nurse": {"nickname": "x"}}, "form.nurse.nickname", "is not a field"),
        ({"unknown": "x"}, "form.unknown", "is not a field"),
        ({"applicant": {"name": 5}}, "form.applicant.name", "must be a string"),
        ({"nurse": {"institution": "院" * 101}}, "form.nurse.institution", "longer than 100"),
        ({"nurse": "宜城"}, "form.nurse", "must be a group"),
        ({"applicant": {"phone": "139"}}, "form.applicant.phone", "pattern"),
        ({"nurse.institution": "x"}, "form", "nested groups"),
        ({"nurse": {"institution": ["a"]}}, "form.nurse.institution", "not a list"),
        ({"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": 1}}}}}}}}}, "form.a", "deeper"),
        ({f"k{i}": 1 for i in range(201)}, "form", "more than 200 fields"),
    ]
    for form, field, words in cases:
        application_id = new_application_id()
        r = await post(
            "/applications",
            json=body_of(catalog, application_id, form=form),
            headers=as_("clerk-yc"),
        )
        error = assert_error(r, 422)
        found = problems(r)
        assert any(f.startswith(field) for f in found), (field, error)
        assert words in " ".join(found.values()), (words, error)
        assert not await started(served_api, application_id)

    # Every problem at once, each by its field.
    r = await post(
        "/applications",
        json=body_of(
            catalog,
            new_application_id(),
            form={"nurse": {"nickname": "x", "institution": 7}, "applicant": {"phone": "1"}},
        ),
        headers=as_("clerk-yc"),
    )
    assert_error(r, 422)
    assert set(problems(r)) == {
        "form.nurse.nickname",
        "form.nurse.institution",
        "form.applicant.phone",
    }

    good = new_application_id()
    r = await post(
        "/applications", json=body_of(catalog, good, form=VALID_FORM), headers=as_("clerk-yc")
    )
    assert r.status_code == 201, r.text


async def test_typed_client_asks_the_same_form_check(served_api: Api, catalog: Catalog) -> None:
    body = body_of(catalog, new_application_id(), form={"nurse": {"nickname": "x"}})
    with pytest.raises(ClientError) as refused:
        await served_api.client.submit(Submission.model_validate(body))
    assert refused.value.field == "form.nurse.nickname"
    # One place decides: the pure validator on the one form the catalog derives.
    one = one_form(catalog, as_bundle(catalog, DEMO_ITEM))
    assert [p.field for p in form_problems(one, {"nurse": {"nickname": "x"}})] == [
        "form.nurse.nickname"
    ]
    assert form_problems(one, VALID_FORM) == []
    # The model itself never holds a form Temporal could not read back.
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(MAX_FORM_DEPTH + 1):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(ValidationError, match="deeper"):
        Submission.model_validate({**body, "form": deep})


# --------------------------------------------------------------------------- lone surrogates


async def test_lone_surrogate_in_any_string_is_422_naming_the_field(
    served_api: Api, catalog: Catalog
) -> None:
    """A `\\udfff` JSON escape decodes to a string no UTF-8 writer can write: it was a 500."""
    post = served_api.http.post
    body = body_of(catalog, new_application_id())
    named = json.dumps(body["applicant"], ensure_ascii=False)[:-1]
    applicant = named + ', "enterprise_name": "A\\udfff"}'
    decision = f"/applications/nobody-00001/items/{DEMO_ITEM}/decision"
    codec = b'{"payloads": [{"metadata": {}, "data": "\\udfff"}]}'
    cases: list[tuple[str, str, bytes, str]] = [
        ("/applications", "clerk-yc", with_raw(body, "applicant", applicant),
         "applicant.enterprise_name"),
        ("/applications", "clerk-yc",
         with_raw(body, "form", '{"nurse": {"institution": "\\ud800"}}'),
         "form.nurse.institution"),
        ("/applications", "clerk-yc", with_raw(body, "materials", '["\\udfff"]'), "materials[0]"),
        ("/applications", "clerk-yc", with_raw(body, "form", '{"\\udfff": 1}'), "form"),
        ("/applications/nobody-00001/withdrawal", "app-demo", b'{"reason": "\\udfff"}', "reason"),
        ("/applications/nobody-00001/cancellation", "ops", b'{"reason": "x\\udc00y"}', "reason"),
        (decision, "rev-health", b'{"verdict": "reject", "reason": "\\udfff"}', "reason"),
        ("/codec/decode", "ops", codec, "payloads[0].data"),
    ]  # fmt: skip
    for path, who, content, field in cases:
        r = await post(path, content=content, headers={**as_(who), **JSON})
        error = assert_error(r, 422, field)
        assert "surrogate" in problems(r)[field], (path, error)


# --------------------------------------------------------------------------- readable text

BAD_CHARACTERS = ["\x00", "\x07", "\x1b", "\u202e", "\u202a", "\u2066", "\u2069", "\u200f"]


@pytest.mark.parametrize("bad", BAD_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
async def test_control_and_bidi_characters_are_refused_naming_the_field(
    served_api: Api, catalog: Catalog, bad: str
) -> None:
    post = served_api.http.post
    code = f"U+{ord(bad):04X}"
    body = body_of(catalog, new_application_id())
    agent = {**demo_applicant().model_dump(), "name": f"李{bad}某", "organisation": "帮办中心"}
    submissions: list[tuple[dict[str, Any], str]] = [
        ({"applicant": {**body["applicant"], "name": f"{bad}王演示"}}, "applicant.name"),
        ({"applicant": {**body["applicant"], "enterprise_name": f"宜城{bad}超市"}},
         "applicant.enterprise_name"),
        ({"agent": agent}, "agent.name"),
        ({"agent": {**agent, "name": "李某", "organisation": f"帮办{bad}"}}, "agent.organisation"),
        ({"form": {"nurse": {"institution": f"医院{bad}"}}}, "form.nurse.institution"),
    ]  # fmt: skip
    for changes, field in submissions:
        application_id = new_application_id()
        r = await post(
            "/applications", json={**body, "application_id": application_id, **changes},
            headers=as_("clerk-yc"),
        )  # fmt: skip
        assert_error(r, 422, field)
        assert code in problems(r)[field]
        assert not await started(served_api, application_id)

    item = f"/applications/nobody-00002/items/{DEMO_ITEM}"
    others: list[tuple[str, str, dict[str, Any], str]] = [
        ("/applications/nobody-00002/withdrawal", "app-demo", {"reason": f"不{bad}要了"}, "reason"),
        ("/applications/nobody-00002/cancellation", "ops", {"reason": f"误{bad}"}, "reason"),
        ("/applications/nobody-00002/termination", "ops", {"reason": f"误{bad}"}, "reason"),
        (f"{item}/decision", "rev-health", {"verdict": "reject", "reason": f"不{bad}符"}, "reason"),
        (f"{item}/inspection", "insp-health", {"result": "failed", "findings": f"脏{bad}"},
         "findings"),
        (f"{item}/correction", "app-demo", {"note": f"已{bad}补"}, "note"),
        (f"{item}/extension", "sup", {"days": 5, "reason": f"评{bad}审"}, "reason"),
        ("/supervision/cases/1/closure", "sup", {"resolution": f"已{bad}办"}, "resolution"),
    ]  # fmt: skip
    for path, who, payload, field in others:
        r = await post(path, json=payload, headers=as_(who))
        assert_error(r, 422, field)
        assert code in problems(r)[field], (path, r.text)


def test_text_rules_in_the_domain_models() -> None:
    staff = Staff(staff_id="ops", role=Role.OPERATOR)
    person = demo_applicant().model_dump()
    for bad in [*BAD_CHARACTERS, chr(0xD800)]:
        with pytest.raises(ValidationError, match=f"U\\+{ord(bad):04X}"):
            Applicant(**{**person, "name": f"王{bad}"})
        with pytest.raises(ValidationError, match="reason"):
            Cancellation(operator=staff, reason=f"误{bad}提交")
    with pytest.raises(ValidationError, match="one line"):
        Applicant(**{**person, "name": "王\n某"})
    # Reasons, notes and findings may span lines; names may not.
    assert Cancellation(operator=staff, reason="第一行\n第二行\t完").reason.count("\n") == 1
    assert Correction(channel="online", note="已补\r\n体检报告").note  # type: ignore[arg-type]
    # What Temporal decodes from history (JSON) was checked when it was made: a rule added
    # later must not stop a running application from replaying.
    recorded = json.dumps({**person, "name": "王\u202e某"})
    assert Applicant.model_validate_json(recorded).name == "王\u202e某"


# --------------------------------------------------------------------------- no echo


async def test_errors_never_echo_what_was_sent(served_api: Api, catalog: Catalog) -> None:
    post = served_api.http.post
    long = "m0" + "x" * 4000
    body = body_of(catalog, new_application_id())
    sent: list[tuple[str, str, dict[str, Any] | list[Any]]] = [
        ("/applications", "clerk-yc", {**body, "materials": [long]}),
        # Codes shaped like the catalog's may be named; anything else is not repeated.
        ("/applications", "clerk-yc", {**body, "hall": "zz-no-such HALL 13900000000"}),
        ("/applications", "clerk-yc", {**body, "item_code": "zz-no-such ITEM 13900000000"}),
        ("/applications", "clerk-yc", {**body, "item_code": None, "bundle_code": "zz-no-such B"}),
        ("/applications", "clerk-yc", {**body, "form": {long: 1}}),
        ("/applications", "clerk-yc", {**body, long: 1}),
        ("/applications", "clerk-yc", {**body, "catalog_version": long}),
        ("/applications/nobody-00003/withdrawal", "app-demo", {"reason": "x", long: 1}),
        ("/applications/nobody-00003/supplement", "app-demo", {"materials": [long]}),
        ("/codec/decode", "ops", {"payloads": long}),
        ("/codec/decode", "ops", {"payloads": [{"metadata": {long: "**"}, "data": ""}]}),
        ("/codec/decode", "ops", {"payloads": [{"metadata": {"e": long}, "data": 5}]}),
    ]
    for path, who, payload in sent:
        r = await post(path, json=payload, headers=as_(who))
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:300])
        assert "xxxxxxxxxx" not in r.text, (path, r.text[:300])
        assert "zz-no-such" not in r.text, (path, r.text[:300])
        assert len(r.text) < 2000, (path, r.text[:300])


async def test_standalone_codec_endpoint_never_echoes_the_body() -> None:
    """`make run` serves the codec endpoint on its own: FastAPI's default 422 echoed the
    whole request body (payloads are personal data)."""
    app = codec_app(CODEC)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://codec.test") as http:
        secret = "420684199001011238-" + "x" * 100
        r = await http.post("/codec/decode", json={"payloads": [{"data": {"id": secret}}]})
        # The standalone endpoint keeps its `detail` answer, now naming fields only.
        assert r.status_code == 422, r.text
        assert "payloads[0].data" in r.json()["detail"]
        assert [f["field"] for f in r.json()["fields"]] == ["payloads[0].data"]
        assert secret not in r.text and "4206841990" not in r.text
        r = await http.post("/codec/decode", content=b'{"payloads": [{"data": "\\udfff"}]}',
                            headers=JSON)  # fmt: skip
        assert r.status_code == 422, r.text
        assert "payloads[0].data: contains a lone surrogate" in r.json()["detail"]


# --------------------------------------------------------------------------- strict types


async def test_extension_days_must_be_a_json_integer(served_api: Api) -> None:
    path = f"/applications/nobody-00004/items/{DEMO_ITEM}/extension"
    for days in [True, "5", 5.0, 5.5, None]:
        r = await served_api.http.post(
            path, json={"days": days, "reason": "评审"}, headers=as_("sup")
        )
        assert_error(r, 422, "days")
    # A real integer gets past validation (and finds no such application).
    r = await served_api.http.post(path, json={"days": 5, "reason": "评审"}, headers=as_("sup"))
    assert_error(r, 404)

    supervisor = Staff(staff_id="sup", role=Role.SUPERVISOR)
    for days in [True, "5", 5.0]:
        with pytest.raises(ValidationError, match="days"):
            LimitExtension.model_validate({"decided_by": supervisor, "days": days, "reason": "x"})
    assert LimitExtension(decided_by=supervisor, days=5, reason="评审").days == 5


async def test_pledges_must_be_json_booleans_in_the_model_too(catalog: Catalog) -> None:
    body = body_of(catalog, new_application_id())
    for value in [1, "yes", "true"]:
        with pytest.raises(ValidationError, match="commitment_signed"):
            Submission.model_validate({**body, "commitment_signed": value})


# --------------------------------------------------------------------------- termination


async def poisoned(served_api: Api, catalog: Catalog) -> str:
    """A workflow as the old API started it: a form its worker cannot decode (200+ deep),
    so it retries its first task forever, answers no query and takes no update."""
    application_id = new_application_id()
    form: dict[str, Any] = {}
    node = form
    for _ in range(250):
        node["a"] = {}
        node = node["a"]
    valid = Submission.model_validate(body_of(catalog, application_id))
    submission = valid.model_copy(update={"form": form})
    await served_api.client.temporal.start_workflow(
        ApplicationWorkflow.run,
        submission,
        id=application_workflow_id(application_id),
        task_queue=served_api.client.task_queue,
    )
    return application_id


async def terminated_event(served_api: Api, application_id: str) -> Any:
    handle = served_api.client.temporal.get_workflow_handle(application_workflow_id(application_id))
    await eventually(
        handle.describe,
        lambda d: d.status == WorkflowExecutionStatus.TERMINATED,
        "the workflow is terminated",
        attempts=100,
    )
    history = await handle.fetch_history()
    last = history.events[-1]
    assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
    return last.workflow_execution_terminated_event_attributes


async def test_operator_terminates_a_workflow_that_cannot_run(
    served_api: Api, catalog: Catalog
) -> None:
    from audit.trail import decision_trail

    application_id = await poisoned(served_api, catalog)
    path = f"/applications/{application_id}/termination"
    why = {"reason": "表单无法读取, 已通知申请人重新提交"}
    for who, words in [
        ("clerk-yc", "only an operator"),
        ("sup", "only an operator"),
        ("audit", "never change"),
        ("app-demo", "only an operator"),
    ]:
        error = assert_error(await served_api.http.post(path, json=why, headers=as_(who)), 403)
        assert words in error["message"], (who, error)
    for bad in [{"reason": ""}, {"reason": "  "}, {}, {"reason": "申请人 420684199001011238"}]:
        assert_error(await served_api.http.post(path, json=bad, headers=as_("ops")), 422, "reason")

    r = await served_api.http.post(path, json=why, headers=as_("ops"))
    assert r.status_code == 200, r.text
    assert r.json() == {"application_id": application_id, "status": "terminated", "by": "ops"}

    attributes = await terminated_event(served_api, application_id)
    assert "ops" in attributes.reason and why["reason"] in attributes.reason
    assert attributes.identity == "ops"
    trail = await decision_trail(application_id, client=served_api.client.temporal)
    [row] = [r for r in trail.rows if r.kind == "terminated"]
    assert row.actor == "ops" and row.reason and why["reason"] in row.reason

    error = assert_error(
        await served_api.http.post(path, json=why, headers=as_("ops")), 409, "status"
    )
    assert "terminated" in error["message"]
    missing = "/applications/nobody-00005/termination"
    assert_error(
        await served_api.http.post(missing, json=why, headers=as_("ops")), 404, "application_id"
    )


async def test_terminating_a_running_application_closes_its_open_tasks(
    served_api: Api, catalog: Catalog
) -> None:
    application_id = new_application_id()
    r = await served_api.http.post(
        "/applications", json=body_of(catalog, application_id), headers=as_("clerk-yc")
    )
    assert r.status_code == 201, r.text
    item = await under_review(served_api.http, application_id)
    task_id = item["open_task"]["task_id"]
    r = await served_api.http.post(
        f"/applications/{application_id}/termination",
        json={"reason": "测试数据, 误提交"},
        headers=as_("ops"),
    )
    assert r.status_code == 200, r.text
    [task] = [
        t
        for t in tasks_store.open_tasks(served_api.engine)
        + _closed(served_api.engine, application_id)
        if t.task_id == task_id
    ]
    assert (task.status, task.outcome, task.closed_by) == ("closed", "terminated", "ops")


def _closed(engine: Engine, application_id: str) -> list[tasks_store.StaffTask]:
    from sqlmodel import select

    from store.db import session

    with session(engine) as s:
        query = select(tasks_store.StaffTask).where(
            tasks_store.StaffTask.application_id == application_id
        )
        return list(s.exec(query))


async def test_typed_client_terminates_and_refuses_what_is_closed(
    served_api: Api, catalog: Catalog
) -> None:
    application_id = await poisoned(served_api, catalog)
    operator = Staff(staff_id="ops-2", role=Role.OPERATOR)
    with pytest.raises(ValidationError, match="operator"):
        Termination(operator=Staff(staff_id="rev", role=Role.REVIEWER), reason="误提交")
    await served_api.client.terminate(
        application_id, Termination(operator=operator, reason="误提交")
    )
    attributes = await terminated_event(served_api, application_id)
    assert attributes.identity == "ops-2" and "ops-2" in attributes.reason
    with pytest.raises(Conflict):
        await served_api.client.terminate(
            application_id, Termination(operator=operator, reason="再次")
        )
    with pytest.raises(NotFound):
        await served_api.client.terminate(
            "nobody-00006", Termination(operator=operator, reason="x")
        )


async def test_cli_terminates_with_reason_and_operator(
    served_api: Api,
    catalog: Catalog,
    ts_env: WorkflowEnvironment,
    cli_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from starter.cli import app as cli

    application_id = await poisoned(served_api, catalog)
    cli_reaches(monkeypatch, ts_env, served_api.engine, served_api.client.task_queue)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli, list(args))

    refused = await asyncio.to_thread(
        run, "terminate", application_id, "--reason", "误\u202e提交", "--operator", "ops-3"
    )
    assert refused.exit_code == 2 and "reason" in refused.output, refused.output
    done = await asyncio.to_thread(
        run, "terminate", application_id, "--reason", "输入无法读取", "--operator", "ops-3"
    )
    assert done.exit_code == 0, done.output
    assert f"{application_id}: 已由 ops-3 终止" in done.output, done.output
    attributes = await terminated_event(served_api, application_id)
    assert attributes.identity == "ops-3" and "输入无法读取" in attributes.reason
    again = await asyncio.to_thread(
        run, "terminate", application_id, "--reason", "再次", "--operator", "ops-3"
    )
    assert again.exit_code != 0 and "status" in again.output
