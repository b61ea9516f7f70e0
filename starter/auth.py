"""Who may call the HTTP API: bearer tokens mapped to a role and a scope.

Token document (JSON, or TOML with `[[tokens]]` tables), one entry per caller:

    {"tokens": [
      {"name": "clerk-yc-01", "role": "window_clerk", "hall": "yicheng-center",
       "token": "<at least 16 characters>"},
      {"name": "rev-health-01", "role": "reviewer", "department": "health",
       "token_sha256": "<hex SHA-256 of the token>"},
      {"name": "insp-market-01", "role": "inspector", "department": "market", "token": "..."},
      {"name": "head-market", "role": "department_head", "department": "market", "token": "..."},
      {"name": "applicant-wang", "role": "applicant",
       "applicant_ref": "<key id>:<HMAC of the applicant's ID number>", "token": "..."},
      {"name": "sup-01", "role": "supervisor", "token": "..."},
      {"name": "audit-01", "role": "auditor", "token": "..."},
      {"name": "ops-01", "role": "operator", "token": "..."}
    ]}

- `name` identifies the caller; for staff it is the staff ID written into the decision
  trail. `token` (plain) or `token_sha256` (only the hash is stored) — exactly one.
- Scope: a window clerk has a `hall`; a reviewer, an inspector or the head of a
  department (`department_head`: extensions, excluded time) a `department`; an applicant
  an `applicant_ref`: HMAC-SHA256 of the SHA-256 of their ID number under the subject
  keyring (`onething.keys`), prefixed with the key's id. `python -m starter.auth
  hash-id` computes it with this installation's keyring. Without the key the file says
  nothing about whose ID it is (a plain SHA-256 of an 18-digit ID is reversed in seconds).
- The older field `id_number_sha256` (that plain SHA-256) is refused with a message saying
  how to replace it: `python -m starter.auth upgrade-tokens` rewrites a JSON file in place
  (for TOML it prints the lines to paste); the embedded default file is rewritten at start.
- Where it is read from, first found wins: `ONETHING_API_TOKENS` (the document inline),
  `ONETHING_API_TOKENS_FILE` (a .json or .toml file), else the embedded default
  `<ONETHING_DATA_DIR>/api-tokens.json`, created on first use with random tokens for
  every role (`python -m starter.auth token NAME` prints one).

Rules (what each role may do) are the `may_*` functions below; a refusal is a 403 whose
message gives the reason. No token or an unknown one is a 401.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tomllib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from domain.excluded_time import EXCLUDED_TIME_DECIDERS
from domain.people import ResidentId, Role, Staff
from onething.codec import KeyringError
from onething.keys import (
    KeyedRef,
    Purpose,
    SubjectKeys,
    configured_subject_keys,
    open_subject_keys,
)
from onething.settings import Settings, load_settings
from starter.errors import ApiError

__all__ = [
    "AuthConfigError",
    "Principal",
    "TokenEntry",
    "TokenRegistry",
    "applicant_ref",
    "authenticate",
    "default_token_document",
    "id_number_sha256",
    "load_api_tokens",
    "upgrade_token_document",
]

STAFF_ROLES = frozenset(Role) - {Role.APPLICANT}
READ_ALL_ROLES = frozenset({Role.SUPERVISOR, Role.AUDITOR, Role.OPERATOR})
# A department's staff: they read what involves their department.
DEPARTMENT_ROLES = frozenset({Role.REVIEWER, Role.INSPECTOR, Role.DEPARTMENT_HEAD})
CODEC_ROLES = frozenset({Role.OPERATOR, Role.AUDITOR})
_HEX64 = r"^[0-9a-f]{64}$"
_KEYED = r"^[A-Za-z0-9._\-]{1,64}:[0-9a-f]{64}$"
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
    token_sha256: str | None = Field(None, pattern=_HEX64)
    hall: str | None = Field(None, min_length=1, max_length=64)
    department: str | None = Field(None, min_length=1, max_length=64)
    applicant_ref: str | None = Field(None, pattern=_KEYED)

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


@dataclass(frozen=True)
class Principal:
    """The caller, as its token says."""

    name: str
    role: Role
    hall: str | None = None
    department: str | None = None
    applicant: KeyedRef | None = None  # an applicant's keyed reference (token file)
    subject_keys: SubjectKeys | None = field(default=None, compare=False, repr=False)

    def is_applicant_of(self, id_sha256: str | None) -> bool:
        """Whether this caller is the applicant whose ID number has SHA-256 `id_sha256`
        (what the API derives from the application), keyed and compared in constant time."""
        if self.applicant is None or self.subject_keys is None or id_sha256 is None:
            return False
        return self.subject_keys.matches(self.applicant, Purpose.APPLICANT, id_sha256)

    def staff(self) -> Staff:
        return Staff(staff_id=self.name, role=self.role, department=self.department, hall=self.hall)

    @property
    def reads_all(self) -> bool:
        return self.role in READ_ALL_ROLES

    def describe(self) -> str:
        scope = self.hall or self.department
        return f"{self.role.value}" + (f" of {scope}" if scope else "")


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
            _parse(text, toml=toml, source=source), source=source, subject_keys=subject_keys
        )

    @classmethod
    def from_file(cls, path: Path, *, subject_keys: SubjectKeys | None = None) -> TokenRegistry:
        return cls.from_text(
            _read(path),
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


def _parse(text: str, *, toml: bool, source: str) -> Any:
    try:
        return tomllib.loads(text) if toml else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = "TOML" if toml else "JSON"
        raise AuthConfigError(f"{source}: not valid {kind}: {exc}") from None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AuthConfigError(f"{path}: cannot read: {exc.strerror}") from None


# --------------------------------------------------------------------------- loading


def default_token_document(
    halls: Sequence[str], departments: Sequence[str], demo_applicant_ref: str | None = None
) -> dict[str, Any]:
    """Random tokens for every role of the embedded default (one clerk per hall, one
    reviewer and one inspector per department)."""

    def new() -> str:
        return secrets.token_urlsafe(24)

    entries: list[dict[str, Any]] = [
        {"name": f"clerk-{h}", "role": "window_clerk", "hall": h, "token": new()} for h in halls
    ]
    for d in departments:
        entries.append(
            {"name": f"reviewer-{d}", "role": "reviewer", "department": d, "token": new()}
        )
        entries.append(
            {"name": f"inspector-{d}", "role": "inspector", "department": d, "token": new()}
        )
        entries.append(
            {"name": f"head-{d}", "role": "department_head", "department": d, "token": new()}
        )
    entries += [
        {"name": "supervisor", "role": "supervisor", "token": new()},
        {"name": "auditor", "role": "auditor", "token": new()},
        {"name": "operator", "role": "operator", "token": new()},
    ]
    if demo_applicant_ref:
        entries.append(
            {
                "name": "applicant-demo",
                "role": "applicant",
                "applicant_ref": demo_applicant_ref,
                "token": new(),
            }
        )
    return {"tokens": entries}


def _seed_default_document(keys: SubjectKeys) -> dict[str, Any]:
    from domain.catalog_loading import load_seed_catalog
    from starter.demo import demo_applicant

    catalog = load_seed_catalog()
    departments = sorted({i.department for i in catalog.items.values()})
    return default_token_document(
        list(catalog.halls), departments, applicant_ref(keys, demo_applicant().id_number)
    )


def upgrade_token_document(data: Any, keys: SubjectKeys) -> list[str]:
    """Replace every entry's `id_number_sha256` by its `applicant_ref` (the HMAC of that
    same SHA-256 under the active subject key), in place; the names of the entries changed."""
    changed: list[str] = []
    entries = data.get("tokens") if isinstance(data, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and LEGACY_APPLICANT_FIELD in entry:
            old = entry.pop(LEGACY_APPLICANT_FIELD)
            if not isinstance(old, str) or not re.match(_HEX64, old):
                raise AuthConfigError(
                    f"entry {entry.get('name')!r}: {LEGACY_APPLICANT_FIELD} is not 64 hex digits"
                )
            entry["applicant_ref"] = str(keys.keyed(Purpose.APPLICANT, old))
            changed.append(str(entry.get("name")))
    return changed


def _write_private_json(path: Path, data: Any) -> None:
    """Write `data` to `path` readable by its owner only (it holds plain tokens), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


