"""The unified social credit code (统一社会信用代码, GB 32100-2015): its check character,
against codes published by the enterprises and bodies that hold them, and as properties
(every single-character slip and every swap of neighbours is caught)."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from domain.uscc import ALPHABET, CreditCode, check_character, is_valid, validate

# Published codes (business licenses, public registers); the first is the standard's own
# example in the discussion of the check character.
KNOWN_VALID = (
    "91350100M000100Y43",  # GB 32100-2015's example
    "91110000600037341L",  # a company registered in Beijing
    "9144030071526726XG",  # Shenzhen: X inside the organisation code
    "121200004013590816",  # 1 2: a public institution (事业单位) registered by 机构编制
    "91310115MA1K3BTP2B",  # MA: a code assigned after 2015
    "92340602MA2PBMEM24",  # 9 2: an individual business (个体工商户)
    "91620105L015101280",
)

organisation = st.text(alphabet=ALPHABET, min_size=2, max_size=2)
region = st.text(alphabet="0123456789", min_size=6, max_size=6)
body = st.text(alphabet=ALPHABET, min_size=9, max_size=9)


@st.composite
def valid_codes(draw: st.DrawFn) -> str:
    first17 = draw(organisation) + draw(region) + draw(body)
    return first17 + check_character(first17)


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_published_codes_are_valid(code: str) -> None:
    assert validate(code) == code
    assert check_character(code[:17]) == code[17]


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("91110000600037341N", "check character does not match"),
        ("9111000060003734", "must be 18 characters"),
        ("91110000600037341LL", "must be 18 characters"),
        ("9111000060003IOZSV", "I, O, S, V and Z"),
        ("91A10000600037341L", "region code"),
        ("", "must be 18 characters"),
    ],
)
def test_wrong_codes_are_refused_without_echoing_them(code: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as raised:
        validate(code)
    if code:
        assert code not in str(raised.value)
    assert not is_valid(code)


def test_spaces_and_small_letters_are_read_as_written_on_the_license() -> None:
    assert validate(" 9144030071526726xg ") == "9144030071526726XG"


@given(valid_codes())
@example("91350100M000100Y43")
def test_the_check_character_makes_any_code_valid(code: str) -> None:
    assert validate(code) == code
    assert validate(code.lower()) == code


@given(valid_codes(), st.integers(0, 17), st.sampled_from(ALPHABET))
@example("91350100M000100Y43", 17, "0")  # the check character itself, mistyped
def test_every_single_character_slip_is_caught(code: str, at: int, char: str) -> None:
    slipped = code[:at] + char + code[at + 1 :]
    assert is_valid(slipped) == (slipped == code)


@given(valid_codes(), st.integers(0, 16))
@example("9144030071526726XG", 16)  # the check character swapped with its neighbour
def test_every_swap_of_neighbours_is_caught(code: str, at: int) -> None:
    swapped = code[:at] + code[at + 1] + code[at] + code[at + 2 :]
    assert is_valid(swapped) == (swapped == code)


@given(st.text(max_size=24))
def test_any_text_is_either_a_valid_code_or_refused_with_a_value_error(text: str) -> None:
    try:
        code = validate(text)
    except ValueError:
        return
    assert len(code) == 18 and check_character(code[:17]) == code[17]


class _Holder(BaseModel):
    code: CreditCode


def test_as_a_field_it_names_the_problem() -> None:
    assert _Holder(code="91110000600037341l").code == "91110000600037341L"
    with pytest.raises(ValidationError, match="check character does not match"):
        _Holder(code="91110000600037341N")
