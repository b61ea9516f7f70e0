"""Text that people read: names, reasons, notes, findings, form answers.

A name with NUL, a control character or a bidi override (U+202E shows the rest of a line
reversed: a license check would print it as the holder's first character) is refused
where it is made, with the field named and the character's code point, never the text.

`Line` is one line (names); `Text` may span lines (\\t, \\n, \\r allowed). Both refuse
C0/C1 controls, DEL, bidi embeddings, overrides, isolates and marks, and lone surrogates.

The check runs when a value is made in Python (the HTTP API's request bodies, the typed
client's and the CLI's inputs), not when Temporal decodes a payload from history (JSON
mode): what history holds was made before, and a rule added later must never stop a
running application from replaying.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, GetJsonSchemaHandler, ValidationInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

__all__ = [
    "JsonSchemaHint",
    "Line",
    "Text",
    "check_line",
    "check_text",
    "describe",
    "is_code_point_safe",
    "text_problem",
    "when_made",
]

# Bidi embeddings and overrides (U+202A-U+202E), isolates (U+2066-U+2069), marks
# (U+200E, U+200F, U+061C): they reorder what a reader sees.
T = TypeVar("T")

_BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
_CONTROLS = "\x00-\x1f\x7f-\x9f"
_LINE_BAD = re.compile(f"[{_CONTROLS}{_BIDI}\ud800-\udfff]")
_TEXT_BAD = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")

# The same rules as JSON Schema patterns, for the OpenAPI document and generated clients
# (lone surrogates cannot be written there; the API refuses them before validation).
LINE_PATTERN = (
    "^[^\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069\\u200e\\u200f\\u061c]*$"
)
TEXT_PATTERN = (
    "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"
    "\\u202a-\\u202e\\u2066-\\u2069\\u200e\\u200f\\u061c]*$"
)


def describe(char: str) -> str:
    """What a refused character is, by code point (the text itself is never repeated)."""
    point = ord(char)
    if 0xD800 <= point <= 0xDFFF:
        kind = "a lone surrogate (not text)"
    elif char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
        kind = "a bidi override or isolate (reorders what a reader sees)"
    elif char in "\u200e\u200f\u061c":
        kind = "a bidi mark (reorders what a reader sees)"
    elif point == 0:
        kind = "NUL"
    else:
        kind = "a control character"
    return f"U+{point:04X}, {kind}"


def text_problem(value: str, *, multiline: bool) -> str | None:
    """Why `value` is not acceptable text, or None. Names the first bad character only."""
    found = (_TEXT_BAD if multiline else _LINE_BAD).search(value)
    if found is None:
        return None
    where = found.start() + 1
    if multiline or found.group() not in "\t\n\r":
        return f"contains {describe(found.group())} at character {where}"
    return f"must be one line: contains {describe(found.group())} at character {where}"


def is_code_point_safe(value: str) -> bool:
    """No lone surrogate: the string can be written as UTF-8 (and so as JSON for Temporal)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_line(value: str) -> str:
    problem = text_problem(value, multiline=False)
    if problem:
        raise ValueError(problem)
    return value


def check_text(value: str) -> str:
    problem = text_problem(value, multiline=True)
    if problem:
        raise ValueError(problem)
    return value


def when_made(check: Callable[[T], T]) -> Callable[[T, ValidationInfo], T]:
    """`check` as a validator that runs when a value is made, not when Temporal decodes
    history (JSON mode): a rule added later never stops a recorded run (module doc)."""

    def validate(value: T, info: ValidationInfo) -> T:
        return value if info.mode == "json" else check(value)

    return validate


class JsonSchemaHint:
    """Adds keywords to a field's JSON Schema (a rule a validator enforces, for the
    OpenAPI document); a second pattern goes under `allOf`."""

    def __init__(self, **keywords: Any) -> None:
        self.keywords = keywords

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        for key, value in self.keywords.items():
            if key == "pattern" and "pattern" in out:
                out.setdefault("allOf", []).append({"pattern": value})
            else:
                out.setdefault(key, value)
        return out


Line = Annotated[str, AfterValidator(when_made(check_line)), JsonSchemaHint(pattern=LINE_PATTERN)]
Text = Annotated[str, AfterValidator(when_made(check_text)), JsonSchemaHint(pattern=TEXT_PATTERN)]
