"""Keyed references to people: HMAC-SHA256 under a server secret, the subject keyring.

An 18-digit ID number has little entropy (region, birth date, sequence): its plain
SHA-256 is reversed on a laptop in seconds. What the store and the token file keep is
therefore ``HMAC-SHA256(key, purpose || NUL || pre_image)``, hex, together with the id of
the key that made it. Without the key a stolen table or token file reveals nothing.

Pre-images (computed where no secret may be read: workflow code, the API's request)
    credit subject   ``domain.credit.credit_subject(id_number)``: the workflow's value,
                     only ever inside encrypted history and activity inputs
    applicant        ``sha256(id_number)`` hex: what the API derives from a submission
The credit activities, the store and the token registry key them at the boundary.

Keyring: the same class, file format and rotation as the payload keyring
(``onething.codec.Keyring``), but a key of its own, read from
``ONETHING_SUBJECT_KEYS`` (``kid:base64,...``, first active), else the file in
``ONETHING_SUBJECT_KEYS_FILE``, else ``<ONETHING_DATA_DIR>/subject-keys.json`` (created
on first use, mode 0600).

Rotation: values are written under the active key and record its id; look-ups compute
the value under every key of the ring, so what was written under an old key is still
found, and the store rewrites such rows under the active key when it touches them. An
HMAC cannot be re-keyed without its pre-image, so an old key leaves the ring only when
``onething keys subjects`` shows nothing left under it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from onething.codec import (
    Keyring,
    KeyringError,
    ensure_local_keyring,
    load_keyring_file,
    parse_keyring_env,
)
from onething.settings import Settings, SettingsError, load_settings

__all__ = [
    "SUBJECT_KEYS_ENV",
    "SUBJECT_KEYS_FILE_ENV",
    "KeyedRef",
    "Purpose",
    "SubjectKeys",
    "configured_subject_keys",
    "open_subject_keys",
    "subject_keys_path",
]

SUBJECT_KEYS_ENV = "ONETHING_SUBJECT_KEYS"
SUBJECT_KEYS_FILE_ENV = "ONETHING_SUBJECT_KEYS_FILE"
DEFAULT_FILE_NAME = "subject-keys.json"

_REF_RE = re.compile(r"^([A-Za-z0-9._-]{1,64}):([0-9a-f]{64})$")


class Purpose(StrEnum):
    """What a keyed value stands for; part of the HMAC input, so values of different
    purposes never compare equal."""

    CREDIT_SUBJECT = "credit-subject"
    APPLICANT = "applicant"
    # An application and the last four digits of its applicant's phone: the progress
    # look-up's check (starter.api.routes.citizen_desk); 10^4 tails, so never without the key.
    PROGRESS_CHECK = "progress-check"


class KeyedRef(NamedTuple):
    """A keyed value and the id of the key that made it."""

    key_id: str
    value: str

    def __str__(self) -> str:
        return f"{self.key_id}:{self.value}"

    @classmethod
    def parse(cls, text: str) -> KeyedRef:
        """``key_id:64 hex``, the form the token file keeps."""
        match = _REF_RE.match(text)
        if match is None:
            raise ValueError("must be 'key_id:' and 64 lowercase hex digits")
        return cls(match.group(1), match.group(2))


def _hmac_hex(key: bytes, purpose: Purpose, pre_image: str) -> str:
    message = purpose.value.encode() + b"\x00" + pre_image.encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class SubjectKeys:
    """HMAC keys for references to people; one active, the others only to find old values."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def __repr__(self) -> str:
        return f"SubjectKeys({self.keyring!r})"

    @classmethod
    def generate(cls, key_id: str | None = None) -> SubjectKeys:
        return cls(Keyring.generate(key_id))

    @property
    def active_key_id(self) -> str:
        return self.keyring.active_key_id

    @property
    def source(self) -> str:
        return self.keyring.source

    @property
    def created(self) -> bool:
        return self.keyring.created

    def rotated(self, key_id: str | None = None) -> SubjectKeys:
        """A copy with a new active key; the old ones stay to find old values."""
        return SubjectKeys(self.keyring.with_new_active_key(key_id))

    def keyed(self, purpose: Purpose, pre_image: str) -> KeyedRef:
        """The value to store now: under the active key."""
        kid = self.keyring.active_key_id
        return KeyedRef(kid, _hmac_hex(self.keyring.key(kid), purpose, pre_image))

    def candidates(self, purpose: Purpose, pre_image: str) -> dict[str, str]:
        """The value under every key of the ring, by key id: what a look-up searches for."""
        return {kid: _hmac_hex(key, purpose, pre_image) for kid, key in self.keyring.keys.items()}

    def matches(self, ref: KeyedRef, purpose: Purpose, pre_image: str) -> bool:
        """Whether ``ref`` was made from ``pre_image`` (False if its key left the ring)."""
        key = self.keyring.keys.get(ref.key_id)
        if key is None:
            return False
        return hmac.compare_digest(ref.value, _hmac_hex(key, purpose, pre_image))


# --------------------------------------------------------------------------- loading


def _env(env: Settings | None) -> Settings:
    return env or load_settings()


def subject_keys_path(data_dir: Path, env: Settings | None = None) -> Path:
    """The keyring file in use (the configured one, else the data directory's); `env`: the
    settings (default: the environment's)."""
    return (_env(env).subject_keys_file or data_dir / DEFAULT_FILE_NAME).expanduser()


def open_subject_keys(data_dir: Path, env: Settings | None = None) -> SubjectKeys:
    """The configured subject keyring; a bad one raises ``KeyringError`` naming its source
    (never key material)."""
    env = _env(env)
    if env.subject_keys.strip():
        return SubjectKeys(parse_keyring_env(env.subject_keys, name=SUBJECT_KEYS_ENV))
    try:
        if env.subject_keys_file is not None:
            return SubjectKeys(load_keyring_file(env.subject_keys_file.expanduser()))
        return SubjectKeys(ensure_local_keyring(data_dir / DEFAULT_FILE_NAME))
    except KeyringError as exc:
        raise KeyringError(f"subject keyring: {exc}") from None
    except OSError as exc:
        raise KeyringError(f"subject keyring: {exc.strerror}: {exc.filename}") from None


def configured_subject_keys() -> SubjectKeys:
    """The keyring of this process's settings (``ONETHING_DATA_DIR`` and the variables
    above): what the worker's credit activities, the API and the migration share."""
    settings = load_settings()
    try:
        return open_subject_keys(settings.data_dir, settings)
    except KeyringError as exc:
        variable = (
            SUBJECT_KEYS_ENV
            if settings.subject_keys.strip()
            else SUBJECT_KEYS_FILE_ENV
            if settings.subject_keys_file
            else "ONETHING_DATA_DIR"
        )
        raise SettingsError(f"invalid setting {variable}: {exc}") from None
