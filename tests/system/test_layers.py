"""Arrows one way: every project module imports only its own part and the parts below it.

The rule is docs/development.md, "Layers"; `PARTS` (scripts/import_map.py, which reads the
imports for this test and for the drawing in that page) is that table. A module belongs to
the part with the longest pattern that names it (`x` names the module x and everything under
it; `x_*` every sibling module whose name starts with `x_`). Imports are read from the source
(ast), nested ones and those under `TYPE_CHECKING` too (a type is an arrow as well); those of
a module's `if __name__ == "__main__":` block are not (run as a script, it is an entry point).
"""

from __future__ import annotations

from collections.abc import Iterator

from scripts.import_map import (
    MODULES,
    PARTS,
    ROOT,
    arrows,
    drawing,
    drawn_in_doc,
    imports,
    names,
    node,
    part_of,
    project_imports,
    room_of,
    rooms,
)

# Arrows against the table still being taken out: (module, imported module prefix) -> why.
# One that no longer occurs fails too, so this list only shrinks.
KNOWN: dict[tuple[str, str], str] = {}


def test_the_table_points_one_way() -> None:
    """Each part imports only parts listed before it: no cycle can be written into it."""
    seen: set[str] = set()
    for part in PARTS:
        assert set(part.may_import) <= seen, f"{part.name} may import a part above it"
        seen.add(part.name)


def test_every_module_has_a_part() -> None:
    assert MODULES, "no project module found"
    homeless = sorted(m for m in MODULES if part_of(m) is None)
    assert not homeless, f"modules no part of scripts/import_map.py PARTS names: {homeless}"


def test_every_module_has_a_room() -> None:
    roomless = sorted(m for m in MODULES if part_of(m) is not None and room_of(m) is None)
    assert not roomless, f"modules no room of their part (scripts/import_map.py) names: {roomless}"


def against_the_table() -> Iterator[tuple[str, int, str, str]]:
    """(module, line, imported module, message) for every arrow the table does not allow."""
    for module, path, line, imported in project_imports():
        part, target = part_of(module), part_of(imported)
        if part is None or target is None or target is part or target.name in part.may_import:
            continue
        where = f"{path.relative_to(ROOT)}:{line}"
        message = f"{where}: {module} ({part.name}) imports {imported} ({target.name})"
        yield module, line, imported, message


def known(module: str, imported: str) -> tuple[str, str] | None:
    return next((k for k in KNOWN if k[0] == module and names(imported, k[1])), None)


def test_imports_point_down() -> None:
    wrong = [
        message
        for module, _, imported, message in against_the_table()
        if known(module, imported) is None
    ]
    assert not wrong, "imports against the layers (docs/development.md):\n" + "\n".join(wrong)


def test_known_exceptions_still_occur() -> None:
    """A known exception that no longer occurs is taken off the list."""
    seen = {known(module, imported) for module, _, imported, _ in against_the_table()}
    assert not set(KNOWN) - seen, f"remove from KNOWN: {sorted(set(KNOWN) - seen)}"


def test_an_upward_import_is_seen_wherever_it_stands() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from starter import client\n"
        "if TYPE_CHECKING:\n"
        "    import worker\n"
        "def run() -> None:\n"
        "    from . import settings\n"
        "if __name__ == '__main__':\n"
        "    from starter.cli import app\n"
    )
    found = list(imports("onething.example", source))
    assert found == [(2, "starter.client"), (4, "worker"), (6, "onething.settings")]
    parts = [
        getattr(part_of(name), "name", None) for name in ("onething.example", *dict(found).values())
    ]
    assert parts == ["infrastructure", "client and API", "worker", "basics"]


def test_the_rooms_point_one_way() -> None:
    """Inside a part too, the drawing's rooms import only rooms listed before them."""
    order = [room for _, room in rooms()]
    upward = [f"{a} imports {b}" for a, b in arrows() if order.index(b) > order.index(a)]
    assert not upward, f"rooms importing a room above them: {upward}"


def test_the_drawing_in_the_doc_is_the_code_s() -> None:
    """docs/development.md shows the imports as they are: redrawn when they change."""
    assert drawn_in_doc() == drawing(), (
        "the drawing of the imports in docs/development.md is not the code's: "
        "run `.venv/bin/python scripts/import_map.py --write` and commit the page"
    )


def test_the_drawing_has_every_room_and_each_dependency_once() -> None:
    drawn = drawing()
    assert all(f'["{room}"]' in drawn for _, room in rooms())
    found = arrows()
    assert found["API", "domain"] > 0 and ("domain", "API") not in found
    drawn_arrows = [line.strip() for line in drawn.splitlines() if "-->" in line]
    assert sorted(drawn_arrows) == sorted(f"{node(a)} --> {node(b)}" for a, b in found)
