"""Credit that can be repaired: whose record it is (ID number or credit code), who reads a
standing, an objection (异议) and its decision, credit repair (信用修复), each recorded and
each lifting or keeping the bar the workflow's credit look-up reports — through the API on
a real worker and the time-skipping server, and through the command line."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import ValidationError
from sqlalchemy import Engine, text
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from activities.credit import CreditActivities
from domain.application import ApplicationState, ApplicationStatus, Submission, Withdrawal
from domain.catalog import Catalog
from domain.credit import (
    CreditAction,
    CreditActionRefused,
    CreditEntry,
    CreditIdentity,
    CreditRecordKind,
    CreditStanding,
    RecordStatus,
    after,
    credit_subject,
)
from domain.people import Applicant, resident_id_check_digit
from domain.uscc import check_character, is_valid
from onething.keys import configured_subject_keys
from starter.auth import TokenRegistry, applicant_ref
from store import credit, migrate
from store.db import make_engine
from tests import conftest
from tests.conftest import api_over, new_application_id
from tests.desk import full_submission, wait_for_assessment

HALL = "yicheng-center"
ENTERPRISE = "91350100M000100Y43"
# Valid as a resident ID number and as a credit code at once: the two must never meet.
BOTH = "110105199001010299"


def fresh_id() -> str:
    """A made-up ID number of this run alone (18 000 birth dates x 1000 sequences)."""
    birth = date(1950, 1, 1) + timedelta(days=secrets.randbelow(18_000))
    first17 = f"420684{birth:%Y%m%d}{secrets.randbelow(1000):03d}"
    return first17 + resident_id_check_digit(first17)


def fresh_code() -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    first17 = "91420684" + "".join(secrets.choice(alphabet) for _ in range(9))
    return first17 + check_character(first17)


def person(id_number: str, credit_code: str | None = None) -> Applicant:
    return Applicant.model_validate(
        {"name": "测试", "id_number": id_number, "phone": "13900000001", "credit_code": credit_code}
    )


def record(engine: Engine, who: Applicant | str, kind: CreditRecordKind, **extra: Any) -> int:
    row = credit.record(
        engine,
        CreditEntry(
            subject=credit_subject(who),
            kind=kind,
            application_id=extra.get("application_id", new_application_id()),
            item_code=extra.get("item_code", "food-business-license"),
            recorded_at=datetime(2026, 6, 1, 2, 0, tzinfo=UTC),
            detail="容缺材料逾期未补齐",
        ),
    )
    assert row.id is not None
    return row.id


# -- whose record: the subject --------------------------------------------------------------


def test_a_person_is_filed_under_the_id_number_an_enterprise_under_its_credit_code() -> None:
    id_number = fresh_id()
    assert is_valid(BOTH) and person(BOTH).id_number == BOTH
    # What the workflows pass today (a string) is what an applicant without a code gives.
    assert credit_subject(person(id_number)) == credit_subject(id_number)
    assert credit_subject(CreditIdentity(id_number=id_number)) == credit_subject(id_number)
    enterprise = person(id_number, ENTERPRISE)
    assert credit_subject(enterprise) == credit_subject(CreditIdentity(credit_code=ENTERPRISE))
    assert credit_subject(enterprise) != credit_subject(id_number)
    assert credit_subject(CreditIdentity(credit_code=BOTH)) != credit_subject(
        CreditIdentity(id_number=BOTH)
    )


def test_an_applicants_credit_code_is_optional_and_checked() -> None:
    old = {"name": "王五", "id_number": BOTH, "phone": "13900000001", "enterprise_name": "某店"}
    assert Applicant.model_validate_json(json.dumps(old)).credit_code is None
    assert Applicant.model_validate(old).credit_code is None
    given = Applicant.model_validate({**old, "credit_code": " 91350100m000100y43 "})
    assert given.credit_code == ENTERPRISE
    with pytest.raises(ValidationError) as refused:
        Applicant.model_validate({**old, "credit_code": "91350100M000100Y44"})
    [error] = refused.value.errors()
    assert error["loc"] == ("credit_code",) and "check character" in error["msg"]
    assert "91350100M000100Y44" not in str(error["msg"])
    with pytest.raises(ValidationError, match="exactly one"):
        CreditIdentity(id_number=BOTH, credit_code=ENTERPRISE)
    with pytest.raises(ValidationError, match="exactly one"):
        CreditIdentity()


def test_what_each_status_allows() -> None:
    A, OBJ, R, C = (RecordStatus.ACTIVE, RecordStatus.OBJECTED, RecordStatus.REPAIRED,
                    RecordStatus.CORRECTED)  # fmt: skip
    assert after(A, CreditAction.OBJECTED) is OBJ
    assert after(OBJ, CreditAction.OBJECTION_UPHELD) is C
    assert after(OBJ, CreditAction.OBJECTION_REJECTED) is A
    assert after(A, CreditAction.REPAIRED) is R
    refused = [
        (OBJ, CreditAction.OBJECTED, False, "pending"),
        (A, CreditAction.OBJECTED, True, "rejected already"),
        (A, CreditAction.OBJECTION_UPHELD, False, "no pending objection"),
        (OBJ, CreditAction.REPAIRED, False, "decide it first"),
        (R, CreditAction.OBJECTED, False, "repaired already"),
        (C, CreditAction.REPAIRED, False, "corrected"),
    ]
    for status, action, rejected_before, why in refused:
        with pytest.raises(CreditActionRefused, match=why):
            after(status, action, rejected_before=rejected_before)
    assert [s for s in RecordStatus if s.bars] == [A, OBJ]


def test_the_workflows_explanation_names_records_in_chinese() -> None:
    standing = CreditStanding(subject="x", open_records=[CreditRecordKind.BROKEN_PLEDGE])
    assert standing.barred and "容缺受理承诺未履行" in standing.explain()
    assert "broken_pledge" not in standing.explain()


# -- the store: statuses of records written before, and the events ---------------------------


def test_records_written_before_revision_0010_get_their_status(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0009")
    with engine.begin() as c:  # rows as revision 0009's table holds them
        for n, repaired in ((1, None), (2, datetime(2026, 7, 1, tzinfo=UTC))):
            c.execute(
                text(
                    "INSERT INTO credit_records (id, subject, subject_key_id, kind,"
                    " application_id, item_code, recorded_at, detail, repaired_at)"
                    " VALUES (:n, 's', 'k', 'broken_pledge', :app, '', :at, 'd', :repaired)"
                ),
                {
                    "n": n,
                    "app": f"OLD-{n}",
                    "at": datetime(2026, 6, 1, tzinfo=UTC),
                    "repaired": repaired,
                },
            )
    migrate.upgrade(engine)
    assert [credit.record_facts(engine, n).status for n in (1, 2)] == [  # type: ignore[union-attr]
        RecordStatus.ACTIVE,
        RecordStatus.REPAIRED,
    ]
    engine.dispose()


# -- the API ---------------------------------------------------------------------------------

PERSON_A, PERSON_B, PERSON_C = fresh_id(), fresh_id(), fresh_id()


def _token(name: str) -> str:
    return f"credit-test-token-{name}-0123456789"


KEYS = configured_subject_keys()
REGISTRY = TokenRegistry.from_document(
    {
        "tokens": [
            {**e, "token": _token(e["name"])}
            for e in [
                {"name": "clerk-yc", "role": "window_clerk", "hall": HALL},
                {"name": "rev-market", "role": "reviewer", "department": "market"},
                {"name": "insp-market", "role": "inspector", "department": "market"},
                {"name": "head-market", "role": "department_head", "department": "market"},
                {"name": "sup", "role": "supervisor"},
                {"name": "audit", "role": "auditor"},
                {"name": "ops", "role": "operator"},
                {
                    "name": "app-a",
                    "role": "applicant",
                    "applicant_ref": applicant_ref(KEYS, PERSON_A),
                },
                {
                    "name": "app-b",
                    "role": "applicant",
                    "applicant_ref": applicant_ref(KEYS, PERSON_B),
                },
            ]
        ]
    },
    subject_keys=KEYS,
)


def as_(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(name)}"}


class Api(conftest.Api):
    """The API with the credit desk's calls."""

    async def standing(self, who: str, **identity: str) -> httpx.Response:
        return await self.http.post("/credit/standing/lookup", json=identity, headers=as_(who))

    async def post(self, who: str, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post(path, json=body, headers=as_(who))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> AsyncIterator[Api]:
    async with api_over(ts_env, store_engine, catalog, REGISTRY, codec=None) as api:
        yield Api(api.http, api.client, api.engine, api.app)


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


async def test_who_reads_a_credit_standing(api: Api) -> None:
    barring = record(api.engine, PERSON_A, CreditRecordKind.BROKEN_PLEDGE)
    for who in ("clerk-yc", "rev-market", "insp-market", "head-market", "sup", "audit", "app-a"):
        r = await api.standing(who, id_number=PERSON_A)
        assert r.status_code == 200, (who, r.text)
        assert PERSON_A not in r.text
    standing = r.json()
    assert standing["barred"] and standing["deficiency_barred"] and standing["commitment_barred"]
    assert standing["barred_by"] == [barring] and standing["subject_kind"] == "person"
    [shown] = standing["records"]
    assert (shown["kind"], shown["status"], shown["item_code"]) == (
        "broken_pledge",
        "active",
        "food-business-license",
    )
    assert shown["item_name"] and shown["recorded_at"] == "2026-06-01T02:00:00Z"
    assert shown["recorded_at_local"] == "2026-06-01 10:00"  # Beijing time
    assert "不适用容缺受理和告知承诺" in standing["explanation"]
    assert "broken_pledge" not in standing["explanation"]

    refused = {
        "ops": "credit standings are for",
        "app-b": "only the standing under their own ID",
    }
    for who, why in refused.items():
        assert why in error_of(await api.standing(who, id_number=PERSON_A), 403)["message"]
    assert "own ID" in error_of(await api.standing("app-a", credit_code=ENTERPRISE), 403)["message"]
    assert (
        await api.http.post("/credit/standing/lookup", json={"id_number": PERSON_A})
    ).status_code == 401

    wrong = PERSON_A[:17] + ("0" if PERSON_A[17] != "0" else "1")
    error = error_of(await api.standing("sup", id_number=wrong), 422)
    assert [f["field"] for f in error["fields"]] == ["id_number"] and wrong not in str(error)
    assert error_of(await api.standing("sup", id_number=PERSON_A, credit_code=ENTERPRISE), 422)
    clean = await api.standing("sup", id_number=fresh_id())
    assert clean.json()["barred"] is False and clean.json()["records"] == []
    assert clean.json()["explanation"].startswith("信用良好")


async def test_an_objection_keeps_the_bar_until_decided_and_a_repair_lifts_it(api: Api) -> None:
    subject = credit_subject(PERSON_B)
    first = record(api.engine, PERSON_B, CreditRecordKind.BROKEN_PLEDGE)
    someone_elses = record(api.engine, fresh_id(), CreditRecordKind.REVOCATION)
    standing_activity = CreditActivities(api.engine).credit_standing

    objection = {"id_number": PERSON_B, "reason": "材料已按期邮寄送达"}
    assert (
        "may object only to their own"
        in error_of(await api.post("app-a", f"/credit/records/{first}/objection", objection), 403)[
            "message"
        ]
    )
    assert (
        "only the applicant or a window clerk"
        in error_of(
            await api.post("rev-market", f"/credit/records/{first}/objection", objection), 403
        )["message"]
    )
    # Another's record under one's own ID number is as unknown as a record that is not there.
    not_theirs = error_of(
        await api.post("app-b", f"/credit/records/{someone_elses}/objection", objection), 404
    )
    assert not_theirs["fields"][0]["field"] == "record_id"
    error_of(await api.post("app-b", "/credit/records/2147483647/objection", objection), 404)

    objected = await api.post("app-b", f"/credit/records/{first}/objection", objection)
    assert objected.status_code == 200, objected.text
    assert (objected.json()["status"], objected.json()["bars"]) == ("objected", True)
    assert objected.json()["status_text"] == "异议处理中"
    assert standing_activity(subject).barred  # the bar stays until decided
    standing = (await api.standing("app-b", id_number=PERSON_B)).json()
    assert standing["barred_by"] == [first] and "异议处理中" in standing["explanation"]
    error_of(await api.post("app-b", f"/credit/records/{first}/objection", objection), 409)
    repair = {"basis": "已补齐材料, 提交信用修复承诺书"}
    assert (
        "decide it first"
        in error_of(await api.post("sup", f"/credit/records/{first}/repair", repair), 409)[
            "message"
        ]
    )

    reject = {"verdict": "rejected", "reason": "回执日期晚于期限"}
    for who in ("clerk-yc", "audit", "app-b"):
        error_of(await api.post(who, f"/credit/records/{first}/objection/decision", reject), 403)
    rejected = await api.post("sup", f"/credit/records/{first}/objection/decision", reject)
    assert rejected.json()["status"] == "active" and standing_activity(subject).barred
    assert (
        "rejected already"
        in error_of(await api.post("app-b", f"/credit/records/{first}/objection", objection), 409)[
            "message"
        ]
    )
    error_of(await api.post("sup", f"/credit/records/{first}/objection/decision", reject), 409)

    for who in ("clerk-yc", "head-market", "audit", "app-b"):
        error_of(await api.post(who, f"/credit/records/{first}/repair", repair), 403)
    repaired = await api.post("sup", f"/credit/records/{first}/repair", repair)
    assert (repaired.json()["status"], repaired.json()["bars"]) == ("repaired", False)
    assert not standing_activity(subject).barred
    error_of(await api.post("sup", f"/credit/records/{first}/repair", repair), 409)

    standing = (await api.standing("clerk-yc", id_number=PERSON_B)).json()
    assert standing["barred"] is False and standing["barred_paths"] == []
    [shown] = standing["records"]
    assert [(e["action"], e["by"], e["role"], e["reason"]) for e in shown["events"]] == [
        ("objected", "app-b", "applicant", "材料已按期邮寄送达"),
        ("objection_rejected", "sup", "supervisor", "回执日期晚于期限"),
        ("repaired", "sup", "supervisor", "已补齐材料, 提交信用修复承诺书"),
    ]
    assert all(e["at"].endswith("Z") or e["at"].endswith("+00:00") for e in shown["events"])
    assert shown["events"][2]["action_text"] == "信用修复"
    # Someone else's record was touched by none of it.
    assert credit.record_facts(api.engine, someone_elses).status is RecordStatus.ACTIVE  # type: ignore[union-attr]


async def test_an_objection_upheld_corrects_the_record(api: Api) -> None:
    code = fresh_code()
    enterprise = person(PERSON_C, code)
    wrong = record(api.engine, enterprise, CreditRecordKind.FALSE_COMMITMENT)
    # The representative's own standing is another subject's.
    assert (await api.standing("sup", id_number=PERSON_C)).json()["records"] == []
    standing = (await api.standing("rev-market", credit_code=code)).json()
    assert standing["subject_kind"] == "enterprise" and standing["barred_by"] == [wrong]

    by_clerk = {"credit_code": code, "reason": "核查对象并非本企业"}
    assert (
        await api.post("clerk-yc", f"/credit/records/{wrong}/objection", by_clerk)
    ).status_code == 200
    upheld = await api.post(
        "sup",
        f"/credit/records/{wrong}/objection/decision",
        {"verdict": "upheld", "reason": "核查记录张冠李戴"},
    )
    assert (upheld.json()["status"], upheld.json()["bars"]) == ("corrected", False)
    assert not CreditActivities(api.engine).credit_standing(credit_subject(enterprise)).barred
    error_of(await api.post("sup", f"/credit/records/{wrong}/repair", {"basis": "x"}), 409)
    standing = (await api.standing("audit", credit_code=code)).json()
    assert standing["barred"] is False and "已修复或已更正" in standing["explanation"]
    assert standing["records"][0]["status_text"] == "异议成立，已更正"


# -- through a real workflow ------------------------------------------------------------------


async def test_a_repaired_applicant_is_offered_the_deficiency_path_again(
    api: Api, catalog: Catalog
) -> None:
    applicant = person(fresh_id())
    barring = record(api.engine, applicant, CreditRecordKind.BROKEN_PLEDGE)

    def pledged() -> Submission:
        return full_submission(
            catalog,
            "food-business-license",
            new_application_id(),
            applicant,
            leave_out=("equipment-layout",),
            pledge=True,
        )

    async def submitted() -> ApplicationState:
        submission = pledged()
        await api.client.submit(submission)
        state = await wait_for_assessment(api.client, submission.application_id)
        await api.client.withdraw(submission.application_id, Withdrawal(reason="test over"))
        return state

    identity = {"id_number": applicant.id_number}
    said = {**identity, "reason": "材料已按期送达"}
    assert (
        await api.post("clerk-yc", f"/credit/records/{barring}/objection", said)
    ).status_code == 200
    while_objected = await submitted()
    decision = {"verdict": "rejected", "reason": "无送达凭证"}
    await api.post("sup", f"/credit/records/{barring}/objection/decision", decision)
    before = await submitted()
    repaired = await api.post(
        "sup", f"/credit/records/{barring}/repair", {"basis": "修复申请已核准"}
    )
    assert repaired.status_code == 200, repaired.text
    after_repair = await submitted()

    # Refused the deficiency path while objected and after the rejection: a correction notice.
    for refused in (while_objected, before):
        assert refused.status is ApplicationStatus.AWAITING_CORRECTION
        assert refused.notice is not None
        assert [m.code for m in refused.notice.missing] == ["equipment-layout"]
    # Repaired: accepted with deficiency, the material due later.
    assert after_repair.status is ApplicationStatus.AWAITING_SUPPLEMENT
    assert [m.code for m in after_repair.outstanding] == ["equipment-layout"]


async def test_an_enterprise_is_looked_up_under_its_code_not_its_representative(
    api: Api, catalog: Catalog
) -> None:
    representative = fresh_id()
    enterprise = person(representative, fresh_code())
    barring = record(api.engine, enterprise, CreditRecordKind.FALSE_COMMITMENT)

    async def assessed(applicant: Applicant) -> ApplicationState:
        submission = full_submission(
            catalog,
            "food-business-license",
            new_application_id(),
            applicant,
            leave_out=("equipment-layout",),
            pledge=True,
        )
        await api.client.submit(submission)
        state = await wait_for_assessment(api.client, submission.application_id)
        await api.client.withdraw(submission.application_id, Withdrawal(reason="test over"))
        return state

    # The enterprise's record bars the enterprise: told to correct, no deficiency path.
    barred = await assessed(enterprise)
    assert barred.status is ApplicationStatus.AWAITING_CORRECTION
    # The same representative applying as a person has a clean record of their own.
    as_person = await assessed(person(representative))
    assert as_person.status is ApplicationStatus.AWAITING_SUPPLEMENT
    # Repaired, the enterprise is trusted again.
    repaired = await api.post("sup", f"/credit/records/{barring}/repair", {"basis": "已整改"})
    assert repaired.status_code == 200, repaired.text
    assert (await assessed(enterprise)).status is ApplicationStatus.AWAITING_SUPPLEMENT


# -- the command line -------------------------------------------------------------------------


def test_the_command_line_reads_objects_decides_and_repairs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from starter.cli import app as cli

    url = f"sqlite:///{tmp_path / 'credit.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ONETHING_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ONETHING_SUBJECT_KEYS", raising=False)
    monkeypatch.delenv("ONETHING_SUBJECT_KEYS_FILE", raising=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    id_number = fresh_id()
    first = record(engine, id_number, CreditRecordKind.BROKEN_PLEDGE)

    def run(*args: str, stdin: str | None = None, code: int = 0) -> Result:
        result = CliRunner().invoke(cli, ["credit", *args], input=stdin, env={"COLUMNS": "200"})
        assert result.exit_code == code, (result.stdout, result.stderr)
        assert id_number not in result.stdout + result.stderr
        return result

    standing = json.loads(run("standing", "--json", stdin=id_number + "\n").stdout)
    assert standing["barred_by"] == [first]
    shown = run("standing", stdin=id_number + "\n").stdout
    assert "不适用容缺受理和告知承诺" in shown and "2026-06-01 10:00" in shown
    assert "+00:00" not in shown
    # The ID number is never an argument.
    assert "not as an argument" in run("standing", id_number, code=2).stderr
    assert (
        "not as an argument"
        in run("object", str(first), id_number, "--reason", "x", "--clerk", "c-1", code=2).stderr
    )
    assert "id_number" in run("standing", stdin="\n", code=2).stderr
    assert "check digit" in run("standing", stdin=id_number[:17] + "Y\n", code=2).stderr

    objected = run(
        "object", str(first), "--reason", "已按期补齐", "--clerk", "clerk-1", "--json",
        stdin=id_number + "\n",
    )  # fmt: skip
    assert json.loads(objected.stdout)["status"] == "objected"
    other = fresh_id()
    assert (
        "there is no credit record"
        in run(
            "object", str(first), "--reason", "x", "--clerk", "clerk-1", stdin=other + "\n", code=2
        ).stderr
    )
    decided = run(
        "decide-objection", str(first), "--verdict", "rejected", "--reason", "无凭证",
        "--supervisor", "sup-1",
    ).stdout  # fmt: skip
    assert "有效" in decided and "异议不成立" in decided
    assert "no pending objection" in run(
        "decide-objection", str(first), "--verdict", "upheld", "--reason", "x",
        "--supervisor", "sup-1", code=2,
    ).stderr  # fmt: skip
    assert (
        "basis" in run("repair", str(first), "--basis", " ", "--supervisor", "sup-1", code=2).stderr
    )
    repaired = json.loads(
        run("repair", str(first), "--basis", "修复已核准", "--supervisor", "sup-1", "--json").stdout
    )
    assert (repaired["status"], repaired["bars"]) == ("repaired", False)
    assert [e["by"] for e in repaired["events"]] == ["clerk-1", "sup-1", "sup-1"]
    assert json.loads(run("standing", "--json", stdin=id_number + "\n").stdout)["barred"] is False
    engine.dispose()