def open_token_subject_keys(data_dir: Path, env: Settings | None = None) -> SubjectKeys:
    """The subject keyring the token document's applicant references are checked with."""
    try:
        return open_subject_keys(data_dir, env)
    except KeyringError as exc:
        raise AuthConfigError(str(exc)) from None


def load_api_tokens(
    data_dir: Path,
    *,
    env: Settings | None = None,
    make_default: Callable[[SubjectKeys], dict[str, Any]] = _seed_default_document,
    subject_keys: SubjectKeys | None = None,
) -> TokenRegistry:
    """The token registry from the settings (`env`, else the environment's), or the
    embedded default file (created on first use; one written with `id_number_sha256` by an
    older version is upgraded)."""
    env = env or load_settings()
    keys = subject_keys or open_token_subject_keys(data_dir, env)
    if env.api_tokens.strip():
        return TokenRegistry.from_text(
            env.api_tokens, source="ONETHING_API_TOKENS", subject_keys=keys
        )
    if env.api_tokens_file is not None:
        return TokenRegistry.from_file(env.api_tokens_file, subject_keys=keys)
    path = data_dir / "api-tokens.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created readable by its owner only: it holds plain tokens.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(make_default(keys), f, indent=2, ensure_ascii=False)
            f.write("\n")
    else:
        data = _parse(_read(path), toml=False, source=str(path))
        if upgrade_token_document(data, keys):
            _write_private_json(path, data)
    return TokenRegistry.from_file(path, subject_keys=keys)


