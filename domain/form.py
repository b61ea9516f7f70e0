"""A submitted form checked against the one form, before anything is started.

The one form (`domain.bundle.one_form`) is what `GET /catalog/bundles/{code}` publishes as
JSON Schema: groups of fields by canonical key (`enterprise.name` is
`{"enterprise": {"name": ...}}`), each field typed, some with a length, a pattern or
options. The typed client, the HTTP API and the CLI all ask here.

Two checks:
- `form_shape_problems`: what any form must be, without the catalog: JSON values only,
  at most `MAX_FORM_DEPTH` levels and `MAX_FORM_KEYS` keys, field names as the catalog
  writes them, strings of readable text. The `Submission` model runs it, so no form
  that Temporal's decoder cannot read back (it stops at 200 levels) is ever started.
- `form_problems`: the above, then the one form of the application's item or bundle:
  unknown keys are refused by name, each answer has its field's type, length, pattern
  or options.

A missing field is not refused here: the form is a material of the application, and
what is missing is for the correction notice (补正), not for a refusal at the door.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, NamedTuple

from domain.bundle import MergedField, OneForm
from domain.catalog_models import FieldType
from domain.text import text_problem

__all__ = [
    "MAX_FORM_DEPTH",
    "MAX_FORM_KEYS",
    "MAX_FORM_STRING",
    "FormProblem",
    "form_problems",
    "form_shape_problems",
]

MAX_FORM_DEPTH = 8  # groups within groups; the catalog's forms use two
MAX_FORM_KEYS = 200  # keys over all groups; the largest one form has about 30
MAX_FORM_STRING = 2000  # characters, for a field without a length of its own
MAX_PROBLEMS = 20  # an answer lists at most this many
_SAFE_INTEGER = 2**53  # integers a JSON reader anywhere reads exactly
_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
_DOTTED = re.compile(r"[a-z][a-z0-9_]{0,63}(\.[a-z][a-z0-9_]{0,63}){1,7}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

_TYPE_WORDS = {
    FieldType.STRING: "a string",
    FieldType.INTEGER: "a whole number",
    FieldType.NUMBER: "a number",
    FieldType.BOOLEAN: "true or false",
    FieldType.DATE: "a date as YYYY-MM-DD",
    FieldType.ENUM: "one of its options",
}


class FormProblem(NamedTuple):
    field: str  # e.g. `form.enterprise.name`
    problem: str  # never the value sent


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a group"
    if isinstance(value, list | tuple):
        return "a list"
    return "not a JSON value"


def _scalar_problem(value: object) -> str | None:
    """What no form answer may be, whatever its field."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if abs(value) <= _SAFE_INTEGER else f"is beyond ±2^53 ({_SAFE_INTEGER})"
    if isinstance(value, float):
        return None if math.isfinite(value) else "must be a finite number"
    if isinstance(value, str):
        if len(value) > MAX_FORM_STRING:
            return f"is longer than {MAX_FORM_STRING} characters"
        return text_problem(value, multiline=True)
    return f"must be a string, number, true/false or a group of fields, not {_kind(value)}"


def form_shape_problems(form: Mapping[str, Any], root: str = "form") -> list[FormProblem]:
    """The bounds of any form (see the module doc); iterative, so no depth can hurt it."""
    problems: list[FormProblem] = []
    keys = 0
    stack: list[tuple[str, Mapping[str, Any], int]] = [(root, form, 1)]
    while stack and len(problems) < MAX_PROBLEMS:
        path, group, depth = stack.pop()
        if depth > MAX_FORM_DEPTH:
            problems.append(FormProblem(path, f"nests deeper than {MAX_FORM_DEPTH} levels"))
            continue
        keys += len(group)
        if keys > MAX_FORM_KEYS:
            return [FormProblem(root, f"has more than {MAX_FORM_KEYS} fields")]
        children: list[tuple[str, Mapping[str, Any], int]] = []
        for key, value in group.items():
            if not isinstance(key, str) or not _KEY.fullmatch(key):
                problems.append(FormProblem(path, _bad_key(key)))
                continue
            where = f"{path}.{key}"
            if isinstance(value, Mapping):
                children.append((where, value, depth + 1))
            elif (problem := _scalar_problem(value)) is not None:
                problems.append(FormProblem(where, problem))
        stack.extend(reversed(children))  # document order
    return problems[:MAX_PROBLEMS]


