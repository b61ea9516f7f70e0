"""Tokens and the token document: its entries (`TokenEntry`), the registry that maps a
token's SHA-256 to its caller (`TokenRegistry`), and the keyed applicant references the
document keeps instead of ID numbers."""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from domain.people import ResidentId, Role, Staff
from onething.keys import KeyedRef, Purpose, SubjectKeys, configured_subject_keys
from starter.auth.principal import Principal

HEX64 = r"^[0-9a-f]{64}$"
KEYED = r"^[A-Za-z0-9._\-]{1,64}:[0-9a-f]{64}$"
LEGACY_APPLICANT_FIELD = "id_number_sha256"


class AuthConfigError(ValueError):
    """The token document is wrong: one line naming the entry and the problem."""


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def id_number_sha256(id_number: str) -> str:
    """Hex SHA-256 of the validated, upper-cased ID number: the unkeyed pre-image of an
    applicant reference (what the API derives from a submission; never stored)."""
    return sha256_hex(TypeAdapter(ResidentId).validate_python(id_number))


def applicant_ref(keys: SubjectKeys, id_number: str) -> str:
    """What the token file keeps for an applicant: ``key_id:HMAC`` of their ID's SHA-256."""
    return str(keys.keyed(Purpose.APPLICANT, id_number_sha256(id_number)))


class TokenEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$")
    role: Role
    token: SecretStr | None = Field(None, min_length=16, max_length=256)
    token_sha256: str | None = Field(None, pattern=HEX64)
    hall: str | None = Field(None, min_length=1, max_length=64)
    department: str | None = Field(None, min_length=1, max_length=64)
    applicant_ref: str | None = Field(None, pattern=KEYED)

    @model_validator(mode="before")
    @classmethod
    def _legacy_applicant_field(cls, data: Any) -> Any:
        if isinstance(data, dict) and LEGACY_APPLICANT_FIELD in data:
            raise ValueError(
                f"{LEGACY_APPLICANT_FIELD} (an unkeyed SHA-256 of an ID number, which can be "
                "reversed) is no longer accepted; replace it with applicant_ref: "
                "`python -m starter.auth upgrade-tokens` rewrites the file"
            )
        return data

    @model_validator(mode="after")
    def _scope(self) -> TokenEntry:
        if (self.token is None) == (self.token_sha256 is None):
            raise ValueError("give exactly one of token or token_sha256")
        needs = {
            Role.WINDOW_CLERK: "hall",
            Role.REVIEWER: "department",
            Role.INSPECTOR: "department",
            Role.DEPARTMENT_HEAD: "department",
            Role.APPLICANT: "applicant_ref",
        }.get(self.role)
        for scope in ("hall", "department", "applicant_ref"):
            given = getattr(self, scope) is not None
            if scope == needs and not given:
                raise ValueError(f"a {self.role.value} needs {scope}")
            if scope != needs and given:
                raise ValueError(f"a {self.role.value} has no {scope}")
        return self

    @property
    def digest(self) -> str:
        if self.token is not None:
            return sha256_hex(self.token.get_secret_value())
        assert self.token_sha256 is not None
        return self.token_sha256


class TokenDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tokens: list[TokenEntry] = Field(min_length=1)


class TokenRegistry:
    """Tokens by their SHA-256: the registry never keeps a plain token it does not need.

    `subject_keys` checks applicants' references; by default the configured subject
    keyring (read only when the document has an applicant)."""

    def __init__(
        self,
        entries: Iterable[TokenEntry],
        *,
        source: str = "inline",
        subject_keys: SubjectKeys | None = None,
    ) -> None:
        self.entries = list(entries)
        self.source = source
        self._by_digest: dict[str, Principal] = {}
        if subject_keys is None and any(e.applicant_ref for e in self.entries):
            subject_keys = configured_subject_keys()
        names: set[str] = set()
        for index, e in enumerate(self.entries):
            if e.name in names:
                raise AuthConfigError(f"{source}: tokens[{index}].name: {e.name!r} is used twice")
            if e.digest in self._by_digest:
                raise AuthConfigError(f"{source}: tokens[{index}]: the same token is used twice")
            names.add(e.name)
            ref = KeyedRef.parse(e.applicant_ref) if e.applicant_ref else None
            if (
                ref is not None
                and subject_keys is not None
                and ref.key_id not in subject_keys.keyring.keys
            ):
                raise AuthConfigError(
                    f"{source}: tokens[{index}].applicant_ref: key id {ref.key_id!r} is not "
                    f"in the subject keyring ({subject_keys.source}); compute it again with "
                    "`python -m starter.auth hash-id`, or put the old key back"
                )
            self._by_digest[e.digest] = Principal(
                name=e.name,
                role=e.role,
                hall=e.hall,
                department=e.department,
                applicant=ref,
                subject_keys=subject_keys if ref is not None else None,
            )

    @classmethod
    def from_document(
        cls, data: Any, *, source: str = "inline", subject_keys: SubjectKeys | None = None
    ) -> TokenRegistry:
        try:
            document = TokenDocument.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(
                f"[{p}]" if isinstance(p, int) else str(p) for p in first["loc"]
            ).replace(".[", "[")
            message = first["msg"].removeprefix("Value error, ")
            raise AuthConfigError(
                f"{source}: {where or 'document'}: {message}"
                + (f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else "")
            ) from None
        return cls(document.tokens, source=source, subject_keys=subject_keys)

    @classmethod
    def from_text(
        cls,
        text: str,
        *,
        toml: bool = False,
        source: str = "inline",
        subject_keys: SubjectKeys | None = None,
    ) -> TokenRegistry:
        return cls.from_document(
            parse_document(text, toml=toml, source=source), source=source, subject_keys=subject_keys
        )

    @classmethod
    def from_file(cls, path: Path, *, subject_keys: SubjectKeys | None = None) -> TokenRegistry:
        return cls.from_text(
            read_document(path),
            toml=path.suffix.lower() == ".toml",
            source=str(path),
            subject_keys=subject_keys,
        )

    def authenticate(self, token: str) -> Principal | None:
        # A dict lookup on the SHA-256: timing says nothing useful about the token.
        return self._by_digest.get(sha256_hex(token))

    def token_of(self, name: str) -> str | None:
        for e in self.entries:
            if e.name == name and e.token is not None:
                return e.token.get_secret_value()
        return None

    def staff_member(self, name: str) -> Staff | None:
        """The member of staff with this staff ID (the document is the staff directory)."""
        for e in self.entries:
            if e.name == name and e.role is not Role.APPLICANT:
                return Staff(staff_id=e.name, role=e.role, department=e.department, hall=e.hall)
        return None


def parse_document(text: str, *, toml: bool, source: str) -> Any:
    try:
        return tomllib.loads(text) if toml else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = "TOML" if toml else "JSON"
        raise AuthConfigError(f"{source}: not valid {kind}: {exc}") from None


def read_document(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AuthConfigError(f"{path}: cannot read: {exc.strerror}") from None
