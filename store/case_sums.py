"""The KPI read model summed per Beijing day and per Beijing month, so a report over
100,000 cases reads a few thousand rows instead of scanning the cases and items.

`kpi_sums` holds the per-case and per-item counters of `kpi_cases`/`kpi_items` at three
grains, told apart by which key columns are set:

- department '' and item '': every case once;
- department D, item '': the cases with an item of D, each once (what a department filter
  or the by-department figures count);
- department D, item I: the cases with item I, and I's own counters.

`kpi_days` holds how many decided items took each number of working days (the p50/p90).

Each key has a `span`: 'day' rows keyed by the day received, 'month' rows by the first day
of its month. A report over whole months reads month rows, and day rows only for the days
at the edges of its period.

The sums are written in the same transaction as the facts (`store.case_facts.write`):
the case's old contribution is taken out, its new one put in, so they are never stale.
They are computed in SQL from the fact rows themselves, with one definition for a single
case and for a full rebuild. Any other change to the fact tables (a test that empties them,
a hand-run DELETE, a bulk load) makes them stale. Triggers of migration 0017 count every
change in `kpi_state.facts`, and `write` sets `kpi_state.summed` to that count. While the
two differ, reports count from the facts directly, and the next `write` (or `rebuild`)
sums everything again.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Date,
    Engine,
    Integer,
    String,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Field, SQLModel

from store.case_facts import CaseFact, ItemFact

__all__ = [
    "CASE_KEYS",
    "ITEM_KEYS",
    "CaseSum",
    "DaySum",
    "SumState",
    "add",
    "beijing_day",
    "case_aggregates",
    "count_if",
    "current",
    "item_aggregates",
    "lock",
    "prune",
    "rebuild",
    "settle",
]

_C = cast(Table, CaseFact.__table__)  # type: ignore[attr-defined]
_I = cast(Table, ItemFact.__table__)  # type: ignore[attr-defined]
_OPEN_STATUSES = ("submitted", "awaiting_correction", "awaiting_supplement", "in_progress")


def count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _total(column: Any, condition: Any = None) -> Any:
    value = column if condition is None else case((condition, column), else_=0)
    return func.coalesce(func.sum(value), 0)


def case_aggregates() -> list[Any]:
    """What is counted per case, in the order of `CASE_KEYS`."""
    accepted = _C.c.accepted_at.is_not(None)
    return [
        func.count(),
        count_if(accepted),
        count_if(_C.c.status == "refused"),
        count_if(_C.c.status == "lapsed"),
        count_if(_C.c.corrected),
        count_if(_C.c.status.in_(_OPEN_STATUSES)),
        _total(_C.c.escalations_1),
        _total(_C.c.escalations_2),
        _total(_C.c.trips, accepted),
        _total(_C.c.materials, accepted),
        _total(_C.c.steps, accepted),
        count_if(_C.c.pledge == "kept"),
        count_if(_C.c.pledge == "broken"),
        count_if(_C.c.pledge == "open"),
    ]


CASE_KEYS = (
    "cases",
    "accepted",
    "refused",
    "lapsed",
    "corrected",
    "open",
    "case_esc_1",
    "case_esc_2",
    "trips",
    "materials",
    "steps",
    "pledges_kept",
    "pledges_broken",
    "pledges_open",
)


def item_aggregates() -> list[Any]:
    """What is counted per item, in the order of `ITEM_KEYS` (overdue depends on the
    report's as_of, so it is never summed ahead)."""
    decided = _I.c.decision_days.is_not(None)
    return [
        func.count(),
        count_if(decided),
        count_if(_I.c.promised_met.is_(True)),
        count_if(_I.c.promised_met.is_not(None)),
        count_if(_I.c.statutory_met.is_(True)),
        count_if(_I.c.statutory_met.is_not(None)),
        _total(_I.c.promised_days, decided),
        _total(_I.c.statutory_days, decided),
        _total(_I.c.escalations_1),
        _total(_I.c.escalations_2),
        count_if(_I.c.path == "commitment"),
        _total(_I.c.inspections_passed),
        _total(_I.c.inspections_failed),
        count_if(_I.c.false_commitment),
        count_if(_I.c.revoked),
    ]


ITEM_KEYS = (
    "items",
    "items_decided",
    "promised_hits",
    "promised_of",
    "statutory_hits",
    "statutory_of",
    "promised_sum",
    "statutory_sum",
    "item_esc_1",
    "item_esc_2",
    "commitment_items",
    "inspections_passed",
    "inspections_failed",
    "false_commitments",
    "revoked",
)


def _counter() -> Any:
    return Field(default=0, sa_column_kwargs={"nullable": False})


class CaseSum(SQLModel, table=True):
    __tablename__ = "kpi_sums"

    span: str = Field(primary_key=True, max_length=8)  # day / month
    day: date = Field(primary_key=True)  # the Beijing day received, or its month's first
    hall: str = Field(primary_key=True, max_length=64)
    target: str = Field(primary_key=True, max_length=64)
    is_bundle: bool = Field(primary_key=True)
    department: str = Field(primary_key=True, max_length=64)  # '' at the case grain
    item_code: str = Field(primary_key=True, max_length=64)  # '' unless the item grain
    cases: int = _counter()
    accepted: int = _counter()
    refused: int = _counter()
    lapsed: int = _counter()
    corrected: int = _counter()
    open: int = _counter()
    case_esc_1: int = _counter()
    case_esc_2: int = _counter()
    trips: int = _counter()
    materials: int = _counter()
    steps: int = _counter()
    pledges_kept: int = _counter()
    pledges_broken: int = _counter()
    pledges_open: int = _counter()
    items: int = _counter()
    items_decided: int = _counter()
    promised_hits: int = _counter()
    promised_of: int = _counter()
    statutory_hits: int = _counter()
    statutory_of: int = _counter()
    promised_sum: int = _counter()
    statutory_sum: int = _counter()
    item_esc_1: int = _counter()
    item_esc_2: int = _counter()
    commitment_items: int = _counter()
    inspections_passed: int = _counter()
    inspections_failed: int = _counter()
    false_commitments: int = _counter()
    revoked: int = _counter()


class DaySum(SQLModel, table=True):
    __tablename__ = "kpi_days"

    span: str = Field(primary_key=True, max_length=8)
    day: date = Field(primary_key=True)
    hall: str = Field(primary_key=True, max_length=64)
    target: str = Field(primary_key=True, max_length=64)
    is_bundle: bool = Field(primary_key=True)
    department: str = Field(primary_key=True, max_length=64)
    item_code: str = Field(primary_key=True, max_length=64)
    working_days: int = Field(primary_key=True)  # acceptance to decision, less paused
    items: int = _counter()


class SumState(SQLModel, table=True):
    """One row: `facts` counts the changes to the fact tables (triggers), `summed` the
    count the sums were last brought up to."""

    __tablename__ = "kpi_state"

    id: int = Field(primary_key=True)
    facts: int = _counter()
    summed: int = _counter()


_S = cast(Table, CaseSum.__table__)  # type: ignore[attr-defined]
_D = cast(Table, DaySum.__table__)  # type: ignore[attr-defined]
_STATE = cast(Table, SumState.__table__)  # type: ignore[attr-defined]
_KEY = ("span", "day", "hall", "target", "is_bundle", "department", "item_code")


# --------------------------------------------------------------------------- Beijing days


class beijing_day(FunctionElement[date]):
    """The Beijing (UTC+8) day of a UTC instant column."""

    type = Date()
    inherit_cache = True


class beijing_month(FunctionElement[date]):
    """The first day of the Beijing month of a UTC instant column."""

    type = Date()
    inherit_cache = True


@compiles(beijing_day, "sqlite")
def _day_sqlite(element: beijing_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '+8 hours')"


@compiles(beijing_month, "sqlite")
def _month_sqlite(element: beijing_month, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '+8 hours', 'start of month')"


@compiles(beijing_day, "postgresql")
def _day_postgresql(element: beijing_day, compiler: SQLCompiler, **kw: Any) -> str:
    at = compiler.process(element.clauses, **kw)
    return f"CAST(({at} AT TIME ZONE 'UTC') + INTERVAL '8 hours' AS DATE)"


@compiles(beijing_month, "postgresql")
def _month_postgresql(element: beijing_month, compiler: SQLCompiler, **kw: Any) -> str:
    at = compiler.process(element.clauses, **kw)
    return f"CAST(date_trunc('month', ({at} AT TIME ZONE 'UTC') + INTERVAL '8 hours') AS DATE)"


def days_of(received_at: datetime) -> tuple[date, date]:
    """The Beijing day of a UTC instant, and its month's first day (as the SQL computes)."""
    if received_at.tzinfo is not None:
        received_at = received_at.astimezone(UTC).replace(tzinfo=None)
    day = (received_at + timedelta(hours=8)).date()
    return day, day.replace(day=1)


# --------------------------------------------------------------------------- the sums


def _selects(one: bool) -> list[tuple[Table, Any]]:
    """Per span and grain, the SELECT of the contribution of one case (the parameter
    `application_id`) or of every case, its counters multiplied by the parameter `sign`."""
    case_id = bindparam("application_id", type_=String)
    cases_where = [_C.c.application_id == case_id if one else true()]
    items_where = [_I.c.application_id == case_id if one else true()]
    sign = bindparam("sign", type_=Integer)
    zeros = [literal(0)] * len(ITEM_KEYS)
    joined = _I.join(_C, _I.c.application_id == _C.c.application_id)
    departments = select(_I.c.application_id, _I.c.department).where(*items_where).distinct()
    having = departments.subquery()
    out: list[tuple[Table, Any]] = []
    for span, when in (("day", beijing_day), ("month", beijing_month)):
        day = when(_C.c.received_at)
        place = (literal(span), day, _C.c.hall, _C.c.target, _C.c.is_bundle)
        grouped = (day, _C.c.hall, _C.c.target, _C.c.is_bundle)
        signed_cases = [a * sign for a in case_aggregates()]
        out.append(
            (
                _S,
                select(*place, literal(""), literal(""), *signed_cases, *zeros)
                .where(*cases_where)
                .group_by(*grouped),
            )
        )
        out.append(
            (
                _S,
                select(*place, having.c.department, literal(""), *signed_cases, *zeros)
                .select_from(having.join(_C, having.c.application_id == _C.c.application_id))
                .where(*cases_where)
                .group_by(*grouped, having.c.department),
            )
        )
        out.append(
            (
                _S,
                select(
                    *place,
                    _I.c.department,
                    _I.c.item_code,
                    *signed_cases,
                    *[a * sign for a in item_aggregates()],
                )
                .select_from(joined)
                .where(*items_where)
                .group_by(*grouped, _I.c.department, _I.c.item_code),
            )
        )
        out.append(
            (
                _D,
                select(
                    *place,
                    _I.c.department,
                    _I.c.item_code,
                    _I.c.decision_days,
                    func.count() * sign,
                )
                .select_from(joined)
                .where(*items_where, _I.c.decision_days.is_not(None))
                .group_by(*grouped, _I.c.department, _I.c.item_code, _I.c.decision_days),
            )
        )
    return out


def _columns(table: Table) -> list[str]:
    return [c.name for c in table.columns]


@cache
def _upserts(dialect: str) -> list[Any]:
    """The statements that add one case's contribution to the sums (built once: building
    them costs more than running them)."""
    upsert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    out = []
    for table, query in _selects(one=True):
        statement = upsert(table).from_select(_columns(table), query)
        counters = [c for c in _columns(table) if c not in (*_KEY, "working_days")]
        out.append(
            statement.on_conflict_do_update(
                index_elements=list(table.primary_key.columns),
                set_={c: table.c[c] + statement.excluded[c] for c in counters},
            )
        )
    return out


def add(conn: Connection, application_id: str, sign: int) -> None:
    """Add (sign 1) or take out (sign -1) one case's rows as they stand now."""
    for statement in _upserts(conn.dialect.name):
        conn.execute(statement, {"application_id": application_id, "sign": sign})


def prune(conn: Connection, received_at: datetime) -> None:
    """Remove the rows a case taken out left empty (its day's and its month's)."""
    keys = days_of(received_at)
    conn.execute(delete(_S).where(_S.c.day.in_(keys), _S.c.cases == 0))
    conn.execute(delete(_D).where(_D.c.day.in_(keys), _D.c["items"] == 0))


def rebuild(conn: Connection) -> None:
    """Sum every case again (the migration, a bulk load, after a change behind `write`)."""
    conn.execute(delete(_S))
    conn.execute(delete(_D))
    for table, query in _selects(one=False):
        conn.execute(insert(table).from_select(_columns(table), query), {"sign": 1})
    settle(conn)


def lock(conn: Connection) -> bool:
    """Take the state row first (one writer of the sums at a time, in one lock order);
    True when the sums are current, so a case's change can be added to them."""
    conn.execute(update(_STATE).where(_STATE.c.id == 1).values(summed=_STATE.c.summed))
    row = conn.execute(select(_STATE.c.facts, _STATE.c.summed).where(_STATE.c.id == 1)).first()
    return row is not None and row.facts == row.summed


def settle(conn: Connection) -> None:
    """The sums now match the facts: remember the count of changes they match."""
    done = conn.execute(update(_STATE).where(_STATE.c.id == 1).values(summed=_STATE.c.facts))
    if not done.rowcount:
        conn.execute(insert(_STATE).values(id=1, facts=0, summed=0))


def current(engine: Engine) -> bool:
    """Whether the sums match the facts (else a report counts from the facts)."""
    with engine.connect() as conn:
        row = conn.execute(select(_STATE.c.facts, _STATE.c.summed).where(_STATE.c.id == 1)).first()
    return row is not None and row.facts == row.summed
