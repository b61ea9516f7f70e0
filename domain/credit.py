"""Credit (信用): records that bar the deficiency and commitment paths until repaired.

国办发〔2019〕35号 and 〔2020〕42号: an applicant who broke a deficiency pledge or made a
false commitment is not offered deficiency acceptance or commitment approval until
the record is repaired (信用修复).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class CreditRecordKind(StrEnum):
    BROKEN_PLEDGE = "broken_pledge"  # deficiency materials not supplemented in time
    FALSE_COMMITMENT = "false_commitment"  # commitment found untrue on inspection
    REVOCATION = "revocation"  # a license revoked after failed inspection


BARRING_KINDS = frozenset(CreditRecordKind)


def credit_subject(id_number: str) -> str:
    """The pre-image of the key credit records are filed under, computed in workflow code
    (which may read no secret). An unkeyed digest that enumerating ID numbers reverses, so
    it stays inside encrypted payloads: the credit activities and the store key it with the
    subject keyring (`onething.keys`) before anything is stored or looked up."""
    return hashlib.sha256(f"onething-credit:{id_number}".encode()).hexdigest()[:32]


class CreditEntry(BaseModel):
    """One record to write (idempotent by application, item and kind)."""

    model_config = ConfigDict(frozen=True)

    subject: str
    kind: CreditRecordKind
    application_id: str
    item_code: str | None
    recorded_at: datetime
    detail: str


class CreditStanding(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str
    open_records: list[CreditRecordKind]

    @property
    def barred(self) -> bool:
        """Neither deficiency acceptance nor commitment approval is offered."""
        return any(kind in BARRING_KINDS for kind in self.open_records)

    def explain(self) -> str:
        if not self.open_records:
            return "信用良好"
        return "未修复的失信记录: " + "、".join(sorted({k.value for k in self.open_records}))
