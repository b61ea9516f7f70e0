"""Encryption of every Temporal payload: AES-256-GCM with a rotating keyring.

Personal data (applicant names, ID numbers, phone numbers) travels in workflow
inputs, results, signals, updates, queries, memos and failures. This codec
encrypts all of those payloads before they leave the process, so the Temporal
server, its database and any exported history only ever hold ciphertext.

Encrypted payload layout
    metadata["encoding"]          = b"binary/encrypted"
    metadata["encryption-key-id"] = key id (UTF-8)
    data                          = 12-byte random nonce || AES-GCM ciphertext+tag
The plaintext is the serialized original ``Payload`` (metadata included); the
key id is bound as associated data, so relabelling a payload with another key id
fails authentication. On decode, payloads without ``binary/encrypted`` pass
through untouched (history written before encryption was switched on).

Keyring
    One active key encrypts; every key in the ring decrypts. Rotate by adding a
    new active key and keeping the old ones until no retained history uses
    them. Keys are 32 random bytes (AES-256), standard base64 in both formats.

Key sources, in the order ``load_keyring`` tries them
1. Environment value (``ONETHING_CODEC_KEYS``)::

       kid1:BASE64KEY,kid2:BASE64KEY

   comma-separated ``key_id:base64key`` pairs; the FIRST pair is the active
   key. Whitespace around items is ignored. Key ids use letters, digits,
   ``.``, ``_`` and ``-`` only.
2. JSON file (path in ``ONETHING_CODEC_KEYS_FILE``)::

       {"version": 1,
        "active": "kid2",
        "keys": {"kid1": "BASE64KEY", "kid2": "BASE64KEY"}}

3. The embedded default: ``ensure_local_keyring(path)`` creates such a file
   with one fresh key on first run (mode 0600, directory 0700) and reuses it
   afterwards. The returned keyring's ``source`` and ``created`` say where it
   came from so the caller can log it; key material is never logged or shown
   in ``repr``.

Rotation of a file: ``rotate_keyring_file(path)`` adds a fresh active key and
keeps the old ones. Keys are read at start-up: a process not yet restarted
still encrypts with the old key (harmless) but cannot decode payloads sealed
with the new one, so restart workers, API and codec endpoint together. Where
they cannot restart together (several hosts), rotate in two steps:
``add_key_to_file`` (decodes, does not encrypt yet), restart everything, then
``activate_key_in_file`` and restart again.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import json
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

__all__ = [
    "ENCODING",
    "KEYS_ENV",
    "KEYS_FILE_ENV",
    "KEY_BYTES",
    "KEY_ID_METADATA",
    "CodecError",
    "DecryptionError",
    "EncryptionCodec",
    "Keyring",
    "KeyringError",
    "UnknownKeyError",
    "activate_key_in_file",
    "add_key_to_file",
    "data_converter_with_codec",
    "ensure_local_keyring",
    "generate_key",
    "load_keyring",
    "load_keyring_file",
    "new_key_id",
    "parse_keyring_env",
    "rotate_keyring_file",
    "write_keyring_file",
]

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEY_BYTES = 32
NONCE_BYTES = 12
FILE_VERSION = 1
KEYS_ENV = "ONETHING_CODEC_KEYS"
KEYS_FILE_ENV = "ONETHING_CODEC_KEYS_FILE"

_KEY_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class CodecError(Exception):
    """A payload could not be encrypted or decrypted."""


class UnknownKeyError(CodecError):
    """The payload names a key id the keyring does not hold."""

    def __init__(self, key_id: str, known: Sequence[str]) -> None:
        self.key_id = key_id
        super().__init__(
            f"payload is encrypted with key id {key_id!r}, which is not in the keyring "
            f"(known key ids: {', '.join(known) or 'none'}); add that key to decode it"
        )


class DecryptionError(CodecError):
    """Authentication failed: the ciphertext or its key id was altered, or the key is wrong."""


class KeyringError(ValueError):
    """A keyring source (file, environment value) is malformed."""


def generate_key() -> bytes:
    """A fresh random AES-256 key."""
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def new_key_id() -> str:
    """A readable, unique key id: creation date plus random suffix (``k20261127-3f9a1c``)."""
    return f"k{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"


def _check_key_id(key_id: str) -> str:
    if not _KEY_ID_RE.match(key_id):
        raise KeyringError(f"invalid key id {key_id!r}: use 1-64 letters, digits, '.', '_' or '-'")
    return key_id


def _decode_key(key_id: str, text: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"key {key_id!r} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise KeyringError(f"key {key_id!r} is {len(raw)} bytes; AES-256 needs exactly {KEY_BYTES}")
    return raw


@dataclasses.dataclass(frozen=True, repr=False)
class Keyring:
    """Keys by id, one of them active for encryption.

    ``source`` says where the ring came from (``file:/path`` or ``env:NAME``);
    ``created`` is true when ``ensure_local_keyring`` just wrote a new file.
    Both are for the caller's log line; neither takes part in equality.
    """

    active_key_id: str
    keys: Mapping[str, bytes]
    source: str = dataclasses.field(default="memory", compare=False)
    created: bool = dataclasses.field(default=False, compare=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyringError("a keyring needs at least one key")
        for key_id, key in self.keys.items():
            _check_key_id(key_id)
            if len(key) != KEY_BYTES:
                raise KeyringError(
                    f"key {key_id!r} is {len(key)} bytes; AES-256 needs exactly {KEY_BYTES}"
                )
        if self.active_key_id not in self.keys:
            raise KeyringError(f"active key id {self.active_key_id!r} is not in the keyring")
        # Freeze a private copy so a caller's dict cannot change the ring later.
        object.__setattr__(self, "keys", dict(self.keys))

    def __repr__(self) -> str:
        # Never show key material, only ids.
        return (
            f"Keyring(active_key_id={self.active_key_id!r}, "
            f"key_ids={list(self.keys)!r}, source={self.source!r})"
        )

    @classmethod
    def generate(cls, key_id: str | None = None) -> Keyring:
        """A new ring with one fresh active key."""
        kid = key_id or new_key_id()
        return cls(active_key_id=kid, keys={kid: generate_key()})

    @property
    def key_ids(self) -> list[str]:
        return list(self.keys)

    def key(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise UnknownKeyError(key_id, list(self.keys)) from None

    def with_new_active_key(self, key_id: str | None = None, key: bytes | None = None) -> Keyring:
        """A copy with one more key, made active; old keys stay for decoding."""
        added = self.with_new_key(key_id, key)
        return added.with_active(added.key_ids[-1])

    def with_new_key(self, key_id: str | None = None, key: bytes | None = None) -> Keyring:
        """A copy with one more key that decodes but does not encrypt yet: the first step
        of a rotation across hosts, so that no process meets the key before it holds it."""
        kid = _check_key_id(key_id or new_key_id())
        if kid in self.keys:
            raise KeyringError(f"key id {kid!r} is already in the keyring")
        keys = {**self.keys, kid: key if key is not None else generate_key()}
        return Keyring(active_key_id=self.active_key_id, keys=keys, source=self.source)

    def with_active(self, key_id: str) -> Keyring:
        """A copy that encrypts with `key_id`, a key it holds already."""
        if key_id not in self.keys:
            raise KeyringError(
                f"key id {key_id!r} is not in the keyring (key ids: {', '.join(self.keys)})"
            )
        return Keyring(active_key_id=key_id, keys=self.keys, source=self.source)

    def to_json(self) -> str:
        """The key-file format (contains key material: write it only to a 0600 file)."""
        doc = {
            "version": FILE_VERSION,
            "active": self.active_key_id,
            "keys": {kid: base64.b64encode(k).decode("ascii") for kid, k in self.keys.items()},
        }
        return json.dumps(doc, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, *, source: str = "memory") -> Keyring:
        try:
            doc: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise KeyringError(f"keyring {source} is not valid JSON: {exc.msg}") from None
        if not isinstance(doc, dict):
            raise KeyringError(f"keyring {source} must be a JSON object")
        version = doc.get("version", FILE_VERSION)
        if version != FILE_VERSION:
            raise KeyringError(f"keyring {source} has unsupported version {version!r}")
        active, keys = doc.get("active"), doc.get("keys")
        if not isinstance(active, str) or not isinstance(keys, dict) or not keys:
            raise KeyringError(
                f'keyring {source} needs "active" (a key id) and "keys" (id -> base64 key)'
            )
        decoded: dict[str, bytes] = {}
        for kid, text_key in keys.items():
            if not isinstance(text_key, str):
                raise KeyringError(f"key {kid!r} in {source} must be a base64 string")
            decoded[_check_key_id(kid)] = _decode_key(kid, text_key)
        return cls(active_key_id=active, keys=decoded, source=source)


def parse_keyring_env(value: str, *, name: str = KEYS_ENV) -> Keyring:
    """Parse ``kid1:BASE64,kid2:BASE64`` (first pair active)."""
    keys: dict[str, bytes] = {}
    first: str | None = None
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        kid, sep, text_key = item.partition(":")
        kid = kid.strip()
        if not sep:
            # Never echo the item: it may be a bare key.
            raise KeyringError(f"{name}: every item must be 'key_id:base64key'")
        _check_key_id(kid)
        if kid in keys:
            raise KeyringError(f"{name}: key id {kid!r} appears twice")
        keys[kid] = _decode_key(kid, text_key)
        first = first or kid
    if first is None:
        raise KeyringError(f"{name} is empty; expected 'key_id:base64key[,key_id:base64key...]'")
    return Keyring(active_key_id=first, keys=keys, source=f"env:{name}")


def load_keyring_file(path: Path) -> Keyring:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyringError(f"keyring file {path} does not exist") from None
    return Keyring.from_json(text, source=f"file:{path}")


def _write_private_temp(directory: Path, text: str) -> Path:
    fd, name = tempfile.mkstemp(dir=directory, prefix=".keyring-", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
    return Path(name)


def write_keyring_file(path: Path, keyring: Keyring) -> None:
    """Write (or atomically replace) a key file with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = _write_private_temp(path.parent, keyring.to_json())
    os.replace(tmp, path)


