"""What each role may do: the `may_*` rules and the scopes of what a caller may list. A
refusal is a 403 (`forbid`) whose message gives the reason."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from domain.excluded_time import EXCLUDED_TIME_DECIDERS
from domain.people import Role
from starter.auth.principal import CODEC_ROLES, DEPARTMENT_ROLES, Principal
from starter.errors import ApiError


def forbid(principal: Principal, reason: str) -> ApiError:
    return ApiError(403, f"{principal.describe()} {principal.name!r}: {reason}", code="forbidden")


def _no_auditor(principal: Principal) -> None:
    if principal.role is Role.AUDITOR:
        raise forbid(principal, "auditors read but never change anything")


def may_submit(principal: Principal, *, hall: str, applicant_ref: str) -> None:
    """Applicants submit for themselves; window clerks at their own hall. `applicant_ref`:
    the SHA-256 of the submission's ID number (the pre-image the caller's keyed reference
    is checked against)."""
    _no_auditor(principal)
    if principal.role is Role.APPLICANT:
        if not principal.is_applicant_of(applicant_ref):
            raise forbid(principal, "an applicant may submit only their own applications")
        return
    if principal.role is Role.WINDOW_CLERK:
        if hall != principal.hall:
            raise forbid(principal, f"a window clerk accepts only at hall {principal.hall!r}")
        return
    raise forbid(principal, "only applicants and window clerks submit applications")


async def may_read_application(
    principal: Principal,
    *,
    hall: str,
    departments: Iterable[str],
    applicant_ref: Callable[[], Awaitable[str | None]] | None = None,
) -> None:
    """Read an application (status, items, notice, trail). `applicant_ref` (the SHA-256 of
    the applicant's ID number) is asked lazily: only an applicant's request needs it."""
    if principal.reads_all:
        return
    role = principal.role
    if role is Role.WINDOW_CLERK:
        if hall != principal.hall:
            raise forbid(principal, f"this application was not made at {principal.hall!r}")
        return
    if role in DEPARTMENT_ROLES:
        if principal.department not in set(departments):
            raise forbid(
                principal, f"this application has no item of department {principal.department!r}"
            )
        return
    if role is Role.APPLICANT:
        ref = await applicant_ref() if applicant_ref else None
        if not principal.is_applicant_of(ref):
            raise forbid(principal, "an applicant may read only their own applications")
        return
    raise forbid(principal, "may not read applications")


def may_read_item(principal: Principal, *, item_department: str) -> None:
    """On top of reading the application: a department's staff see its items only."""
    if principal.role in DEPARTMENT_ROLES and item_department != principal.department:
        raise forbid(principal, f"this item belongs to department {item_department!r}")


def _department_staff(principal: Principal, role: Role, item_department: str, what: str) -> None:
    _no_auditor(principal)
    if principal.role is not role:
        raise forbid(principal, f"only {role.value}s of the item's department {what}")
    if item_department != principal.department:
        raise forbid(principal, f"this item belongs to department {item_department!r}")


def may_decide(principal: Principal, *, item_department: str) -> None:
    _department_staff(principal, Role.REVIEWER, item_department, "decide on it")


def may_inspect(principal: Principal, *, item_department: str) -> None:
    _department_staff(principal, Role.INSPECTOR, item_department, "record its inspection")


def _of_department(principal: Principal, item_department: str | None) -> None:
    if item_department is not None and item_department != principal.department:
        raise forbid(principal, f"this item belongs to department {item_department!r}")


def may_extend(principal: Principal, *, item_department: str | None = None) -> None:
    """Art. 42: the head of the item's department. A supervisor is let through for the
    applications begun before procedure revision 2026-12 (the item refuses it otherwise).
    `item_department` None: the role alone is checked (before the item is looked up)."""
    _no_auditor(principal)
    if principal.role is Role.SUPERVISOR:
        return
    if principal.role is not Role.DEPARTMENT_HEAD:
        raise forbid(principal, "only the head of the item's department extends a limit (Art. 42)")
    _of_department(principal, item_department)


def may_extend_joint_limit(principal: Principal) -> None:
    """Art. 42 (2): a bundle's joint limit, with the government's approval that a supervisor
    of the supervision office records."""
    _no_auditor(principal)
    if principal.role is not Role.SUPERVISOR:
        raise forbid(principal, "only a supervisor records the extension of a joint limit")


def may_exclude_time(principal: Principal, *, item_department: str | None = None) -> None:
    """Excluded time (Art. 45) is started and ended in the item's department, by a reviewer
    or its head: the rule the item applies (`domain.excluded_time.EXCLUDED_TIME_DECIDERS`)."""
    _no_auditor(principal)
    if principal.role not in EXCLUDED_TIME_DECIDERS:
        raise forbid(
            principal,
            "only a reviewer or the head of the item's department decides on excluded time "
            "(Art. 45)",
        )
    _of_department(principal, item_department)


def may_refuse(principal: Principal, *, hall: str) -> None:
    """不予受理 is the accepting window's act: a window clerk of the application's hall."""
    _no_auditor(principal)
    if principal.role is not Role.WINDOW_CLERK:
        raise forbid(principal, "only a window clerk of the hall refuses to accept")
    if hall != principal.hall:
        raise forbid(principal, f"this application was not made at {principal.hall!r}")


def may_cancel(principal: Principal) -> None:
    _no_auditor(principal)
    if principal.role is not Role.OPERATOR:
        raise forbid(principal, "only an operator cancels an application")


async def may_act_for_applicant(
    principal: Principal,
    *,
    hall: str,
    applicant_ref: Callable[[], Awaitable[str | None]],
    what: str,
) -> None:
    """What the applicant does (supplement, correct, withdraw): the applicant themselves,
    or a window clerk of the hall the application was made at, on their behalf."""
    _no_auditor(principal)
    if principal.role is Role.APPLICANT:
        if not principal.is_applicant_of(await applicant_ref()):
            raise forbid(principal, f"an applicant may {what} only their own applications")
        return
    if principal.role is Role.WINDOW_CLERK:
        if hall != principal.hall:
            raise forbid(principal, f"this application was not made at {principal.hall!r}")
        return
    raise forbid(principal, f"only the applicant or a window clerk of the hall may {what}")


def may_read_reports(principal: Principal) -> None:
    if principal.role is Role.APPLICANT:
        raise forbid(principal, "reports are for staff")


def may_use_codec(principal: Principal) -> None:
    if principal.role not in CODEC_ROLES:
        raise forbid(principal, "only operators and auditors may decode payloads")


@dataclass(frozen=True)
class TaskFilter:
    department: str | None = None
    role: str | None = None
    hall: str | None = None


def task_scope(principal: Principal, asked: TaskFilter) -> TaskFilter:
    """The inbox a caller may list: their own department's (or hall's) tasks for their role
    (the head of a department: the department's, of every role). Asking for another
    department, hall or role is refused, not silently narrowed."""
    role = principal.role
    if principal.reads_all:
        return asked
    if role is Role.APPLICANT:
        raise forbid(principal, "the task inbox is for staff")
    if role in (Role.REVIEWER, Role.INSPECTOR):
        if asked.department not in (None, principal.department):
            raise forbid(principal, f"may list only department {principal.department!r}")
        if asked.role not in (None, role.value):
            raise forbid(principal, f"may list only {role.value} tasks")
        return TaskFilter(department=principal.department, role=role.value, hall=asked.hall)
    if role is Role.WINDOW_CLERK:
        if asked.hall not in (None, principal.hall):
            raise forbid(principal, f"may list only hall {principal.hall!r}")
        if asked.role not in (None, role.value):
            raise forbid(principal, f"may list only {role.value} tasks")
        return TaskFilter(department=asked.department, role=role.value, hall=principal.hall)
    if role is Role.DEPARTMENT_HEAD:  # oversees the department's tasks, of every role
        if asked.department not in (None, principal.department):
            raise forbid(principal, f"may list only department {principal.department!r}")
        return TaskFilter(department=principal.department, role=asked.role, hall=asked.hall)
    raise forbid(principal, "may not list tasks")


def may_take(
    principal: Principal, task_role: str, department: str | None, hall: str | None
) -> None:
    """Who may take a task: staff of the task's role, in its department (or at its hall)."""
    if principal.role.value != task_role:
        raise forbid(principal, f"this is a {task_role} task")
    if principal.role in (Role.REVIEWER, Role.INSPECTOR) and department != principal.department:
        raise forbid(principal, f"this task belongs to department {department!r}")
    if principal.role is Role.WINDOW_CLERK and hall != principal.hall:
        raise forbid(principal, f"this task belongs to hall {hall!r}")


def may_hand_over(principal: Principal) -> None:
    """Releasing a taken task or reassigning it is a supervisor's."""
    _no_auditor(principal)
    if principal.role is not Role.SUPERVISOR:
        raise forbid(principal, "only a supervisor releases or reassigns a task")


@dataclass(frozen=True)
class ApplicationFilter:
    hall: str | None = None
    department: str | None = None


def application_scope(principal: Principal, asked: ApplicationFilter) -> ApplicationFilter:
    """Which applications a caller may list: clerks their hall's, reviewers and inspectors
    those involving their department. Applicants are not listed (their ID number is no
    search attribute, by design): they read their applications by ID."""
    if principal.reads_all:
        return asked
    role = principal.role
    if role is Role.WINDOW_CLERK:
        if asked.hall not in (None, principal.hall):
            raise forbid(principal, f"may list only hall {principal.hall!r}")
        return ApplicationFilter(hall=principal.hall, department=asked.department)
    if role in DEPARTMENT_ROLES:
        if asked.department not in (None, principal.department):
            raise forbid(principal, f"may list only department {principal.department!r}")
        return ApplicationFilter(hall=asked.hall, department=principal.department)
    raise forbid(principal, "applicants read their applications by ID; listing is for staff")


def case_scope(
    principal: Principal, department: str | None, what: str = "supervision cases"
) -> str | None:
    """Which supervision cases (or referrals) a caller may list, by department; None means
    all: supervisors, auditors and operators every department's, a department's staff
    their own."""
    if principal.reads_all:
        return department
    if principal.role in DEPARTMENT_ROLES:
        if department not in (None, principal.department):
            raise forbid(principal, f"may list only department {principal.department!r}")
        return principal.department
    raise forbid(principal, f"{what} are for supervisors and the departments")


def referral_scope(principal: Principal, department: str | None) -> str | None:
    """Which referrals to supervision (移送监管) a caller may list: as supervision cases."""
    return case_scope(principal, department, "referrals to supervision")


def may_close_case(principal: Principal) -> None:
    _no_auditor(principal)
    if principal.role is not Role.SUPERVISOR:
        raise forbid(principal, "only a supervisor closes a supervision case")


def may_close_referral(principal: Principal) -> None:
    _no_auditor(principal)
    if principal.role is not Role.SUPERVISOR:
        raise forbid(principal, "only a supervisor closes a referral to supervision")


CREDIT_READERS = frozenset({Role.WINDOW_CLERK, Role.SUPERVISOR, Role.AUDITOR}) | DEPARTMENT_ROLES


def may_read_credit(principal: Principal, *, id_sha256: str | None) -> None:
    """A credit standing: staff at the window, in the departments, in supervision and
    audit; an applicant their own only (`id_sha256`: the SHA-256 of the ID number asked
    about, None for a credit code, which no applicant token names)."""
    if principal.role is Role.APPLICANT:
        if not principal.is_applicant_of(id_sha256):
            raise forbid(principal, "an applicant may read only the standing under their own ID")
        return
    if principal.role not in CREDIT_READERS:
        raise forbid(principal, "credit standings are for the window, departments and supervision")


def may_object_to_credit(principal: Principal, *, id_sha256: str | None) -> None:
    """异议: the applicant about their own record, or a window clerk on their behalf."""
    _no_auditor(principal)
    if principal.role is Role.APPLICANT:
        if not principal.is_applicant_of(id_sha256):
            raise forbid(principal, "an applicant may object only to their own records")
        return
    if principal.role is not Role.WINDOW_CLERK:
        raise forbid(principal, "only the applicant or a window clerk files an objection")


def may_decide_credit(principal: Principal) -> None:
    """Deciding an objection and credit repair (信用修复) are a supervisor's."""
    _no_auditor(principal)
    if principal.role is not Role.SUPERVISOR:
        raise forbid(principal, "only a supervisor decides objections and repairs credit")
