"""The KPI report (`GET /reports/kpis`, `onething report kpis`) and the reform figures
measured (`GET /reports/reform`, `onething report reform`), counted from the read model of
what happened per case (`store.case_facts`, projected by `onething.case_facts`), the ratings
from their own report (`starter.ratings.report`), the baselines from the catalog.

A case belongs to the period of the Beijing day it was received. A department or item
filter keeps the cases with an item of it and counts only those items. What each figure
compares is said in docs/reports.md; the reform table says it beside each row.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, cast

from pydantic import BaseModel, Field
from sqlalchemy import Engine, Table, and_, func, literal, or_, select

from domain.bundle import Measure, as_bundle, reductions
from domain.catalog import Catalog
from domain.rating import RatingFigures
from starter.ratings import report as ratings_report
from store import case_facts as facts
from store import case_sums as sums

__all__ = [
    "STORY",
    "Figures",
    "KpiReport",
    "ReformReport",
    "ReformRow",
    "kpi_report",
    "reform_report",
]

# The story's figures (People's Daily on Yicheng): averages per item, as published.
STORY: dict[str, float] = {"time": -63.7, "steps": -56.0, "trips": -73.3, "materials": -50.0}


class Figures(BaseModel):
    """The KPIs of one group of cases; a rate or mean is None when nothing counts."""

    cases: int
    accepted: int
    refused: int = Field(description="不予受理.")
    lapsed: int = Field(description="Not corrected in time: deemed withdrawn.")
    corrected: int = Field(description="Cases that got a correction notice (补正).")
    open: int
    items: int
    items_decided: int
    on_time_promised: float | None = Field(description="按时办结率 against the promised limit.")
    on_time_statutory: float | None = Field(description="按时办结率 against the statutory limit.")
    working_days_p50: float | None = Field(description="Acceptance to decision, less paused.")
    working_days_p90: float | None
    promised_days_mean: float | None = Field(description="The decided items' promised days.")
    statutory_days_mean: float | None
    overdue_now: int = Field(description="Undecided items past their promised due instant.")
    escalations_stage_1: int
    escalations_stage_2: int
    trips_per_case: float | None = Field(description="Window visits per accepted case.")
    materials_per_case: float | None = Field(description="Materials handed in per case.")
    steps_per_case: float | None
    pledges_kept: int = Field(description="容缺: materials supplemented in time.")
    pledges_broken: int
    pledges_open: int
    commitment_items: int = Field(description="告知承诺: items approved on commitment.")
    inspections_passed: int
    inspections_failed: int
    false_commitments: int
    revoked: int


class KpiReport(BaseModel):
    as_of: datetime = Field(description="ISO 8601 with offset: when overdue is judged.")
    since: date | None
    until: date | None
    hall: str | None
    department: str | None
    item_code: str | None
    bundle: str | None
    figures: Figures
    by_hall: dict[str, Figures]
    by_department: dict[str, Figures]
    by_item: dict[str, Figures]
    by_bundle: dict[str, Figures]
    ratings: RatingFigures = Field(description="From the ratings' report (好差评).")


def _day_start(day: date) -> datetime:
    """00:00 Beijing time of `day`, in UTC."""
    return datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=8)


def _rate(hits: int, of: int) -> float | None:
    return round(hits / of, 4) if of else None


_C = cast(Table, facts.CaseFact.__table__)  # type: ignore[attr-defined]
_I = cast(Table, facts.ItemFact.__table__)  # type: ignore[attr-defined]
_S = cast(Table, sums.CaseSum.__table__)  # type: ignore[attr-defined]
_D = cast(Table, sums.DaySum.__table__)  # type: ignore[attr-defined]


def _percentile(histogram: dict[int, int], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = max(1, math.ceil(p / 100 * total)), 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return float(value)
    return None  # not reached


def _figures(c: dict[str, int], i: dict[str, int], days: dict[int, int]) -> Figures:
    accepted = c.get("accepted", 0)
    decided = i.get("items_decided", 0)
    return Figures(
        cases=c.get("cases", 0),
        accepted=accepted,
        refused=c.get("refused", 0),
        lapsed=c.get("lapsed", 0),
        corrected=c.get("corrected", 0),
        open=c.get("open", 0),
        items=i.get("items", 0),
        items_decided=decided,
        on_time_promised=_rate(i.get("promised_hits", 0), i.get("promised_of", 0)),
        on_time_statutory=_rate(i.get("statutory_hits", 0), i.get("statutory_of", 0)),
        working_days_p50=_percentile(days, 50),
        working_days_p90=_percentile(days, 90),
        promised_days_mean=_ratio(i.get("promised_sum", 0), decided),
        statutory_days_mean=_ratio(i.get("statutory_sum", 0), decided),
        overdue_now=i.get("overdue_now", 0),
        escalations_stage_1=c.get("case_esc_1", 0) + i.get("item_esc_1", 0),
        escalations_stage_2=c.get("case_esc_2", 0) + i.get("item_esc_2", 0),
        trips_per_case=_ratio(c.get("trips", 0), accepted),
        materials_per_case=_ratio(c.get("materials", 0), accepted),
        steps_per_case=_ratio(c.get("steps", 0), accepted),
        pledges_kept=c.get("pledges_kept", 0),
        pledges_broken=c.get("pledges_broken", 0),
        pledges_open=c.get("pledges_open", 0),
        commitment_items=i.get("commitment_items", 0),
        inspections_passed=i.get("inspections_passed", 0),
        inspections_failed=i.get("inspections_failed", 0),
        false_commitments=i.get("false_commitments", 0),
        revoked=i.get("revoked", 0),
    )


_GROUPS = ("all", "by_hall", "by_department", "by_item", "by_bundle")
_Sums = dict[str, dict[str, int]]  # group key -> counter -> value


def _add(into: dict[str, int], row: dict[str, int]) -> None:
    for key, value in row.items():
        into[key] = into.get(key, 0) + value


def _ratio(total: int, of: int) -> float | None:
    return round(total / of, 2) if of else None


@dataclass(frozen=True)
class _Selection:
    since: date | None
    until: date | None
    hall: str | None
    department: str | None
    item_code: str | None
    bundle: str | None


@dataclass
class _Counts:
    """Per group (all, by hall, ...) and key: the case counters, the item counters and the
    histogram of working days."""

    cases: dict[str, _Sums] = field(default_factory=lambda: {k: defaultdict(dict) for k in _GROUPS})
    items: dict[str, _Sums] = field(default_factory=lambda: {k: defaultdict(dict) for k in _GROUPS})
    days: dict[str, dict[str, dict[int, int]]] = field(
        default_factory=lambda: {k: defaultdict(lambda: defaultdict(int)) for k in _GROUPS}
    )

    def add_items(self, keys: dict[str, str], row: dict[str, int]) -> None:
        for group, key in keys.items():
            _add(self.items[group][key], row)


def _keys(hall: str, target: str, is_bundle: bool, department: str, item: str) -> dict[str, str]:
    """The groups a row of the finest grain counts in."""
    keys = {"all": "all", "by_hall": hall, "by_department": department, "by_item": item}
    if is_bundle:
        keys["by_bundle"] = target
    return keys


def _case_filters(selection: _Selection) -> list[Any]:
    where: list[Any] = []
    if selection.since is not None:
        where.append(_C.c.received_at >= _day_start(selection.since))
    if selection.until is not None:
        where.append(_C.c.received_at < _day_start(selection.until + timedelta(days=1)))
    if selection.hall is not None:
        where.append(_C.c.hall == selection.hall)
    if selection.bundle is not None:
        where.append(_C.c.target == selection.bundle)
    return where


def _item_filters(selection: _Selection) -> list[Any]:
    where: list[Any] = []
    if selection.department is not None:
        where.append(_I.c.department == selection.department)
    if selection.item_code is not None:
        where.append(_I.c.item_code == selection.item_code)
    return where


def _overdue(as_of: datetime) -> Any:
    return sums.count_if((_I.c.outcome == "open") & (_I.c.promised_due_at < as_of))


def _from_facts(engine: Engine, selection: _Selection, as_of: datetime) -> _Counts:
    """Counted from the fact rows: four grouped scans, whatever the number of groups (the
    items at their finest grain, the cases per hall and target, and the cases once per
    item and once per department they have an item of), rolled up here."""
    case_where = _case_filters(selection)
    item_where = _item_filters(selection)
    if item_where:  # the cases with an item of the department or item
        case_where.append(_C.c.application_id.in_(select(_I.c.application_id).where(*item_where)))
    joined = _I.join(_C, _I.c.application_id == _C.c.application_id)
    fine = (_C.c.hall, _C.c.target, _C.c.is_bundle, _I.c.department, _I.c.item_code)
    days = _I.c.decision_days
    items_q = (
        select(*fine, days, *sums.item_aggregates(), _overdue(as_of))
        .select_from(joined)
        .where(*case_where, *item_where)
        .group_by(*fine, days)
    )
    cases_q = (
        select(_C.c.hall, _C.c.target, _C.c.is_bundle, *sums.case_aggregates())
        .where(*case_where)
        .group_by(_C.c.hall, _C.c.target, _C.c.is_bundle)
    )
    per_item_q = (
        select(_I.c.item_code, *sums.case_aggregates())
        .select_from(joined)
        .where(*case_where, *item_where)
        .group_by(_I.c.item_code)
    )
    having = select(_I.c.application_id, _I.c.department).where(*item_where).distinct().subquery()
    per_department_q = (
        select(having.c.department, *sums.case_aggregates())
        .select_from(having.join(_C, having.c.application_id == _C.c.application_id))
        .where(*case_where)
        .group_by(having.c.department)
    )
    counts = _Counts()
    item_keys = (*sums.ITEM_KEYS, "overdue_now")
    with engine.connect() as conn:
        for hall_, target, is_bundle, department, item, value, *numbers in conn.execute(items_q):
            row = dict(zip(item_keys, map(int, numbers), strict=True))
            keys = _keys(hall_, target, is_bundle, department, item)
            counts.add_items(keys, row)
            if value is not None:
                for group, key in keys.items():
                    counts.days[group][key][int(value)] += row["items_decided"]
        for hall_, target, is_bundle, *numbers in conn.execute(cases_q):
            row = dict(zip(sums.CASE_KEYS, map(int, numbers), strict=True))
            _add(counts.cases["all"]["all"], row)
            _add(counts.cases["by_hall"][hall_], row)
            if is_bundle:
                _add(counts.cases["by_bundle"][target], row)
        for group, query in (("by_item", per_item_q), ("by_department", per_department_q)):
            for key, *numbers in conn.execute(query):
                counts.cases[group][key] = dict(zip(sums.CASE_KEYS, map(int, numbers), strict=True))
    return counts


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _period(table: Table, since: date | None, until: date | None) -> Any:
    """The rows of the period: month rows for its whole months, day rows for the days
    before the first whole month and after the last."""
    first = since if since is None or since.day == 1 else _next_month(since)
    end = None if until is None else (until + timedelta(days=1)).replace(day=1)
    span, day = table.c.span, table.c.day
    if first is not None and end is not None and first >= end:  # no whole month
        return (span == "day") & (day >= since) & (day <= until)
    months = [span == "month"]
    edges = []
    if first is not None:
        months.append(day >= first)
        if since is not None and since < first:
            edges.append((day >= since) & (day < first))
    if end is not None:
        months.append(day < end)
        if until is not None and end <= until:
            edges.append((day >= end) & (day <= until))
    if not edges:
        return and_(*months)
    return or_(and_(*months), (span == "day") & or_(*edges))


def _from_sums(engine: Engine, selection: _Selection, as_of: datetime) -> _Counts:
    """Counted from the per-day and per-month sums (`store.case_sums`); only the items
    overdue at `as_of` are counted from the facts, being few and depending on as_of."""
    where = {t.name: [_period(t, selection.since, selection.until)] for t in (_S, _D)}
    for table in (_S, _D):
        if selection.hall is not None:
            where[table.name].append(table.c.hall == selection.hall)
        if selection.bundle is not None:
            where[table.name].append(table.c.target == selection.bundle)
        if selection.department is not None:
            where[table.name].append(table.c.department == selection.department)
        if selection.item_code is not None:
            where[table.name].append(table.c.item_code == selection.item_code)
    # The grains (see store.case_sums): each case once, once per department, once per item.
    item_grain = [*where[_S.name], _S.c.item_code != ""]
    department_grain = [*where[_S.name], _S.c.department != "", _S.c.item_code == ""]
    case_grain = [*where[_S.name], _S.c.department == ""]
    if selection.item_code is not None:
        whole, per_department = item_grain, item_grain
    elif selection.department is not None:
        whole, per_department = department_grain, department_grain
    else:
        whole, per_department = case_grain, department_grain
    by: dict[str, tuple[Any, ...]] = {
        "all": (),
        "by_hall": (_S.c.hall,),
        "by_department": (_S.c.department,),
        "by_item": (_S.c.item_code,),
        "by_bundle": (_S.c.target,),
    }
    case_grains = {"by_department": per_department, "by_item": item_grain}
    counts = _Counts()
    with engine.connect() as conn:
        for group, columns in by.items():
            bundles = [_S.c.is_bundle] if group == "by_bundle" else []
            for into, keys, grain in (
                (counts.cases, sums.CASE_KEYS, case_grains.get(group, whole)),
                (counts.items, sums.ITEM_KEYS, item_grain),
            ):
                query = (
                    select(*columns, *[func.sum(_S.c[k]) for k in keys])
                    .where(*grain, *bundles)
                    .group_by(*columns)
                )
                for row in conn.execute(query):
                    key, numbers = (row[0], row[1:]) if columns else ("all", row)
                    if numbers[0] is not None:  # no rows: no group
                        into[group][key] = dict(zip(keys, map(int, numbers), strict=True))
            column = _D.c[columns[0].name] if columns else literal("all")
            bundles = [_D.c.is_bundle] if group == "by_bundle" else []
            histogram = (
                select(column, _D.c.working_days, func.sum(_D.c["items"]))
                .where(*where[_D.name], *bundles)
                .group_by(column, _D.c.working_days)
            )
            for key, value, n in conn.execute(histogram):
                counts.days[group][key][int(value)] += int(n)
        fine = (_C.c.hall, _C.c.target, _C.c.is_bundle, _I.c.department, _I.c.item_code)
        overdue = (
            select(*fine, func.count())
            .select_from(_I.join(_C, _I.c.application_id == _C.c.application_id))
            .where(
                _I.c.outcome == "open",
                _I.c.promised_due_at < as_of,
                *_case_filters(selection),
                *_item_filters(selection),
            )
            .group_by(*fine)
        )
        for *place, n in conn.execute(overdue):
            counts.add_items(_keys(*place), {"overdue_now": int(n)})
    return counts


def kpi_report(
    engine: Engine,
    *,
    since: date | None = None,
    until: date | None = None,
    hall: str | None = None,
    department: str | None = None,
    item_code: str | None = None,
    bundle: str | None = None,
    as_of: datetime | None = None,
    source: Literal["auto", "sums", "facts"] = "auto",
) -> KpiReport:
    """Counted in the database from the per-day and per-month sums, so a report over
    100,000 cases reads a few thousand rows, not the cases; from the facts themselves
    while the sums are stale (`store.case_sums`), or when `source` says so."""
    if since is not None and until is not None and until < since:
        raise ValueError("until: is before since")
    as_of = as_of or datetime.now(UTC)
    selection = _Selection(since, until, hall, department, item_code, bundle)
    if source == "sums" or (source == "auto" and sums.current(engine)):
        counts = _from_sums(engine, selection, as_of)
    else:
        counts = _from_facts(engine, selection, as_of)
    out: dict[str, dict[str, Figures]] = {}
    for group in _GROUPS:
        names = sorted(set(counts.cases[group]) | set(counts.items[group]))
        out[group] = {
            name: _figures(
                counts.cases[group].get(name, {}),
                counts.items[group].get(name, {}),
                counts.days[group].get(name, {}),
            )
            for name in names
        }
    ratings = ratings_report(
        engine,
        since=since,
        until=until,
        hall=hall,
        department=department,
        item_code=item_code,
        as_of=as_of,
    )
    whole = out["all"].get("all") or _figures({}, {}, {})
    return KpiReport(
        as_of=as_of,
        since=since,
        until=until,
        hall=hall,
        department=department,
        item_code=item_code,
        bundle=bundle,
        figures=whole,
        by_hall=out["by_hall"],
        by_department=out["by_department"],
        by_item=out["by_item"],
        by_bundle=out["by_bundle"],
        ratings=ratings.figures,
    )


# --------------------------------------------------------------------------- the reform


class ReformRow(BaseModel):
    """One measure of one bundle: the item-by-item baseline, what the cases measured, what
    the catalog declares for the bundle, and the story's figure; each as a change in %."""

    measure: str
    baseline: float = Field(description="Item by item, from the catalog's per-item figures.")
    measured: float | None = Field(description="Mean per completed case of the bundle.")
    measured_percent: float | None
    declared: float = Field(description="The bundle's own figure (`report reductions`).")
    declared_percent: float
    story_percent: float | None
    compares: str