def ensure_local_keyring(path: Path) -> Keyring:
    """The embedded default: load ``path``, creating it with one fresh key on first run.

    Creation is atomic (hard link of a complete temp file), so a worker and an
    API starting together end up with the same single key. ``created`` on the
    result tells the caller to log that a new key file was written to ``source``.
    """
    path = path.expanduser()
    if path.exists():
        return load_keyring_file(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    ring = Keyring.generate()
    tmp = _write_private_temp(path.parent, ring.to_json())
    try:
        os.link(tmp, path)
    except FileExistsError:
        return load_keyring_file(path)  # another process won the race
    finally:
        tmp.unlink()
    return dataclasses.replace(ring, source=f"file:{path}", created=True)


def rotate_keyring_file(path: Path, key_id: str | None = None) -> Keyring:
    """Add a fresh active key to the file at ``path``, keeping the old keys."""
    return _rewrite_keyring_file(path, lambda ring: ring.with_new_active_key(key_id))


def add_key_to_file(path: Path, key_id: str | None = None) -> Keyring:
    """Add a fresh key to the file at ``path`` that decodes but does not encrypt yet."""
    return _rewrite_keyring_file(path, lambda ring: ring.with_new_key(key_id))


def activate_key_in_file(path: Path, key_id: str) -> Keyring:
    """Make ``key_id``, already in the file at ``path``, the key that encrypts."""
    return _rewrite_keyring_file(path, lambda ring: ring.with_active(key_id))


def _rewrite_keyring_file(path: Path, change: Callable[[Keyring], Keyring]) -> Keyring:
    changed = change(load_keyring_file(path))
    write_keyring_file(path, changed)
    return changed


def load_keyring(
    *,
    env_value: str | None = None,
    file: Path | None = None,
    local_default: Path,
) -> Keyring:
    """Pick the key source: an environment value, else a key file, else the local default."""
    if env_value and env_value.strip():
        return parse_keyring_env(env_value)
    if file is not None:
        return load_keyring_file(file.expanduser())
    return ensure_local_keyring(local_default)


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM payload codec over a ``Keyring``."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self._ciphers = {kid: AESGCM(key) for kid, key in keyring.keys.items()}

    def __repr__(self) -> str:
        return f"EncryptionCodec({self.keyring!r})"

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        kid = self.keyring.active_key_id
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._ciphers[kid].encrypt(nonce, payload.SerializeToString(), kid.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: kid.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        raw_kid = payload.metadata.get(KEY_ID_METADATA)
        if raw_kid is None:
            raise CodecError(f"encrypted payload has no {KEY_ID_METADATA!r} metadata")
        kid = raw_kid.decode("utf-8", errors="replace")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise UnknownKeyError(kid, list(self._ciphers))
        data = payload.data
        if len(data) < NONCE_BYTES + 16:
            raise DecryptionError(f"encrypted payload (key id {kid!r}) is truncated")
        try:
            plain = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], kid.encode())
        except InvalidTag:
            raise DecryptionError(
                f"encrypted payload (key id {kid!r}) failed authentication: "
                "ciphertext or metadata was altered, or the key is not the one it was sealed with"
            ) from None
        try:
            return Payload.FromString(plain)
        except DecodeError:
            raise DecryptionError(
                f"payload decrypted with key id {kid!r} is not a valid Payload"
            ) from None


def data_converter_with_codec(
    codec: PayloadCodec, *, encode_failure_attributes: bool = True
) -> DataConverter:
    """The pydantic data converter with ``codec`` on every payload.

    Failure messages and stack traces are moved into an encoded payload as well
    (pydantic validation errors quote the offending input, which may be an ID
    number); pass ``encode_failure_attributes=False`` to keep them in clear text.
    Use the same converter in the worker, the client and the replayer.
    """
    if encode_failure_attributes:
        return dataclasses.replace(
            pydantic_data_converter,
            payload_codec=codec,
            failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
        )
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec)
