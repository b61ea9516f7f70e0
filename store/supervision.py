"""Supervision (督办): a case per overdue limit and escalation stage, however often escalated;
and referrals (移送监管), cases the procedure hands over on purpose (after a revocation)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import Column, DateTime, Engine, UniqueConstraint, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from domain.clock import EscalationRequest
from domain.supervision import Referral
from store.db import in_utc


class SupervisionCase(SQLModel, table=True):
    __tablename__ = "supervision_cases"
    __table_args__ = (UniqueConstraint("workflow_id", "limit_name", "stage"),)

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str = Field(index=True, max_length=200)
    limit_name: str = Field(max_length=64)
    stage: int
    level: str = Field(max_length=32, index=True)  # department_supervisor | supervision_office
    department: str = Field(default="", max_length=64, index=True)
    subject: str = Field(default="", max_length=200)  # application/item reference, no person
    due_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    boundary_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    escalated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    total_days: int
    provisional: bool = False
    status: str = Field(default="open", max_length=16)  # open | closed
    closed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    resolution: str | None = Field(default=None, max_length=500)

    def normalized(self) -> SupervisionCase:
        for name in ("due_at", "boundary_at", "escalated_at", "closed_at"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, in_utc(value))
        return self


def _find(s: Session, workflow_id: str, limit_name: str, stage: int) -> SupervisionCase | None:
    return s.exec(
        select(SupervisionCase).where(
            SupervisionCase.workflow_id == workflow_id,
            SupervisionCase.limit_name == limit_name,
            SupervisionCase.stage == stage,
        )
    ).first()


def open_case(engine: Engine, request: EscalationRequest) -> tuple[SupervisionCase, bool]:
    """Open the case for (workflow, limit, stage), or return the one already open; the bool says
    whether this call created it. Safe under retries and concurrent calls."""
    with Session(engine, expire_on_commit=False) as s:
        existing = _find(s, request.workflow_id, request.limit, request.stage)
        if existing is not None:
            return existing.normalized(), False
        case = SupervisionCase(
            workflow_id=request.workflow_id,
            limit_name=request.limit,
            stage=request.stage,
            level=request.level.value,
            department=request.department,
            subject=request.subject,
            due_at=in_utc(request.due_at),
            boundary_at=in_utc(request.boundary_at),
            escalated_at=in_utc(request.escalated_at),
            total_days=request.total_days,
            provisional=request.provisional,
        )
        s.add(case)
        try:
            s.commit()
        except IntegrityError:
            s.rollback()
            found = _find(s, request.workflow_id, request.limit, request.stage)
            if found is None:
                raise
            return found.normalized(), False
        s.refresh(case)
        return case.normalized(), True


def cases_of(engine: Engine, workflow_id: str) -> list[SupervisionCase]:
    with Session(engine, expire_on_commit=False) as s:
        rows = s.exec(
            select(SupervisionCase)
            .where(SupervisionCase.workflow_id == workflow_id)
            .order_by(SupervisionCase.limit_name, SupervisionCase.stage)  # type: ignore[arg-type]
        )
        return [row.normalized() for row in rows]


def open_cases(engine: Engine, department: str | None = None) -> list[SupervisionCase]:
    """The supervision office's list: open cases, oldest escalation first."""
    with Session(engine, expire_on_commit=False) as s:
        query = select(SupervisionCase).where(SupervisionCase.status == "open")
        if department is not None:
            query = query.where(SupervisionCase.department == department)
        rows = s.exec(query.order_by(SupervisionCase.escalated_at))  # type: ignore[arg-type]
        return [row.normalized() for row in rows]


def close_case(engine: Engine, case_id: int, resolution: str, at: datetime) -> SupervisionCase:
    """Close a case with its resolution; closing a closed case keeps the first resolution."""
    with Session(engine, expire_on_commit=False) as s:
        case = s.get(SupervisionCase, case_id)
        if case is None:
            raise LookupError(f"no supervision case {case_id}")
        if case.status != "closed":
            case.status = "closed"
            case.closed_at = in_utc(at)
            case.resolution = resolution
            s.add(case)
            s.commit()
            s.refresh(case)
        return case.normalized()


