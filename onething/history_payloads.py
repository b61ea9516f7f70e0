"""Reading what a history's events carry: payloads decoded with the codec, search attributes
typed, the staff member and the staff-written words in a decision (never the applicant's
personal data), instants as recorded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from temporalio.api.common.v1 import Payloads, SearchAttributes
from temporalio.api.history.v1 import HistoryEvent
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.converter import DataConverter, decode_typed_search_attributes

__all__ = [
    "REASON_KEYS",
    "VERDICT_KEYS",
    "decode_payloads",
    "find_staff",
    "instant",
    "parse_time",
    "pick",
    "typed_search_attributes",
    "when",
]

_ACTOR_KEYS = (
    "reviewer",
    "inspector",
    "supervisor",
    "clerk",
    "actor",
    "staff",
    "operator",
    "by",
    "decided_by",
    "accepted_by",
    "received_by",
    "refused_by",
)
VERDICT_KEYS = ("verdict", "result", "outcome", "decision", "passed")
# Generic payloads only ever contribute these keys (never names, ID or phone numbers).
REASON_KEYS = ("reason", "findings", "note", "remarks")


async def decode_payloads(converter: DataConverter, payloads: Payloads) -> list[Any]:
    """The payloads as JSON values; one that cannot be decoded says why instead."""
    if not payloads.payloads:
        return []
    try:
        return list(await converter.decode(list(payloads.payloads)))
    except Exception as exc:  # an unknown key, a payload from another converter
        return [{"undecodable": f"{type(exc).__name__}: {exc}"}]


def typed_search_attributes(api: SearchAttributes) -> TypedSearchAttributes:
    """The values a start or an upsert sets, typed. An unset value is a null payload, and
    the dev server keeps its type on it (`type: Datetime`), which the SDK's decoder then
    parses as a date and fails on: it sets nothing. A value that cannot be read is left
    out, so one attribute never hides the others or the trail."""
    pairs: list[SearchAttributePair[Any]] = []
    for name, payload in api.indexed_fields.items():
        if payload.metadata.get("encoding") == b"binary/null":
            continue
        try:
            one = decode_typed_search_attributes(SearchAttributes(indexed_fields={name: payload}))
        except (TypeError, ValueError, KeyError, RuntimeError):  # what the SDK raises
            continue
        pairs += one.search_attributes
    return TypedSearchAttributes(pairs)


def find_staff(value: Any, depth: int = 0) -> dict[str, Any] | None:
    """The first {staff_id, role} object in a decoded payload, preferring actor keys."""
    if depth > 4:
        return None
    if isinstance(value, Mapping):
        if "staff_id" in value and "role" in value:
            return dict(value)
        for key in _ACTOR_KEYS:
            found = find_staff(value.get(key), depth + 1)
            if found:
                return found
        for inner in value.values():
            found = find_staff(inner, depth + 1)
            if found:
                return found
    if isinstance(value, list):
        for inner in value:
            found = find_staff(inner, depth + 1)
            if found:
                return found
    return None


def pick(value: Any, keys: Sequence[str]) -> str | None:
    """The first of `keys` the payload sets, as text."""
    if isinstance(value, Mapping):
        for key in keys:
            if key in value and value[key] not in (None, ""):
                return str(value[key])
    return None


def when(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def instant(value: datetime) -> str:
    """An instant as the payload's JSON wrote it (UTC with a Z)."""
    return value.isoformat().replace("+00:00", "Z")
