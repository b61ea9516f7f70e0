"""What a caller may see of an application: a department's staff (reviewers, inspectors,
the head of a department) see their own department's items in full, and other
departments' items only as code, name, department and status — no license number or
verification code, no reasons, no path, no detail in the decision trail. Everyone else
who may read the application sees all of it.

`for_caller` is the one place this is decided; every route that shows an application
(its state, its result, its notices) passes what it answers through it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import overload

from domain.application import (
    ApplicationOutcome,
    ApplicationState,
    ItemOutcome,
    ItemRef,
    TrailEntry,
    application_workflow_id,
    item_workflow_id,
)
from domain.people import Role
from starter.auth import DEPARTMENT_ROLES, Principal
from store.notifications import Notification

__all__ = ["DepartmentOf", "for_caller", "notices_for_caller", "own_department"]

# An item code's department; None when it is not known (then it is nobody's own).
DepartmentOf = Callable[[str], str | None]


def own_department(principal: Principal) -> str | None:
    """The department whose items alone the caller sees in full; None: every item."""
    if principal.role in DEPARTMENT_ROLES:
        return principal.department or ""
    return None


@overload
def for_caller(
    principal: Principal, view: ApplicationState, department_of: DepartmentOf
) -> ApplicationState: ...
@overload
def for_caller(
    principal: Principal, view: ApplicationOutcome, department_of: DepartmentOf
) -> ApplicationOutcome: ...
def for_caller(
    principal: Principal,
    view: ApplicationState | ApplicationOutcome,
    department_of: DepartmentOf,
) -> ApplicationState | ApplicationOutcome:
    """The application's state or outcome as `principal` may see it."""
    own = own_department(principal)
    if own is None:
        return view
    hidden = {i.item_code for i in view.items if department_of(i.item_code) != own}
    if not hidden:
        return view
    # Reasons of hidden items: no application-level text that quotes one is shown as is.
    secrets = [i.reason for i in view.items if i.item_code in hidden and i.reason]
    visible = [i for i in view.items if i.item_code not in hidden]
    items = [_bare(i) if i.item_code in hidden else i for i in view.items]

    def summary(text: str | None) -> str | None:
        if text is None or not any(s in text for s in secrets):
            return text
        # The application's closing reason joins its items' reasons; keep the caller's own.
        if text == _joined(view.items):
            return _joined(visible) or None
        return None

    if isinstance(view, ApplicationOutcome):
        return view.model_copy(update={"items": items, "reason": summary(view.reason)})
    trail = [_entry(e, hidden, summary) for e in view.trail]
    return view.model_copy(update={"items": items, "trail": trail})


def notices_for_caller(
    principal: Principal,
    application_id: str,
    rows: Sequence[Notification],
    department_of: DepartmentOf,
) -> list[Notification]:
    """The application's notices a caller may read: an applicant those addressed to the
    applicant; a department's staff none of another department's items."""
    if principal.role is Role.APPLICANT:
        return [n for n in rows if n.recipient == "applicant"]
    own = own_department(principal)
    if own is None:
        return list(rows)
    # An item's notices are keyed under its workflow ID (workflows.common.notify).
    items = item_workflow_id(application_id, "")
    assert items.startswith(application_workflow_id(application_id))

    def shown(n: Notification) -> bool:
        if not n.key.startswith(items):
            return True  # the application's own notices
        code = n.key.removeprefix(items).split("/", 1)[0]
        return department_of(code) == own

    return [n for n in rows if shown(n)]


def _bare(item: ItemRef | ItemOutcome) -> ItemRef | ItemOutcome:
    return item.model_copy(update={"path": None, "license": None, "reason": None})


def _joined(items: Sequence[ItemRef | ItemOutcome]) -> str:
    return "; ".join(f"{i.item_code}: {i.reason}" for i in items if i.reason)


def _entry(
    entry: TrailEntry, hidden: set[str], summary: Callable[[str | None], str | None]
) -> TrailEntry:
    if entry.item_code in hidden:
        return entry.model_copy(update={"detail": None})
    detail = summary(entry.detail)
    return entry if detail == entry.detail else entry.model_copy(update={"detail": detail})
