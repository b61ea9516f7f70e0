"""Activities of the credit system (信用信息平台)."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity

from activities.store_errors import store_errors
from domain.credit import CreditEntry, CreditStanding
from store import credit


class CreditActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="credit_standing")
    @store_errors
    def credit_standing(self, subject: str) -> CreditStanding:
        return CreditStanding(
            subject=subject, open_records=credit.open_records(self._engine, subject)
        )

    @activity.defn(name="record_credit")
    @store_errors
    def record_credit(self, entry: CreditEntry) -> None:
        """Idempotent by application, item and kind."""
        credit.record(self._engine, entry)
