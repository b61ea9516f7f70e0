"""Extension of a limit (延长期限, 行政许可法 Art. 42).

A decision limit may be extended once, by at most 10 working days (an item may be tighter:
`Item.extension_days`, e.g. market-entity registration 3), on the approval of the head of
the office (for an item: the head of its department, `Role.DEPARTMENT_HEAD`), and the
applicant is told why. Joint or centralized handling of a bundle has its own figures
(45 working days, extendable by 15: `JOINT_DAYS`, `JOINT_EXTENSION_DAYS`).

Before procedure revision 2026-12 a supervisor extended any running limit, any number of
times, by up to 30 days; histories begun then keep that (`check_legacy_extension`).

Pure code: importable inside the Temporal workflow sandbox.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain.application import LimitExtension
from domain.catalog_models import Item
from domain.people import Role

# Art. 42 (2): joint or centralized handling, and its one extension.
JOINT_DAYS = 45
JOINT_EXTENSION_DAYS = 15


def check_extension(
    extension: LimitExtension, *, item: Item, limits: Sequence[tuple[str, int]]
) -> None:
    """Refuse an extension the law does not allow; `limits`: each limit it would extend,
    with how often that limit was extended already. Raises ValueError "field: problem"."""
    by = extension.decided_by
    if by.role is not Role.DEPARTMENT_HEAD:
        raise ValueError(
            "decided_by.role: an extension is approved by the head of the item's department "
            f"(Art. 42), not by a {by.role.value}"
        )
    if by.department != item.department:
        raise ValueError(
            f"decided_by.department: only the head of department {item.department!r} may "
            f"extend a limit of {item.code}"
        )
    if extension.days > item.extension_days:
        raise ValueError(
            f"days: {item.code} may be extended by at most {item.extension_days} working days "
            f"(Art. 42), not {extension.days}"
        )
    if not extension.reason.strip():
        raise ValueError("reason: say why the limit is extended (the applicant is told)")
    for limit, before in limits:
        if before:
            raise ValueError(
                f"status: the {limit} limit was extended once already; Art. 42 allows one extension"
            )


def check_joint_extension(extension: LimitExtension, *, extended_before: bool) -> None:
    """Art. 42 (2): the joint limit of a bundle is extended once, by at most 15 working days,
    with the approval of the people's government — recorded here by a supervisor of the
    supervision office (效能督办), which speaks for it at the service center (a local choice
    of who records it). Raises ValueError "field: problem"."""
    if extension.decided_by.role is not Role.SUPERVISOR:
        raise ValueError(
            "decided_by.role: the joint limit is extended with the government's approval, "
            f"recorded by a supervisor, not by a {extension.decided_by.role.value}"
        )
    if extension.days > JOINT_EXTENSION_DAYS:
        raise ValueError(
            f"days: the joint limit may be extended by at most {JOINT_EXTENSION_DAYS} working "
            f"days (Art. 42), not {extension.days}"
        )
    if extended_before:
        raise ValueError("status: the joint limit was extended once already (Art. 42)")


def check_legacy_extension(extension: LimitExtension) -> None:
    """Histories begun before the revision: any supervisor extends (no cap on how often)."""
    if extension.decided_by.role is not Role.SUPERVISOR:
        raise ValueError("decided_by.role: only a supervisor may extend a limit")