class BundleReform(BaseModel):
    bundle: str
    name: str
    cases: int = Field(description="Completed cases of the bundle in the period.")
    rows: list[ReformRow]


class ReformReport(BaseModel):
    catalog_version: str
    since: date | None
    until: date | None
    hall: str | None
    bundles: list[BundleReform]
    promised_vs_statutory_percent: float = Field(
        description="The catalog's items: promised days against statutory days, summed."
    )
    notes: list[str]


def _change(baseline: float, value: float | None) -> float | None:
    if value is None or not baseline:
        return None
    return round(100.0 * (value - baseline) / baseline, 1)


COMPARES = {
    "time": (
        "working days from acceptance to the last license, less paused time, against the sum "
        "of the items' promised days (what applying one after another would be promised)"
    ),
    "steps": "acts the case went through against the sum of the items' steps",
    "trips": "window visits made against the sum of the items' trips",
    "materials": "materials handed in against the items' materials asked one by one",
}
NOTES = [
    "The declared days figure compares a sum of promised limits with the critical path of "
    "the same limits: it is scheduling, not a saving in any item's own time.",
    "The story's −63.7% time is most likely promised against statutory limits; the "
    "catalog's promised days against its statutory days are given as "
    "promised_vs_statutory_percent.",
    "Measured figures are means over completed cases; the baseline is the catalog's "
    "per-item figures, not a baseline period of cases applied for one by one.",
]


