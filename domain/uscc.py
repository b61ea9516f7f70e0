"""The unified social credit code (统一社会信用代码) of GB 32100-2015: the credit subject of
an enterprise or other organisation, as a resident ID number is a person's.

18 characters from 31 (the digits and the capital letters but I, O, S, V and Z):

- 1: the registering authority (登记管理部门代码, 9 for market regulation);
- 2: the kind of organisation (机构类别代码, under 9: 1 enterprise, 2 individual
  business, 3 farmers' cooperative);
- 3-8: the registering authority's region code (GB/T 2260), digits;
- 9-17: the organisation's identification code (主体标识码, GB 11714);
- 18: the check character.

The check character (the standard's section 4.2): each of the first 17 characters
stands for its value 0..30 in `ALPHABET`, the i-th (from 0) is weighted 3^i mod 31, and
the check character is the one whose value brings the weighted sum to a multiple of 31.
Every weight is prime to 31 and each is 3 times its left neighbour's, so any single
mistyped character and any swap of two different neighbours changes the sum: both are
always caught.

Only what the standard fixes for every code is checked. Which authority and kind codes
exist has grown since 2015 and is no business of a credit look-up; neither is the GB 11714
check of characters 9-17, which codes of some kinds do not carry.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from domain.text import JsonSchemaHint, when_made

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {char: value for value, char in enumerate(ALPHABET)}
MODULUS = len(ALPHABET)  # 31
WEIGHTS = tuple(pow(3, i, MODULUS) for i in range(17))  # 1, 3, 9, 27, 19, 26, ...
LENGTH = 18


def check_character(first17: str) -> str:
    """The check character for 17 leading characters (upper case, from `ALPHABET`)."""
    if len(first17) != LENGTH - 1 or any(c not in _VALUE for c in first17):
        raise ValueError(f"needs 17 characters from {ALPHABET}")
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[-total % MODULUS]


def validate(code: str) -> str:
    """The code as printed on a license (upper case, no surrounding spaces), or a
    ValueError naming the problem and never repeating the code."""
    code = code.strip().upper()
    if len(code) != LENGTH:
        raise ValueError("must be 18 characters (统一社会信用代码)")
    if any(c not in _VALUE for c in code):
        raise ValueError("must be digits and capital letters other than I, O, S, V and Z")
    if not code[2:8].isdigit():
        raise ValueError("characters 3 to 8 (the region code) must be digits")
    if code[17] != check_character(code[:17]):
        raise ValueError("check character does not match (mistyped code?)")
    return code


def is_valid(code: str) -> bool:
    try:
        validate(code)
    except ValueError:
        return False
    return True


# A pydantic field: checked when made (the API, the command line), kept as recorded when
# Temporal decodes history, so a later rule never stops a recorded run.
CreditCode = Annotated[
    str,
    AfterValidator(when_made(validate)),
    JsonSchemaHint(
        description="统一社会信用代码 (GB 32100-2015): 18 characters with its check character.",
        examples=["91350100M000100Y43"],
    ),
]
