"""The tree's imports, read from the source: the layers' table and a drawing of it.

`PARTS` is the table of docs/development.md, "Layers" (tests/system/test_layers.py fails on
an import against it). A module belongs to the part with the longest pattern that names it
(`x` names the module x and everything under it; `x_*` every sibling module whose name
starts with `x_`); inside its part, to the room with the longest such pattern (the drawing
shows rooms: the API apart from the client, audit apart from bench, the CLI, with every
`python -m`, apart from `make run` and the scripts). Imports are read with ast, nested ones
and those under `TYPE_CHECKING` too (a type is an arrow as well); those of a module's
`if __name__ == "__main__":` block are not (run as a script, it is an entry point).

    .venv/bin/python scripts/import_map.py            # print the drawing (Mermaid)
    .venv/bin/python scripts/import_map.py --write    # put it in docs/development.md
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "development.md"
NOT_PROJECT = {"tests", "build", "__pycache__"}  # tests may import anything


@dataclass(frozen=True)
class Part:
    name: str
    modules: tuple[str, ...]
    may_import: tuple[str, ...]  # other parts, never one above
    # (room, patterns) drawn apart inside the part, bottom to top; none: it is one room
    rooms: tuple[tuple[str, tuple[str, ...]], ...] = ()


# What the worker and the client both stand on.
SERVICE = ("domain", "basics", "store", "activities", "workflows", "infrastructure")

# Bottom to top. A new package or module needs a row (or a pattern in one); an arrow the
# table does not allow fails the layer test, naming the file, line and import.
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
    Part(
        "client and API",
        ("starter",),
        SERVICE,
        (("client", ("starter",)), ("API", ("starter.api",))),
    ),
    Part(
        "tools",
        ("audit", "bench"),
        (*SERVICE, "worker", "client and API"),
        (("audit", ("audit",)), ("bench", ("bench",))),
    ),
    Part(
        "entry points",
        ("starter.cli", "starter.cli_*", "starter.embedded", "*.__main__", "scripts"),
        (*SERVICE, "worker", "client and API", "tools"),
        (
            ("scripts", ("scripts",)),
            ("make run", ("starter.embedded",)),
            ("CLI", ("starter.cli", "starter.cli_*", "*.__main__")),  # python -m: a command
        ),
    ),
)


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


def room_of(module: str) -> str | None:
    """The room inside the module's part (the part's name when it is one room)."""
    part = part_of(module)
    if part is None:
        return None
    if not part.rooms:
        return part.name
    matches = [
        (len(p), room) for room, patterns in part.rooms for p in patterns if names(module, p)
    ]
    return max(matches)[1] if matches else None


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


@cache
def project_imports() -> tuple[tuple[str, Path, int, str], ...]:
    """(module, file, line, imported module) for every import of the tree."""
    return tuple(
        (module, path, line, imported)
        for module, path in MODULES.items()
        for line, imported in imports(module, path.read_text(), package=path.name == "__init__.py")
    )


# -- the drawing -------------------------------------------------------------------------

DRAWING = re.compile(r"```mermaid\n.*?```\n", re.DOTALL)


def rooms() -> list[tuple[Part, str]]:
    """Every room, in the table's order (a part with no rooms of its own is one)."""
    return [(part, room) for part in PARTS for room in ([r for r, _ in part.rooms] or [part.name])]


def arrows() -> Counter[tuple[str, str]]:
    """(room, room it imports from) -> how many modules of the one import how many of the
    other (each importing and imported module counted once a pair)."""
    pairs = {
        (module, imported)
        for module, _, _, imported in project_imports()
        if part_of(imported) is not None
    }
    found: Counter[tuple[str, str]] = Counter()
    for module, imported in pairs:
        source, target = room_of(module), room_of(imported)
        if source is not None and target is not None and source != target:
            found[source, target] += 1
    return found


def node(name: str) -> str:
    return re.sub(r"[\W_]+", "_", name.lower()).strip("_")


def drawing() -> str:
    """The rooms as a Mermaid flowchart, an arrow where one imports the other (not how
    often: the page is redrawn when a dependency appears or goes, not with every import):
    the top of the table at the top, the domain at the foot, arrows pointing down."""
    lines = ["```mermaid", "flowchart TB"]
    for part in reversed(PARTS):
        if not part.rooms:
            lines.append(f'  {node(part.name)}["{part.name}"]')
            continue
        lines.append(f'  subgraph part_{node(part.name)}["{part.name}"]')
        lines += [f'    {node(room)}["{room}"]' for room, _ in reversed(part.rooms)]
        lines.append("  end")
    order = {room: index for index, (_, room) in enumerate(reversed(rooms()))}
    found = arrows()
    for source, target in sorted(found, key=lambda a: (order[a[0]], order[a[1]])):
        lines.append(f"  {node(source)} --> {node(target)}")
    lines.append("```")
    return "\n".join(lines) + "\n"


def drawn_in_doc() -> str | None:
    """The drawing docs/development.md shows (its one Mermaid block)."""
    match = DRAWING.search(DOC.read_text(encoding="utf-8"))
    return match.group(0) if match else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help=f"put it in {DOC.relative_to(ROOT)}")
    if not parser.parse_args().write:
        sys.stdout.write(drawing())
        return 0
    text = DOC.read_text(encoding="utf-8")
    if drawn_in_doc() is None:
        print(f"{DOC.relative_to(ROOT)} has no ```mermaid block to replace", file=sys.stderr)
        return 1
    DOC.write_text(DRAWING.sub(lambda _: drawing(), text, count=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
