"""People's ID numbers as an attacker would guess them, for the tests that show a stored
digest is not reversed by enumerating IDs."""

from __future__ import annotations

from domain.people import resident_id_check_digit

# What an attacker who knows a person's county and birthday tries: every sequence number.
BORN = "42068419900101"


def candidate_ids(prefix: str = BORN) -> list[str]:
    return [f"{prefix}{n:03d}" + resident_id_check_digit(f"{prefix}{n:03d}") for n in range(1000)]
