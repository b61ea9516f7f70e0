"""受理: the rule that decides, at the window, whether a submission is accepted.

- a core material missing → refused, with one notice listing every missing material;
- only deferrable materials missing, every item concerned admits deficiency and the
  applicant signed the deficiency pledge (and may be offered it) → accepted with
  deficiency, the missing ones to be supplemented later;
- otherwise → accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.application import MissingMaterial
from domain.catalog import Item, MaterialSource


class AcceptanceVerdict(StrEnum):
    ACCEPTED = "accepted"
    ACCEPTED_WITH_DEFICIENCY = "accepted_with_deficiency"
    REFUSED = "refused"


class Acceptance(BaseModel):
    model_config = ConfigDict(frozen=True)

    verdict: AcceptanceVerdict
    missing: list[MissingMaterial]
    reason: str


def materials_asked_of_applicant(items: Iterable[Item]) -> list[MissingMaterial]:
    """Every material the applicant must hand in for these items, once each.

    Shared government data is never asked for; a material produced by an item of the
    same application comes from that item, not from the applicant.
    """
    items = list(items)
    produced_here = {item.code for item in items}
    asked: dict[str, MissingMaterial] = {}
    for item in items:
        for material in item.materials:
            if material.source is MaterialSource.SHARED_DATA:
                continue
            if (
                material.source is MaterialSource.BUNDLE_ITEM
                and material.produced_by in produced_here
            ):
                continue
            seen = asked.get(material.code)
            asked[material.code] = MissingMaterial(
                code=material.code,
                name=material.name,
                item_codes=[*(seen.item_codes if seen else []), item.code],
                core=material.core or (seen.core if seen else False),
            )
    return list(asked.values())


def assess(
    items: Iterable[Item],
    provided: Iterable[str],
    *,
    pledge_signed: bool,
    deficiency_allowed: bool = True,
) -> Acceptance:
    """Decide acceptance; `deficiency_allowed` is False for applicants whose credit bars it."""
    items = list(items)
    by_code = {item.code: item for item in items}
    have = set(provided)
    missing = [m for m in materials_asked_of_applicant(items) if m.code not in have]
    if not missing:
        return Acceptance(verdict=AcceptanceVerdict.ACCEPTED, missing=[], reason="材料齐全")
    core = [m for m in missing if m.core]
    if core:
        return Acceptance(
            verdict=AcceptanceVerdict.REFUSED, missing=missing, reason="缺少核心材料, 不予受理"
        )
    admits = all(by_code[code].admits_deficiency for m in missing for code in m.item_codes)
    if admits and pledge_signed and deficiency_allowed:
        return Acceptance(
            verdict=AcceptanceVerdict.ACCEPTED_WITH_DEFICIENCY,
            missing=missing,
            reason="容缺受理: 申请人已签署容缺承诺书",
        )
    if not admits:
        reason = "所缺材料所属事项不适用容缺受理"
    elif not deficiency_allowed:
        reason = "申请人信用记录不适用容缺受理"
    else:
        reason = "申请人未签署容缺承诺书"
    return Acceptance(verdict=AcceptanceVerdict.REFUSED, missing=missing, reason=reason)