# --------------------------------------------------------------------------- FastAPI


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


UNAUTHORIZED_HEADERS = {"WWW-Authenticate": "Bearer"}


async def authenticate(registry: TokenRegistry, request: Request) -> Principal:
    """The caller's `Principal`, or a 401 (no bearer token, or one the registry lacks)."""
    token = _bearer_token(request)
    if token is None:
        raise ApiError(
            401,
            "this operation needs 'Authorization: Bearer <token>'",
            headers=UNAUTHORIZED_HEADERS,
        )
    principal = registry.authenticate(token)
    if principal is None:
        raise ApiError(401, "unknown token", headers=UNAUTHORIZED_HEADERS)
    return principal


# --------------------------------------------------------------------------- rules


def forbid(principal: Principal, reason: str) -> ApiError:
    return ApiError(403, f"{principal.describe()} {principal.name!r}: {reason}", code="forbidden")


def _no_auditor(principal: Principal) -> None:
    if principal.role is Role.AUDITOR:
        raise forbid(principal, "auditors read but never change anything")


def may_submit(principal: Principal, *, hall: str, applicant_ref: str) -> None:
    """Applicants submit for themselves; window clerks at their own hall. `applicant_ref`:
    the SHA-256 of the submission's ID number (the pre-image the caller's keyed reference
    is checked against)."""
    _no_auditor(principal)
    if principal.role is Role.APPLICANT:
        if not principal.is_applicant_of(applicant_ref):
            raise forbid(principal, "an applicant may submit only their own applications")
        return
    if principal.role is Role.WINDOW_CLERK:
        if hall != principal.hall:
            raise forbid(principal, f"a window clerk accepts only at hall {principal.hall!r}")
        return
    raise forbid(principal, "only applicants and window clerks submit applications")


async def may_read_application(
    principal: Principal,
    *,
    hall: str,
    departments: Iterable[str],
    applicant_ref: Callable[[], Awaitable[str | None]] | None = None,
) -> None:
    """Read an application (status, items, notice, trail). `applicant_ref` (the SHA-256 of
    the applicant's ID number) is asked lazily: only an applicant's request needs it."""
    if principal.reads_all:
        return
    role = principal.role
    if role is Role.WINDOW_CLERK:
        if hall != principal.hall:
            raise forbid(principal, f"this application was not made at {principal.hall!r}")
        return
    if role in DEPARTMENT_ROLES:
        if principal.department not in set(departments):
            raise forbid(
                principal, f"this application has no item of department {principal.department!r}"
            )
        return
    if role is Role.APPLICANT:
        ref = await applicant_ref() if applicant_ref else None
        if not principal.is_applicant_of(ref):
            raise forbid(principal, "an applicant may read only their own applications")
        return
    raise forbid(principal, "may not read applications")


def may_read_item(principal: Principal, *, item_department: str) -> None:
    """On top of reading the application: a department's staff see its items only."""
    if principal.role in DEPARTMENT_ROLES and item_department != principal.department:
        raise forbid(principal, f"this item belongs to department {item_department!r}")


def _department_staff(principal: Principal, role: Role, item_department: str, what: str) -> None:
    _no_auditor(principal)
    if principal.role is not role:
        raise forbid(principal, f"only {role.value}s of the item's department {what}")
    if item_department != principal.department:
        raise forbid(principal, f"this item belongs to department {item_department!r}")


def may_decide(principal: Principal, *, item_department: str) -> None:
    _department_staff(principal, Role.REVIEWER, item_department, "decide on it")


def may_inspect(principal: Principal, *, item_department: str) -> None:
    _department_staff(principal, Role.INSPECTOR, item_department, "record its inspection")


def _of_department(principal: Principal, item_department: str | None) -> None:
    if item_department is not None and item_department != principal.department:
        raise forbid(principal, f"this item belongs to department {item_department!r}")