def reform_report(
    engine: Engine,
    catalog: Catalog,
    *,
    since: date | None = None,
    until: date | None = None,
    hall: str | None = None,
) -> ReformReport:
    where: list[Any] = [_C.c.is_bundle, _C.c.status == "completed"]
    if since is not None:
        where.append(_C.c.received_at >= _day_start(since))
    if until is not None:
        where.append(_C.c.received_at < _day_start(until + timedelta(days=1)))
    if hall is not None:
        where.append(_C.c.hall == hall)
    # A case's time: acceptance to its last license (or decision), less paused time.
    last = (
        select(
            _I.c.application_id,
            func.max(func.coalesce(_I.c.license_days, _I.c.decision_days, 0)).label("days"),
        )
        .group_by(_I.c.application_id)
        .subquery()
    )
    query = (
        select(
            _C.c.target,
            func.count(),
            func.sum(_C.c.steps),
            func.sum(_C.c.trips),
            func.sum(_C.c.materials),
            func.sum(last.c.days),
            func.count(last.c.days),
        )
        .select_from(_C.outerjoin(last, last.c.application_id == _C.c.application_id))
        .where(*where)
        .group_by(_C.c.target)
    )
    with engine.connect() as conn:
        sums = {str(r[0]): [int(v or 0) for v in r[1:]] for r in conn.execute(query)}
    out: list[BundleReform] = []
    for code in catalog.bundles:
        bundle = as_bundle(catalog, code)
        declared = reductions(catalog, bundle)
        members = [catalog.item(c) for c in bundle.item_codes]
        n, steps, trips, materials, days, timed = sums.get(code, [0] * 6)
        measured = {
            "time": _ratio(days, timed),
            "steps": _ratio(steps, n),
            "trips": _ratio(trips, n),
            "materials": _ratio(materials, n),
        }
        measures = {
            "time": Measure.DAYS,
            "steps": Measure.STEPS,
            "trips": Measure.TRIPS,
            "materials": Measure.MATERIALS,
        }
        rows = []
        for name, measure in measures.items():
            row = declared.row(measure)
            baseline = float(row.one_by_one)
            if name == "time":
                baseline = float(sum(m.promised_days for m in members))
            rows.append(
                ReformRow(
                    measure=name,
                    baseline=baseline,
                    measured=measured[name],
                    measured_percent=_change(baseline, measured[name]),
                    declared=float(row.bundle),
                    declared_percent=0.0 - row.percent,
                    story_percent=STORY[name],
                    compares=COMPARES[name],
                )
            )
        out.append(BundleReform(bundle=code, name=bundle.name, cases=n, rows=rows))
    promised = sum(i.promised_days for i in catalog.items.values())
    statutory = sum(i.statutory_days for i in catalog.items.values())
    return ReformReport(
        catalog_version=catalog.version,
        since=since,
        until=until,
        hall=hall,
        bundles=out,
        promised_vs_statutory_percent=_change(statutory, promised) or 0.0,
        notes=NOTES,
    )
