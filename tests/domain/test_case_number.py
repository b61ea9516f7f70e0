"""办件编号: the format (region, Beijing date, sequence) and its parse."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.case_number import (
    CaseNumber,
    CaseNumberError,
    acceptance_day,
    format_case_number,
    parse_case_number,
)

regions = st.from_regex(r"\A[0-9]{6}\Z")
instants = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2098, 12, 30), timezones=st.just(UTC)
)
sequences = st.integers(min_value=1, max_value=999_999)


def test_the_documented_example() -> None:
    at = datetime(2026, 11, 28, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    assert format_case_number("420684", at, 42) == "420684-20261128-000042"


def test_the_date_is_beijing_s() -> None:
    # 17:00 UTC on the 27th is 01:00 on the 28th in Beijing.
    at = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    assert format_case_number("420684", at, 1) == "420684-20261128-000001"


@given(regions, instants, sequences)
@example("420684", datetime(2026, 11, 27, 16, 0, tzinfo=UTC), 1)  # Beijing midnight
@example("000000", datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC), 999_999)
def test_format_then_parse_gives_the_parts(region: str, at: datetime, sequence: int) -> None:
    text = format_case_number(region, at, sequence)
    assert len(text) == 22
    assert parse_case_number(text) == CaseNumber(region, acceptance_day(at), sequence)
    assert str(parse_case_number(text)) == text


@given(st.text(max_size=40))
@example("420684-20261128-42")
@example("420684-20261131-000001")  # no such day
@example("420684-20261128-000000")  # sequences start at 1
@example("42068-420261128-000001")
def test_anything_else_is_refused_without_echo(text: str) -> None:
    try:
        number = parse_case_number(text)
    except CaseNumberError as exc:
        assert "case_number" in str(exc) or "sequence" in str(exc)
        if len(text) > 3:
            assert text not in str(exc)
        return
    assert str(number) == text


def test_bad_parts_are_named() -> None:
    at = datetime(2026, 11, 28, tzinfo=UTC)
    with pytest.raises(CaseNumberError, match="region_code"):
        format_case_number("4206", at, 1)
    with pytest.raises(CaseNumberError, match="sequence"):
        format_case_number("420684", at, 1_000_000)
    with pytest.raises(CaseNumberError, match="accepted_at"):
        format_case_number("420684", datetime(2026, 11, 28), 1)
    assert acceptance_day(at) == date(2026, 11, 28)


def test_halls_carry_their_region_code_and_old_catalogs_parse() -> None:
    from activities.catalog import snapshot_of
    from domain.catalog_loading import (
        PREVIOUS_FILE,
        load_seed_catalog,
        parse_catalog_json,
        seed_catalog_text,
        shipped_catalog_text,
        validate_catalog,
    )
    from domain.catalog_models import CatalogError

    seed = load_seed_catalog()
    assert {h.region_code for h in seed.halls.values()} == {"420684"}
    assert '"region_code": "420684"' in seed_catalog_text()
    old_text = shipped_catalog_text(PREVIOUS_FILE)
    assert "region_code" not in old_text
    old = parse_catalog_json(old_text)
    assert {h.region_code for h in old.halls.values()} == {"420684"}  # the default
    moved = seed.halls["xiaohe"].model_copy(update={"region_code": "420600"})
    other = seed.model_copy(update={"halls": {**seed.halls, "xiaohe": moved}})
    assert validate_catalog(other.to_document()).halls["xiaohe"].region_code == "420600"
    target = next(iter(seed.items))
    assert snapshot_of(other, target, "xiaohe").region_code == "420600"
    assert snapshot_of(other, target, "no-such-hall").region_code == "420684"
    assert snapshot_of(other, target).region_code is None  # pinned without a hall
    bad = seed_catalog_text().replace('"region_code": "420684"', '"region_code": "4206"', 1)
    with pytest.raises(CatalogError, match="region_code") as raised:
        parse_catalog_json(bad)
    assert "4206" not in str(raised.value).replace("420684", "")
