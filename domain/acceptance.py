"""受理: the rule that decides, at the window, whether a submission is accepted.

It reads the one set of materials derived from the catalog (`domain.bundle`):
- a core material missing → incomplete: one correction notice listing every missing material
  (补正, 行政许可法 Art. 32(4)); the case stays open until the materials arrive;
- only deferrable materials missing, the applicant signed the deficiency pledge and
  their credit allows it → accepted with deficiency, the rest supplemented later;
- otherwise → accepted.
Conditional materials ("only when applying through an agent", …) are the clerk's
judgment at the window and are not checked here.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.application import MissingMaterial
from domain.bundle import MaterialSet


class AcceptanceVerdict(StrEnum):
    ACCEPTED = "accepted"
    ACCEPTED_WITH_DEFICIENCY = "accepted_with_deficiency"
    INCOMPLETE = "incomplete"  # 补正: one notice listing everything missing, the case stays open


class Acceptance(BaseModel):
    model_config = ConfigDict(frozen=True)

    verdict: AcceptanceVerdict
    missing: list[MissingMaterial]
    reason: str
    supplement_days: int | None = None  # with deficiency: the strictest item's limit


def missing_materials(materials: MaterialSet, provided: Iterable[str]) -> list[MissingMaterial]:
    have = set(provided)
    return [
        MissingMaterial(code=m.code, name=m.name, item_codes=list(m.needed_by), core=m.core)
        for m in materials.to_bring
        if m.code not in have and not m.condition
    ]


def assess(
    materials: MaterialSet,
    provided: Iterable[str],
    *,
    pledge_signed: bool,
    deficiency_allowed: bool,
) -> Acceptance:
    """Decide acceptance; `deficiency_allowed` is False for applicants whose credit bars it."""
    missing = missing_materials(materials, provided)
    if not missing:
        return Acceptance(verdict=AcceptanceVerdict.ACCEPTED, missing=[], reason="材料齐全")
    if any(m.core for m in missing):
        return Acceptance(
            verdict=AcceptanceVerdict.INCOMPLETE, missing=missing, reason="缺少核心材料"
        )
    if not pledge_signed:
        reason = "缺少材料且申请人未签署容缺受理承诺书"
    elif not deficiency_allowed:
        reason = "申请人有失信记录(承诺未履行或虚假承诺), 信用修复前不适用容缺受理"
    else:
        days = [materials.material(m.code).supplement_days for m in missing]
        return Acceptance(
            verdict=AcceptanceVerdict.ACCEPTED_WITH_DEFICIENCY,
            missing=missing,
            reason="容缺受理: 申请人已签署容缺受理承诺书",
            supplement_days=min(d for d in days if d is not None),
        )
    return Acceptance(verdict=AcceptanceVerdict.INCOMPLETE, missing=missing, reason=reason)