def may_extend(principal: Principal, *, item_department: str | None = None) -> None:
    """Art. 42: the head of the item's department. A supervisor is let through for the
    applications begun before procedure revision 2026-12 (the item refuses it otherwise).
    `item_department` None: the role alone is checked (before the item is looked up)."""
    _no_auditor(principal)
    if principal.role is Role.SUPERVISOR:
        return
    if principal.role is not Role.DEPARTMENT_HEAD:
        raise forbid(principal, "only the head of the item's department extends a limit (Art. 42)")
    _of_department(principal, item_department)


def may_extend_joint_limit(principal: Principal) -> None:
    """Art. 42 (2): a bundle's joint limit, with the government's approval that a supervisor
    of the supervision office records."""
    _no_auditor(principal)
    if principal.role is not Role.SUPERVISOR:
        raise forbid(principal, "only a supervisor records the extension of a joint limit")


def may_exclude_time(principal: Principal, *, item_department: str | None = None) -> None:
    """Excluded time (Art. 45) is started and ended in the item's department, by a reviewer
    or its head: the rule the item applies (`domain.excluded_time.EXCLUDED_TIME_DECIDERS`)."""
    _no_auditor(principal)
    if principal.role not in EXCLUDED_TIME_DECIDERS:
        raise forbid(
            principal,
            "only a reviewer or the head of the item's department decides on excluded time "
            "(Art. 45)",
        )
    _of_department(principal, item_department)


def may_refuse(principal: Principal, *, hall: str) -> None:
    """不予受理 is the accepting window's act: a window clerk of the application's hall."""
    _no_auditor(principal)
    if principal.role is not Role.WINDOW_CLERK:
        raise forbid(principal, "only a window clerk of the hall refuses to accept")
    if hall != principal.hall:
        raise forbid(principal, f"this application was not made at {principal.hall!r}")


def may_cancel(principal: Principal) -> None:
    _no_auditor(principal)
    if principal.role is not Role.OPERATOR:
        raise forbid(principal, "only an operator cancels an application")


async def may_act_for_applicant(
    principal: Principal,
    *,
    hall: str,
    applicant_ref: Callable[[], Awaitable[str | None]],
    what: str,
) -> None:
    """What the applicant does (supplement, correct, withdraw): the applicant themselves,
    or a window clerk of the hall the application was made at, on their behalf."""
    _no_auditor(principal)
    if principal.role is Role.APPLICANT:
        if not principal.is_applicant_of(await applicant_ref()):
            raise forbid(principal, f"an applicant may {what} only their own applications")
        return
    if principal.role is Role.WINDOW_CLERK:
        if hall != principal.hall:
            raise forbid(principal, f"this application was not made at {principal.hall!r}")
        return
    raise forbid(principal, f"only the applicant or a window clerk of the hall may {what}")


def may_read_reports(principal: Principal) -> None:
    if principal.role is Role.APPLICANT:
        raise forbid(principal, "reports are for staff")


def may_use_codec(principal: Principal) -> None:
    if principal.role not in CODEC_ROLES:
        raise forbid(principal, "only operators and auditors may decode payloads")


@dataclass(frozen=True)
class TaskFilter:
    department: str | None = None
    role: str | None = None
    hall: str | None = None


def task_scope(principal: Principal, asked: TaskFilter) -> TaskFilter:
    """The inbox a caller may list: their own department's (or hall's) tasks for their role
    (the head of a department: the department's, of every role). Asking for another
    department, hall or role is refused, not silently narrowed."""
    role = principal.role
    if principal.reads_all:
        return asked
    if role is Role.APPLICANT:
        raise forbid(principal, "the task inbox is for staff")
    if role in (Role.REVIEWER, Role.INSPECTOR):
        if asked.department not in (None, principal.department):
            raise forbid(principal, f"may list only department {principal.department!r}")
        if asked.role not in (None, role.value):
            raise forbid(principal, f"may list only {role.value} tasks")
        return TaskFilter(department=principal.department, role=role.value, hall=asked.hall)
    if role is Role.WINDOW_CLERK:
        if asked.hall not in (None, principal.hall):
            raise forbid(principal, f"may list only hall {principal.hall!r}")
        if asked.role not in (None, role.value):
            raise forbid(principal, f"may list only {role.value} tasks")
        return TaskFilter(department=asked.department, role=role.value, hall=principal.hall)
    if role is Role.DEPARTMENT_HEAD:  # oversees the department's tasks, of every role
        if asked.department not in (None, principal.department):
            raise forbid(principal, f"may list only department {principal.department!r}")
        return TaskFilter(department=principal.department, role=asked.role, hall=asked.hall)
    raise forbid(principal, "may not list tasks")


