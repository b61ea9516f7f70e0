"""Catalog documents for the domain, store and CLI tests: a hand-checkable mini catalog
(`mini_doc`), its parts (`item`, `mat`), the validation's problems (`problems_of`,
`only_problem`) and random valid catalogs (`catalogs`, a Hypothesis strategy)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st

from domain.catalog_loading import validate_catalog
from domain.catalog_models import CatalogError


def mat(code: str, core: bool = True, **kw: Any) -> dict[str, Any]:
    return {"code": code, "name": kw.pop("name", f"材料{code}"), "core": core, **kw}


def item(code: str, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": code,
        "basic_code": "010100010000",
        "implementation_code": "11420684000000000101000100000",
        "name": f"事项{code}",
        "department": "market",
        "department_name": "市场监督管理局",
        "kind": "license",
        "window": "general",
        "statutory_days": 10,
        "promised_days": 5,
        "trips": 1,
        "steps": 4,
        "materials": [],
        "form_fields": [],
    }
    base.update(kw)
    return base


def mini_doc() -> dict[str, Any]:
    """A hand-checkable catalog: A issues license lic-a; B and C need it."""
    return {
        "version": "t1",
        "items": [
            item(
                "a",
                produces="lic_a",
                promised_days=3,
                steps=3,
                admits_deficiency=True,
                supplement_days=2,
                materials=[
                    mat("form-a", is_form=True, name="A申请表"),
                    mat("id", name="身份证件"),
                    mat("premises", name="场所证明"),
                    mat("photo", core=False, name="照片"),
                ],
                form_fields=[
                    {"key": "enterprise.name", "label": "名称"},
                    {"key": "premises.address", "label": "地址", "required": False},
                ],
            ),
            item(
                "b",
                promised_days=5,
                steps=5,
                trips=2,
                admits_deficiency=True,
                supplement_days=4,
                admits_commitment=True,
                inspection={
                    "timing": "after_issuance",
                    "within_days": 30,
                    "rectification_days": 10,
                },
                materials=[
                    mat("form-b", is_form=True, name="B申请表"),
                    mat("lic-a", source="bundle_item", produced_by="a", name="A证"),
                    mat("id", name="身份证件"),
                    mat("layout", core=False, name="布局图"),
                    mat("exam", source="shared_data", name="考试成绩"),
                ],
                form_fields=[
                    {"key": "enterprise.name", "label": "名称"},
                    {"key": "premises.address", "label": "地址"},
                    {"key": "b.scope", "label": "项目", "type": "enum", "options": ["x", "y"]},
                ],
            ),
            item(
                "c",
                promised_days=2,
                steps=4,
                materials=[
                    mat("form-c", is_form=True, name="C申请表"),
                    mat("lic-a", source="bundle_item", produced_by="a", name="A证"),
                    mat("premises", name="场所证明"),
                ],
                form_fields=[{"key": "c.count", "label": "数量", "type": "integer"}],
            ),
        ],
        "bundles": [
            {
                "code": "abc",
                "name": "ABC一件事",
                "members": [
                    {"item": "a"},
                    {"item": "b", "depends_on": ["a"]},
                    {"item": "c", "depends_on": ["a"]},
                ],
                "promised_days": 6,
            }
        ],
        "halls": [
            {
                "code": "center",
                "name": "中心",
                "level": "city",
                "address": "某路1号",
                "latitude": 31.72,
                "longitude": 112.26,
                "zones": [{"code": "g", "name": "综合窗口", "window": "general"}],
            }
        ],
    }


def problems_of(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(CatalogError) as info:
        validate_catalog(doc)
    return info.value.problems


def only_problem(doc: dict[str, Any]) -> str:
    found = problems_of(doc)
    assert len(found) == 1, found
    return found[0]


# -- random valid catalogs, for the properties

POOL = [f"m{i}" for i in range(8)]
SHARED = {"m0", "m1"}
FIELDS = [
    ("f.a", "string"),
    ("f.b", "integer"),
    ("g.c", "number"),
    ("g.d", "boolean"),
    ("h", "date"),
]


@st.composite
def catalogs(draw: st.DrawFn) -> dict[str, Any]:
    """Random valid catalogs: one bundle over n items with a random DAG (edges go to earlier
    items), random materials from a shared pool, some produced by earlier items."""
    n = draw(st.integers(1, 6))
    items: list[dict[str, Any]] = []
    deps: list[set[int]] = []
    for i in range(n):
        my_deps = set(draw(st.sets(st.integers(0, i - 1), max_size=i))) if i else set()
        promised = draw(st.integers(0, 15))
        deficiency = draw(st.booleans()) and promised >= 1
        materials: list[dict[str, Any]] = []
        if draw(st.booleans()):
            materials.append({"code": f"form-{i}", "name": f"表{i}", "core": True, "is_form": True})
        for code in draw(st.lists(st.sampled_from(POOL), unique=True, max_size=5)):
            source = "shared_data" if code in SHARED else "applicant"  # one source per code
            materials.append(
                {"code": code, "name": f"名{code}", "core": draw(st.booleans()), "source": source}
            )
        producers = [j for j in range(i) if items[j].get("produces")]
        if producers and draw(st.booleans()):  # a guide that lists a license as the applicant's
            j = draw(st.sampled_from(producers))
            materials.append({"code": f"lic-{j}", "name": f"证{j}", "core": True})
            my_deps.add(j)  # else the catalog is refused (see test_catalog)
        listed = {m["code"] for m in materials}
        for j in (
            draw(st.lists(st.sampled_from(producers), unique=True, max_size=2)) if producers else []
        ):
            if f"lic-{j}" in listed:
                continue
            materials.append(
                {
                    "code": f"lic-{j}",
                    "name": f"证{j}",
                    "core": True,
                    "source": "bundle_item",
                    "produced_by": f"i{j}",
                }
            )
            my_deps.add(j)
        if deficiency and not any(
            not m["core"] and m.get("source", "applicant") == "applicant" for m in materials
        ):
            materials.append({"code": f"extra-{i}", "name": f"补{i}", "core": False})
        fields = [
            {"key": k, "label": k, "type": t, "required": draw(st.booleans())}
            for k, t in draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=4))
        ]
        items.append(
            {
                "code": f"i{i}",
                "basic_code": "000000000000",
                "implementation_code": "0",
                "name": f"事项{i}",
                "department": "d",
                "department_name": "部门",
                "kind": "license",
                "window": "general",
                "statutory_days": promised + draw(st.integers(0, 10)),
                "promised_days": promised,
                "trips": draw(st.integers(0, 3)),
                "steps": draw(st.integers(2, 7)),
                "materials": materials,
                "form_fields": fields,
                "produces": f"kind{i}" if draw(st.booleans()) else None,
                "admits_deficiency": deficiency,
                "supplement_days": draw(st.integers(1, promised)) if deficiency else None,
            }
        )
        deps.append(my_deps)
    total_days = sum(it["promised_days"] for it in items)
    order = draw(st.permutations(range(n)))  # members listed in any order
    return {
        "version": "p1",
        "items": items,
        "bundles": [
            {
                "code": "b",
                "name": "B",
                "members": [
                    {"item": f"i{i}", "depends_on": [f"i{d}" for d in sorted(deps[i])]}
                    for i in order
                ],
                "promised_days": draw(st.integers(0, total_days)),
            }
        ],
    }
