"""The caller of the API as its token says (`Principal`), and the groups of roles the rules
(`starter.auth.rules`) read."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.people import Role, Staff
from onething.keys import KeyedRef, Purpose, SubjectKeys

STAFF_ROLES = frozenset(Role) - {Role.APPLICANT}
READ_ALL_ROLES = frozenset({Role.SUPERVISOR, Role.AUDITOR, Role.OPERATOR})
# A department's staff: they read what involves their department.
DEPARTMENT_ROLES = frozenset({Role.REVIEWER, Role.INSPECTOR, Role.DEPARTMENT_HEAD})
CODEC_ROLES = frozenset({Role.OPERATOR, Role.AUDITOR})


@dataclass(frozen=True)
class Principal:
    """The caller, as its token says."""

    name: str
    role: Role
    hall: str | None = None
    department: str | None = None
    applicant: KeyedRef | None = None  # an applicant's keyed reference (token file)
    subject_keys: SubjectKeys | None = field(default=None, compare=False, repr=False)

    def is_applicant_of(self, id_sha256: str | None) -> bool:
        """Whether this caller is the applicant whose ID number has SHA-256 `id_sha256`
        (what the API derives from the application), keyed and compared in constant time."""
        if self.applicant is None or self.subject_keys is None or id_sha256 is None:
            return False
        return self.subject_keys.matches(self.applicant, Purpose.APPLICANT, id_sha256)

    def staff(self) -> Staff:
        return Staff(staff_id=self.name, role=self.role, department=self.department, hall=self.hall)

    @property
    def reads_all(self) -> bool:
        return self.role in READ_ALL_ROLES

    def describe(self) -> str:
        scope = self.hall or self.department
        return f"{self.role.value}" + (f" of {scope}" if scope else "")
