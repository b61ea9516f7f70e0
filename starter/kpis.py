"""The KPI report (`GET /reports/kpis`, `onething report kpis`) and the reform figures
measured (`GET /reports/reform`, `onething report reform`), counted from the read model of
what happened per case (`store.case_facts`, projected by `starter.case_facts`), the ratings
from their own report (`starter.ratings.report`), the baselines from the catalog.

A case belongs to the period of the Beijing day it was received. A department or item
filter keeps the cases with an item of it and counts only those items. What each figure
compares is said in docs/reports.md; the reform table says it beside each row.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from pydantic import BaseModel, Field
from sqlalchemy import Engine, Table, select

from domain.bundle import Measure, as_bundle, reductions
from domain.catalog import Catalog
from domain.rating import RatingFigures
from starter.ratings import report as ratings_report
from store import case_facts as facts
from store.db import session

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


@dataclass(frozen=True)
class CaseRow:
    application_id: str
    target: str
    is_bundle: bool
    hall: str
    status: str
    accepted_at: datetime | None
    corrected: bool
    deficiency: bool
    pledge: str | None
    trips: int
    materials: int
    steps: int
    escalations_1: int
    escalations_2: int

    @property
    def accepted(self) -> bool:
        return self.accepted_at is not None


@dataclass(frozen=True)
class ItemRow:
    application_id: str
    item_code: str
    department: str
    outcome: str
    path: str | None
    promised_days: int
    statutory_days: int
    decision_days: int | None
    license_days: int | None
    promised_due_at: datetime | None
    promised_met: bool | None
    statutory_met: bool | None
    escalations_1: int
    escalations_2: int
    inspections_passed: int
    inspections_failed: int
    false_commitment: bool
    revoked: bool


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


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _percentile(sorted_values: Sequence[int], p: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least p% at or below it."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return float(sorted_values[rank - 1])


def _utc(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


_CASE_FIELDS = (
    "application_id",
    "target",
    "is_bundle",
    "hall",
    "status",
    "accepted_at",
    "corrected",
    "deficiency",
    "pledge",
    "trips",
    "materials",
    "steps",
    "escalations_1",
    "escalations_2",
)
_ITEM_FIELDS = (
    "application_id",
    "item_code",
    "department",
    "outcome",
    "path",
    "promised_days",
    "statutory_days",
    "decision_days",
    "license_days",
    "promised_due_at",
    "promised_met",
    "statutory_met",
    "escalations_1",
    "escalations_2",
    "inspections_passed",
    "inspections_failed",
    "false_commitment",
    "revoked",
)


def load(
    engine: Engine,
    *,
    since: date | None = None,
    until: date | None = None,
    hall: str | None = None,
    bundle: str | None = None,
) -> tuple[list[CaseRow], list[ItemRow]]:
    """The cases received in [since, until] (Beijing days) at `hall` for `bundle`, and
    their items: plain tuples, one query each (what a report over 100,000 cases needs)."""
    cases_t = cast(Table, facts.CaseFact.__table__)  # type: ignore[attr-defined]
    items_t = cast(Table, facts.ItemFact.__table__)  # type: ignore[attr-defined]
    received = cases_t.c.received_at
    where: list[Any] = []
    if since is not None:
        where.append(received >= _day_start(since))
    if until is not None:
        where.append(received < _day_start(until + timedelta(days=1)))
    if hall is not None:
        where.append(cases_t.c.hall == hall)
    if bundle is not None:
        where.append(cases_t.c.target == bundle)
    case_columns: list[Any] = [cases_t.c[n] for n in _CASE_FIELDS]
    item_columns: list[Any] = [items_t.c[n] for n in _ITEM_FIELDS]
    joined = items_t.c.application_id == cases_t.c.application_id
    with session(engine) as s:
        conn = s.connection()
        case_rows = []
        for r in conn.execute(select(*case_columns).where(*where)):
            values: tuple[Any, ...] = tuple(r)
            case_rows.append(CaseRow(*values))
        item_rows = []
        for r in conn.execute(select(*item_columns).join(cases_t, joined).where(*where)):
            values = tuple(r)
            item_rows.append(ItemRow(*values))
    return case_rows, item_rows


_CLOSED_STATUSES = frozenset(
    {"completed", "rejected", "stopped", "withdrawn", "cancelled", "revoked", "refused", "lapsed"}
)


def figures(cases: Sequence[CaseRow], items: Sequence[ItemRow], as_of: datetime) -> Figures:
    accepted = [c for c in cases if c.accepted]
    decided = [i for i in items if i.decision_days is not None]
    promised = [i.promised_met for i in items if i.promised_met is not None]
    statutory = [i.statutory_met for i in items if i.statutory_met is not None]
    days = sorted(i.decision_days for i in decided if i.decision_days is not None)
    return Figures(
        cases=len(cases),
        accepted=len(accepted),
        refused=sum(c.status == "refused" for c in cases),
        lapsed=sum(c.status == "lapsed" for c in cases),
        corrected=sum(c.corrected for c in cases),
        open=sum(c.status not in _CLOSED_STATUSES for c in cases),
        items=len(items),
        items_decided=len(decided),
        on_time_promised=_rate(sum(promised), len(promised)),
        on_time_statutory=_rate(sum(statutory), len(statutory)),
        working_days_p50=_percentile(days, 50),
        working_days_p90=_percentile(days, 90),
        promised_days_mean=_mean([i.promised_days for i in decided]),
        statutory_days_mean=_mean([i.statutory_days for i in decided]),
        overdue_now=sum(
            i.outcome == "open" and (_utc(i.promised_due_at) or as_of) < as_of for i in items
        ),
        escalations_stage_1=sum(c.escalations_1 for c in cases)
        + sum(i.escalations_1 for i in items),
        escalations_stage_2=sum(c.escalations_2 for c in cases)
        + sum(i.escalations_2 for i in items),
        trips_per_case=_mean([c.trips for c in accepted]),
        materials_per_case=_mean([c.materials for c in accepted]),
        steps_per_case=_mean([c.steps for c in accepted]),
        pledges_kept=sum(c.pledge == "kept" for c in cases),
        pledges_broken=sum(c.pledge == "broken" for c in cases),
        pledges_open=sum(c.pledge == "open" for c in cases),
        commitment_items=sum(i.path == "commitment" for i in items),
        inspections_passed=sum(i.inspections_passed for i in items),
        inspections_failed=sum(i.inspections_failed for i in items),
        false_commitments=sum(i.false_commitment for i in items),
        revoked=sum(i.revoked for i in items),
    )


def _by_items(
    cases: Sequence[CaseRow], items: Sequence[ItemRow], key: str, as_of: datetime
) -> dict[str, Figures]:
    """Figures per department or item: its items, and the cases that have one."""
    by_case = {c.application_id: c for c in cases}
    groups: dict[str, list[ItemRow]] = defaultdict(list)
    for item in items:
        groups[getattr(item, key)].append(item)
    out = {}
    for name, group in sorted(groups.items()):
        ids = {i.application_id for i in group}
        out[name] = figures([by_case[a] for a in ids if a in by_case], group, as_of)
    return out


def _by_cases(
    cases: Iterable[CaseRow], items: Sequence[ItemRow], key: str, as_of: datetime
) -> dict[str, Figures]:
    groups: dict[str, list[CaseRow]] = defaultdict(list)
    for case in cases:
        groups[getattr(case, key)].append(case)
    items_of: dict[str, list[ItemRow]] = defaultdict(list)
    for item in items:
        items_of[item.application_id].append(item)
    return {
        name: figures(group, [i for c in group for i in items_of.get(c.application_id, ())], as_of)
        for name, group in sorted(groups.items())
    }


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
) -> KpiReport:
    if since is not None and until is not None and until < since:
        raise ValueError("until: is before since")
    as_of = as_of or datetime.now(UTC)
    cases, items = load(engine, since=since, until=until, hall=hall, bundle=bundle)
    if department is not None or item_code is not None:
        items = [
            i
            for i in items
            if (department is None or i.department == department)
            and (item_code is None or i.item_code == item_code)
        ]
        having = {i.application_id for i in items}
        cases = [c for c in cases if c.application_id in having]
    ratings = ratings_report(
        engine,
        since=since,
        until=until,
        hall=hall,
        department=department,
        item_code=item_code,
        as_of=as_of,
    )
    return KpiReport(
        as_of=as_of,
        since=since,
        until=until,
        hall=hall,
        department=department,
        item_code=item_code,
        bundle=bundle,
        figures=figures(cases, items, as_of),
        by_hall=_by_cases(cases, items, "hall", as_of),
        by_department=_by_items(cases, items, "department", as_of),
        by_item=_by_items(cases, items, "item_code", as_of),
        by_bundle=_by_cases([c for c in cases if c.is_bundle], items, "target", as_of),
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
    cases, items = load(engine, since=since, until=until, hall=hall)
    items_of: dict[str, list[ItemRow]] = defaultdict(list)
    for item in items:
        items_of[item.application_id].append(item)
    done: dict[str, list[CaseRow]] = defaultdict(list)
    for case in cases:
        if case.is_bundle and case.status == "completed":
            done[case.target].append(case)
    out: list[BundleReform] = []
    for code in catalog.bundles:
        bundle = as_bundle(catalog, code)
        declared = reductions(catalog, bundle)
        members = [catalog.item(c) for c in bundle.item_codes]
        group = done.get(code, [])
        times = [
            max((i.license_days or i.decision_days or 0) for i in items_of[c.application_id])
            for c in group
            if items_of.get(c.application_id)
        ]
        measured = {
            "time": _mean([float(t) for t in times]),
            "steps": _mean([float(c.steps) for c in group]),
            "trips": _mean([float(c.trips) for c in group]),
            "materials": _mean([float(c.materials) for c in group]),
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
        out.append(BundleReform(bundle=code, name=bundle.name, cases=len(group), rows=rows))
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
