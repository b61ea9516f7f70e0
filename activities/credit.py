"""Activities of the credit system (信用信息平台).

The workflow hands over `credit_subject()`, an unkeyed digest it may compute without a
secret; the store keys it with the subject keyring before it writes or looks up.

The standing counts the records that bar: active ones, and those under objection (异议)
until a supervisor decides. A record repaired (信用修复) or corrected on objection bars no
more, so the applicant's next application is offered deficiency acceptance and commitment
approval again (`store.credit.act_on`; the API's /credit routes, `onething credit`).
"""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity

from activities.notify import Notice, Outlet, record_notice
from activities.store_errors import store_errors
from domain import notices
from domain.application import application_workflow_id, item_workflow_id
from domain.credit import CreditEntry, CreditStanding
from onething.keys import SubjectKeys, configured_subject_keys
from store import credit


class CreditActivities:
    def __init__(
        self, engine: Engine, keys: SubjectKeys | None = None, outlet: Outlet | None = None
    ) -> None:
        """`keys`: the subject keyring; by default the configured one, read here, so a
        worker with a bad keyring stops at start rather than at its first credit look-up.
        `outlet`: delivery beside the outbox (None: the outbox only)."""
        self._engine = engine
        self._keys = keys or configured_subject_keys()
        self._outlet = outlet

    @activity.defn(name="credit_standing")
    @store_errors
    def credit_standing(self, subject: str) -> CreditStanding:
        """The kinds of the subject's records that bar now."""
        return CreditStanding(
            subject=subject,
            open_records=credit.open_records(self._engine, subject, self._keys),
        )

    @activity.defn(name="record_credit")
    @store_errors
    def record_credit(self, entry: CreditEntry) -> None:
        """Idempotent by application, item and kind; the applicant is told in writing
        (信用记录告知书), by the item's department or the center, once."""
        credit.record(self._engine, entry, self._keys)
        by = (
            item_workflow_id(entry.application_id, entry.item_code)
            if entry.item_code
            else application_workflow_id(entry.application_id)
        )
        record_notice(
            self._engine,
            self._outlet,
            Notice(
                key=f"{by}/credit/{entry.kind.value}",
                application_id=entry.application_id,
                recipient="applicant",
                kind="credit_recorded",
                message=notices.credit_recorded(entry.kind.label, entry.recorded_at),
                at=entry.recorded_at,
            ),
        )
