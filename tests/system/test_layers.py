"""Arrows one way: every project module imports only its own part and the parts below it.

The rule is docs/development.md, "Layers"; `PARTS` below is that table. A module belongs to
the part with the longest pattern that names it (`x` names the module x and everything under
it; `x_*` every sibling module whose name starts with `x_`). Imports are read from the source
(ast), nested ones and those under `TYPE_CHECKING` too (a type is an arrow as well); those of
a module's `if __name__ == "__main__":` block are not (run as a script, it is an entry point).
"""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_PROJECT = {"tests", "build", "__pycache__"}  # tests may import anything


@dataclass(frozen=True)
class Part:
    name: str
    modules: tuple[str, ...]
    may_import: tuple[str, ...]  # other parts, never one above


# What the worker and the client both stand on.
SERVICE = ("domain", "basics", "store", "activities", "workflows", "infrastructure")

# Bottom to top. A new package or module needs a row (or a pattern in one); an arrow the
# table does not allow fails below, naming the file, line and import.
PARTS = (
    Part("domain", ("domain",), ()),
    Part(
        "basics",
        (
            "onething.settings",
            "onething.files",
            "onething.codec",
            "onething.keys",
            "onething.logs",
            "onething.metrics",
        ),
        (),
    ),
    Part("store", ("store",), ("domain", "basics")),
    Part("activities", ("activities",), ("domain", "basics", "store")),
    Part("workflows", ("workflows",), ("domain", "activities")),
    # activities: their registered names and models (what a history's events carry)
    Part("infrastructure", ("onething",), ("domain", "basics", "store", "activities", "workflows")),
    Part("worker", ("worker",), SERVICE),
    Part("client and API", ("starter",), SERVICE),
    Part("tools", ("audit", "bench"), (*SERVICE, "worker", "client and API")),
    Part(
        "entry points",
        ("starter.cli", "starter.cli_*", "starter.embedded", "*.__main__", "scripts"),
        (*SERVICE, "worker", "client and API", "tools"),
    ),
)


# Arrows against the table still being taken out: (module, imported module prefix) -> why.
# One that no longer occurs fails too, so this list only shrinks.
KNOWN: dict[tuple[str, str], str] = {}


def module_files() -> Iterator[tuple[str, Path]]:
    """Every project module (dotted name, file), outside the tests and the environment."""
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if any(
            p.startswith(".") or p in NOT_PROJECT or p.endswith(".egg-info") for p in relative.parts
        ):
            continue
        parts = relative.with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


MODULES = dict(module_files())
TOP_LEVEL = {name.split(".")[0] for name in MODULES}


def names(module: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(module, pattern) or module.startswith(pattern + ".")


def part_of(module: str) -> Part | None:
    matches = [(len(p), part) for part in PARTS for p in part.modules if names(module, p)]
    return max(matches, key=lambda m: m[0])[1] if matches else None


def is_main_block(node: ast.AST) -> bool:
    """`if __name__ == "__main__":` — the module run as a script is an entry point."""
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
        and any(
            isinstance(c, ast.Constant) and c.value == "__main__" for c in node.test.comparators
        )
    )


def import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif not is_main_block(child):
            yield from import_nodes(child)


def imports(module: str, source: str, *, package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import of a project module in `source`."""
    home = module if package else module.rpartition(".")[0]
    for node in import_nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            found = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:  # relative: from the module's package up
                anchor = home.split(".")[: len(home.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from package import module` imports the module; a name in it is the package's
            found = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        for name in dict.fromkeys(found):
            if name.split(".")[0] in TOP_LEVEL:
                yield node.lineno, name


def test_the_table_points_one_way() -> None:
    """Each part imports only parts listed before it: no cycle can be written into it."""
    seen: set[str] = set()
    for part in PARTS:
        assert set(part.may_import) <= seen, f"{part.name} may import a part above it"
        seen.add(part.name)


def test_every_module_has_a_part() -> None:
    assert MODULES, "no project module found"
    homeless = sorted(m for m in MODULES if part_of(m) is None)
    assert not homeless, f"modules no part of tests/system/test_layers.py PARTS names: {homeless}"


def against_the_table() -> Iterator[tuple[str, int, str, str]]:
    """(module, line, imported module, message) for every arrow the table does not allow."""
    for module, path in MODULES.items():
        part = part_of(module)
        if part is None:
            continue
        for line, imported in imports(module, path.read_text(), package=path.name == "__init__.py"):
            target = part_of(imported)
            if target is None or target is part or target.name in part.may_import:
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