def _bad_key(key: object) -> str:
    if isinstance(key, str) and _DOTTED.fullmatch(key):
        nested = "…"
        for part in reversed(key.split(".")):
            nested = f'{{"{part}": {nested}}}'
        return f"has the dotted key {key}: write it as nested groups, {nested}"
    return (
        "has a key that is no field name (a-z, 0-9 and _, starting with a letter, "
        "at most 64 characters)"
    )


# A group of the one form: its fields and subgroups by name.
_Tree = dict[str, "MergedField | _Tree"]


def _tree(fields: Sequence[MergedField]) -> _Tree:
    root: _Tree = {}
    for f in fields:
        node = root
        *groups, leaf = f.key.split(".")
        for name in groups:
            child = node.setdefault(name, {})
            assert isinstance(child, dict), f"catalog checks keep {f.key} a field or a group"
            node = child
        node[leaf] = f
    return root


def _answer_problem(f: MergedField, value: object) -> str | None:
    wanted = _TYPE_WORDS[f.type]
    if isinstance(value, Mapping) or value is None:
        return f"must be {wanted}, not {_kind(value)}"
    if f.type is FieldType.BOOLEAN:
        return None if isinstance(value, bool) else f"must be {wanted}, not {_kind(value)}"
    if f.type is FieldType.INTEGER:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"must be {wanted}, not {_kind(value)}"
    if f.type is FieldType.NUMBER:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else f"must be {wanted}, not {_kind(value)}"
    if not isinstance(value, str):
        return f"must be {wanted}, not {_kind(value)}"
    if f.type is FieldType.ENUM:
        return (
            None if value in (f.options or ()) else "must be one of: " + ", ".join(f.options or ())
        )
    if f.type is FieldType.DATE:
        try:
            ok = bool(_ISO_DATE.fullmatch(value)) and bool(date.fromisoformat(value))
        except ValueError:
            ok = False
        return None if ok else f"must be {wanted} (a real date)"
    if f.max_length is not None and len(value) > f.max_length:
        return f"is longer than {f.max_length} characters"
    if f.pattern and re.search(f.pattern, value) is None:
        return f"does not have the form this field asks for (pattern {f.pattern})"
    return None


def form_problems(one: OneForm, form: Mapping[str, Any], root: str = "form") -> list[FormProblem]:
    """Every problem of `form` against the one form `one`, in document order (at most 20)."""
    shape = form_shape_problems(form, root)
    if shape:
        return shape
    problems: list[FormProblem] = []
    stack: list[tuple[str, Mapping[str, Any], _Tree]] = [(root, form, _tree(one.fields))]
    while stack and len(problems) < MAX_PROBLEMS:
        path, group, node = stack.pop()
        children: list[tuple[str, Mapping[str, Any], _Tree]] = []
        for key, value in group.items():
            where = f"{path}.{key}"  # keys passed the shape check: short, plain names
            expected = node.get(key)
            if expected is None:
                problems.append(FormProblem(where, f"is not a field of the form of {one.bundle}"))
            elif isinstance(expected, dict):
                if isinstance(value, Mapping):
                    children.append((where, value, expected))
                else:
                    problems.append(
                        FormProblem(where, f"must be a group of fields, not {_kind(value)}")
                    )
            elif (problem := _answer_problem(expected, value)) is not None:
                problems.append(FormProblem(where, problem))
        stack.extend(reversed(children))
    return problems[:MAX_PROBLEMS]