def may_take(
    principal: Principal, task_role: str, department: str | None, hall: str | None
) -> None:
    """Who may take a task: staff of the task's role, in its department (or at its hall)."""
    if principal.role.value != task_role:
        raise forbid(principal, f"this is a {task_role} task")
    if principal.role in (Role.REVIEWER, Role.INSPECTOR) and department != principal.department:
        raise forbid(principal, f"this task belongs to department {department!r}")
    if principal.role is Role.WINDOW_CLERK and hall != principal.hall:
        raise forbid(principal, f"this task belongs to hall {hall!r}")


def may_hand_over(principal: Principal) -> None:
    """Releasing a taken task or reassigning it is a supervisor's."""
    _no_auditor(principal)
    if principal.role is not Role.SUPERVISOR:
        raise forbid(principal, "only a supervisor releases or reassigns a task")


@dataclass(frozen=True)
class ApplicationFilter:
    hall: str | None = None
    department: str | None = None


def application_scope(principal: Principal, asked: ApplicationFilter) -> ApplicationFilter:
    """Which applications a caller may list: clerks their hall's, reviewers and inspectors
    those involving their department. Applicants are not listed (their ID number is no
    search attribute, by design): they read their applications by ID."""
    if principal.reads_all:
        return asked
    role = principal.role
    if role is Role.WINDOW_CLERK:
        if asked.hall not in (None, principal.hall):
            raise forbid(principal, f"may list only hall {principal.hall!r}")
        return ApplicationFilter(hall=principal.hall, department=asked.department)
    if role in DEPARTMENT_ROLES:
        if asked.department not in (None, principal.department):
            raise forbid(principal, f"may list only department {principal.department!r}")
        return ApplicationFilter(hall=asked.hall, department=principal.department)
    raise forbid(principal, "applicants read their applications by ID; listing is for staff")


def case_scope(
    principal: Principal, department: str | None, what: str = "supervision cases"
) -> str | None:
    """Which supervision cases (or referrals) a caller may list, by department; None means
    all: supervisors, auditors and operators every department's, a department's staff
    their own."""
    if principal.reads_all:
        return department
    if principal.role in DEPARTMENT_ROLES:
        if department not in (None, principal.department):
            raise forbid(principal, f"may list only department {principal.department!r}")
        return principal.department
    raise forbid(principal, f"{what} are for supervisors and the departments")


def referral_scope(principal: Principal, department: str | None) -> str | None:
    """Which referrals to supervision (移送监管) a caller may list: as supervision cases."""
    return case_scope(principal, department, "referrals to supervision")


def may_close_case(principal: Principal) -> None:
    _no_auditor(principal)
    if principal.role is not Role.SUPERVISOR:
        raise forbid(principal, "only a supervisor closes a supervision case")


def may_close_referral(principal: Principal) -> None:
    _no_auditor(principal)
    if principal.role is not Role.SUPERVISOR:
        raise forbid(principal, "only a supervisor closes a referral to supervision")


CREDIT_READERS = frozenset({Role.WINDOW_CLERK, Role.SUPERVISOR, Role.AUDITOR}) | DEPARTMENT_ROLES


def may_read_credit(principal: Principal, *, id_sha256: str | None) -> None:
    """A credit standing: staff at the window, in the departments, in supervision and
    audit; an applicant their own only (`id_sha256`: the SHA-256 of the ID number asked
    about, None for a credit code, which no applicant token names)."""
    if principal.role is Role.APPLICANT:
        if not principal.is_applicant_of(id_sha256):
            raise forbid(principal, "an applicant may read only the standing under their own ID")
        return
    if principal.role not in CREDIT_READERS:
        raise forbid(principal, "credit standings are for the window, departments and supervision")


def may_object_to_credit(principal: Principal, *, id_sha256: str | None) -> None:
    """异议: the applicant about their own record, or a window clerk on their behalf."""
    _no_auditor(principal)
    if principal.role is Role.APPLICANT:
        if not principal.is_applicant_of(id_sha256):
            raise forbid(principal, "an applicant may object only to their own records")
        return
    if principal.role is not Role.WINDOW_CLERK:
        raise forbid(principal, "only the applicant or a window clerk files an objection")


def may_decide_credit(principal: Principal) -> None:
    """Deciding an objection and credit repair (信用修复) are a supervisor's."""
    _no_auditor(principal)
    if principal.role is not Role.SUPERVISOR:
        raise forbid(principal, "only a supervisor decides objections and repairs credit")


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m starter.auth token NAME | list | hash-id | upgrade-tokens | new`."""
    from starter.cli_tokens import main as run

    return run(argv)


if __name__ == "__main__":
    raise SystemExit(main())