class SupervisionReferral(SQLModel, table=True):
    """A case referred to supervision; one per workflow, kind and subject."""

    __tablename__ = "supervision_referrals"
    __table_args__ = (UniqueConstraint("workflow_id", "kind", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str = Field(index=True, max_length=200)
    kind: str = Field(max_length=32)  # domain.supervision.ReferralKind
    department: str = Field(default="", max_length=64, index=True)
    subject: str = Field(default="", max_length=200)  # application/item reference, no person
    reason: str = Field(max_length=500)
    referred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    status: str = Field(default="open", max_length=16)  # open | closed
    closed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    resolution: str | None = Field(default=None, max_length=500)

    def normalized(self) -> SupervisionReferral:
        for name in ("referred_at", "closed_at"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, in_utc(value))
        return self


def _find_referral(s: Session, referral: Referral) -> SupervisionReferral | None:
    return s.exec(
        select(SupervisionReferral).where(
            SupervisionReferral.workflow_id == referral.workflow_id,
            SupervisionReferral.kind == referral.kind.value,
            SupervisionReferral.subject == referral.subject,
        )
    ).first()


def refer(engine: Engine, referral: Referral) -> tuple[SupervisionReferral, bool]:
    """Record the referral, or return the one recorded already; the bool says whether this
    call created it. Safe under retries and concurrent calls."""
    with Session(engine, expire_on_commit=False) as s:
        existing = _find_referral(s, referral)
        if existing is not None:
            return existing.normalized(), False
        row = SupervisionReferral(
            workflow_id=referral.workflow_id,
            kind=referral.kind.value,
            department=referral.department,
            subject=referral.subject,
            reason=referral.reason,
            referred_at=in_utc(referral.referred_at),
        )
        s.add(row)
        try:
            s.commit()
        except IntegrityError:
            s.rollback()
            found = _find_referral(s, referral)
            if found is None:
                raise
            return found.normalized(), False
        s.refresh(row)
        return row.normalized(), True


def referrals_of(engine: Engine, workflow_id: str) -> list[SupervisionReferral]:
    with Session(engine, expire_on_commit=False) as s:
        rows = s.exec(
            select(SupervisionReferral)
            .where(SupervisionReferral.workflow_id == workflow_id)
            .order_by(SupervisionReferral.referred_at)  # type: ignore[arg-type]
        )
        return [row.normalized() for row in rows]


def open_referrals(engine: Engine, department: str | None = None) -> list[SupervisionReferral]:
    """The supervision office's list of referrals still to follow up, oldest first."""
    with Session(engine, expire_on_commit=False) as s:
        query = select(SupervisionReferral).where(SupervisionReferral.status == "open")
        if department is not None:
            query = query.where(SupervisionReferral.department == department)
        rows = s.exec(query.order_by(SupervisionReferral.referred_at))  # type: ignore[arg-type]
        return [row.normalized() for row in rows]


def close_referral(
    engine: Engine, referral_id: int, resolution: str, at: datetime
) -> SupervisionReferral:
    """Close a referral with its resolution; closing a closed one keeps the first."""
    with Session(engine, expire_on_commit=False) as s:
        row = s.get(SupervisionReferral, referral_id)
        if row is None:
            raise LookupError(f"no supervision referral {referral_id}")
        if row.status != "closed":
            row.status = "closed"
            row.closed_at = in_utc(at)
            row.resolution = resolution
            s.add(row)
            s.commit()
            s.refresh(row)
        return row.normalized()


# -- pages for the supervision office (the API and the command line) -----------------------

Status = Literal["open", "closed", "all"]


_Row = TypeVar("_Row", SupervisionCase, SupervisionReferral)


def _page(
    engine: Engine,
    table: type[_Row],
    *,
    status: Status,
    department: str | None,
    oldest_first: Any,
    limit: int,
    offset: int,
) -> tuple[list[_Row], int]:
    conditions: list[Any] = []
    if status != "all":
        conditions.append(col(table.status) == status)
    if department is not None:
        conditions.append(col(table.department) == department)
    with Session(engine, expire_on_commit=False) as s:
        total = s.exec(select(func.count()).select_from(table).where(*conditions)).one()
        rows = s.exec(
            select(table)
            .where(*conditions)
            .order_by(oldest_first, col(table.id))
            .offset(offset)
            .limit(limit)
        ).all()
        return [row.normalized() for row in rows], int(total)


def cases_page(
    engine: Engine,
    *,
    status: Status = "open",
    department: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[SupervisionCase], int]:
    """One page of supervision cases, oldest escalation first, and how many there are."""
    return _page(
        engine,
        SupervisionCase,
        status=status,
        department=department,
        oldest_first=col(SupervisionCase.escalated_at),
        limit=limit,
        offset=offset,
    )


def referrals_page(
    engine: Engine,
    *,
    status: Status = "open",
    department: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[SupervisionReferral], int]:
    """One page of referrals, oldest first, and how many there are."""
    return _page(
        engine,
        SupervisionReferral,
        status=status,
        department=department,
        oldest_first=col(SupervisionReferral.referred_at),
        limit=limit,
        offset=offset,
    )


def get_case(engine: Engine, case_id: int) -> SupervisionCase | None:
    with Session(engine, expire_on_commit=False) as s:
        row = s.get(SupervisionCase, case_id)
        return row.normalized() if row is not None else None


def get_referral(engine: Engine, referral_id: int) -> SupervisionReferral | None:
    with Session(engine, expire_on_commit=False) as s:
        row = s.get(SupervisionReferral, referral_id)
        return row.normalized() if row is not None else None
