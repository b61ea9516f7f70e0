"""Payload encryption: codec, keyring files, codec endpoint, and a real Temporal history."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import stat
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from onething.codec import (
    ENCODING,
    KEY_ID_METADATA,
    CodecError,
    DecryptionError,
    EncryptionCodec,
    Keyring,
    KeyringError,
    UnknownKeyError,
    activate_key_in_file,
    add_key_to_file,
    data_converter_with_codec,
    ensure_local_keyring,
    load_keyring,
    load_keyring_file,
    parse_keyring_env,
    rotate_keyring_file,
)
from starter.codec_endpoint import bearer_token_authorizer, codec_app

NAME = "张三"
ID_NUMBER = "420684199001011234"
PHONE = "13800138000"
PERSONAL = (NAME, ID_NUMBER, PHONE)
UI_ORIGIN = "http://localhost:8233"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# --- codec and keyring ---------------------------------------------------------------------


async def test_round_trip_encrypts_every_payload() -> None:
    ring = Keyring.generate("k1")
    converter = data_converter_with_codec(EncryptionCodec(ring))
    values: list[Any] = [NAME, {"id_number": ID_NUMBER, "phone": PHONE}, None, b"\x00\xff"]

    payloads = await converter.encode(values)

    for p in payloads:
        assert p.metadata["encoding"] == ENCODING
        assert p.metadata[KEY_ID_METADATA] == b"k1"
        for s in PERSONAL:
            assert s.encode() not in p.data
    assert await converter.decode(payloads) == values


async def test_same_value_encrypts_differently_each_time() -> None:
    codec = EncryptionCodec(Keyring.generate())
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"13800138000"')
    a, b = await codec.encode([plain, plain])
    assert a.data != b.data  # fresh nonce per payload


async def test_unencrypted_payloads_pass_through_decode() -> None:
    codec = EncryptionCodec(Keyring.generate())
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"a":1}')
    assert await codec.decode([plain]) == [plain]


async def test_rotation_keeps_old_payloads_readable(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    old_ring = ensure_local_keyring(path)
    old_codec = EncryptionCodec(old_ring)
    old_payloads = await data_converter_with_codec(old_codec).encode([ID_NUMBER])

    new_ring = rotate_keyring_file(path, "k-new")
    assert new_ring.active_key_id == "k-new"
    assert set(new_ring.key_ids) == {old_ring.active_key_id, "k-new"}
    reloaded = load_keyring_file(path)
    assert reloaded == new_ring
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    new_converter = data_converter_with_codec(EncryptionCodec(reloaded))
    assert await new_converter.decode(old_payloads) == [ID_NUMBER]
    new_payloads = await new_converter.encode([PHONE])
    assert new_payloads[0].metadata[KEY_ID_METADATA] == b"k-new"
    assert await new_converter.decode(new_payloads) == [PHONE]

    # A process still on the old ring cannot read the new key's payloads, and says why.
    with pytest.raises(UnknownKeyError, match="'k-new'") as err:
        await old_codec.decode(new_payloads)
    assert err.value.key_id == "k-new"


async def test_rotation_in_two_steps_never_seals_with_a_key_a_process_lacks(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys.json"
    old_codec = EncryptionCodec(ensure_local_keyring(path))  # a host not yet restarted

    # Step 1: the new key decodes everywhere it is loaded, but nothing is sealed with it.
    added = add_key_to_file(path, "k-next")
    assert added.active_key_id == old_codec.keyring.active_key_id
    assert set(added.key_ids) == {old_codec.keyring.active_key_id, "k-next"}
    restarted = data_converter_with_codec(EncryptionCodec(load_keyring_file(path)))
    sealed = await restarted.encode([ID_NUMBER])
    assert await data_converter_with_codec(old_codec).decode(sealed) == [ID_NUMBER]

    # Step 2, once every process holds it: the new key seals; old payloads stay readable.
    activated = activate_key_in_file(path, "k-next")
    assert activated.active_key_id == "k-next" and activated.keys == added.keys
    converter = data_converter_with_codec(EncryptionCodec(load_keyring_file(path)))
    assert (await converter.encode([PHONE]))[0].metadata[KEY_ID_METADATA] == b"k-next"
    assert await converter.decode(sealed) == [ID_NUMBER]

    # A key the ring does not hold cannot be activated, nor one added twice.
    with pytest.raises(KeyringError, match="'k-typo' is not in the keyring"):
        activate_key_in_file(path, "k-typo")
    with pytest.raises(KeyringError, match="'k-next' is already in the keyring"):
        add_key_to_file(path, "k-next")
    assert load_keyring_file(path) == activated


async def test_unknown_key_id_error_names_the_key() -> None:
    sealed = await EncryptionCodec(Keyring.generate("retired-2024")).encode(
        [Payload(metadata={"encoding": b"json/plain"}, data=b"1")]
    )
    other = EncryptionCodec(Keyring.generate("k2"))
    with pytest.raises(UnknownKeyError, match=r"'retired-2024'.*known key ids: k2"):
        await other.decode(sealed)


async def test_tampered_ciphertext_fails_clearly() -> None:
    codec = EncryptionCodec(Keyring.generate("k1"))
    [sealed] = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"1")])

    flipped = bytearray(sealed.data)
    flipped[-1] ^= 0x01
    tampered = Payload(metadata=dict(sealed.metadata), data=bytes(flipped))
    with pytest.raises(DecryptionError, match=r"'k1'.*failed authentication"):
        await codec.decode([tampered])

    truncated = Payload(metadata=dict(sealed.metadata), data=sealed.data[:10])
    with pytest.raises(DecryptionError, match="truncated"):
        await codec.decode([truncated])

    no_key_id = Payload(metadata={"encoding": ENCODING}, data=sealed.data)
    with pytest.raises(CodecError, match=KEY_ID_METADATA):
        await codec.decode([no_key_id])


async def test_key_id_is_bound_to_ciphertext() -> None:
    # Same key under two ids: relabelling a payload must still fail (key id is associated data).
    key = os.urandom(32)
    codec = EncryptionCodec(Keyring(active_key_id="a", keys={"a": key, "b": key}))
    [sealed] = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"1")])
    relabelled = Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: b"b"}, data=sealed.data)
    with pytest.raises(DecryptionError):
        await codec.decode([relabelled])


def test_local_keyring_created_once_with_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "state" / "codec" / "keys.json"

    first = ensure_local_keyring(path)
    assert first.created
    assert first.source == f"file:{path}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(first.keys[first.active_key_id]) == 32
    doc = json.loads(path.read_text())
    assert doc["active"] == first.active_key_id
    assert list(path.parent.iterdir()) == [path]  # no temp file left behind
    mtime = path.stat().st_mtime_ns

    second = ensure_local_keyring(path)
    assert not second.created
    assert second == first
    assert path.stat().st_mtime_ns == mtime


def test_key_material_never_in_repr() -> None:
    ring = Keyring.generate("k1")
    key_b64 = b64(ring.keys["k1"])
    for text in (repr(ring), str(ring), repr(EncryptionCodec(ring))):
        assert "k1" in text
        assert key_b64 not in text
        assert repr(ring.keys["k1"]) not in text


def test_env_format_first_key_is_active() -> None:
    k1, k2 = os.urandom(32), os.urandom(32)
    ring = parse_keyring_env(f" new:{b64(k2)} , old:{b64(k1)} ")
    assert ring.active_key_id == "new"
    assert ring.keys == {"new": k2, "old": k1}
    assert ring.source == "env:ONETHING_CODEC_KEYS"

    chosen = load_keyring(env_value=f"new:{b64(k2)}", local_default=Path("/nonexistent/x"))
    assert chosen.active_key_id == "new"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty"),
        ("just-a-key-without-id", "key_id:base64key"),
        ("k1:not*base64", "not valid base64"),
        (f"k1:{b64(bytes(range(16)))}", "16 bytes"),
        (f"bad id:{b64(bytes(range(32)))}", "invalid key id"),
        (f"k1:{b64(bytes(range(32)))},k1:{b64(bytes(range(1, 33)))}", "twice"),
    ],
)
def test_env_format_errors_are_clear(value: str, message: str) -> None:
    with pytest.raises(KeyringError, match=message) as err:
        parse_keyring_env(value)
    secret = value.partition(":")[2]
    if len(secret) > 8:
        assert secret not in str(err.value)


def test_key_file_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="does not exist"):
        load_keyring_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 1, "active": "x", "keys": {"y": b64(os.urandom(32))}}))
    with pytest.raises(KeyringError, match="active key id 'x'"):
        load_keyring_file(bad)


# --- codec endpoint over HTTP -------------------------------------------------------------


def wire(payloads: list[Payload]) -> dict[str, Any]:
    return {
        "payloads": [
            {"metadata": {k: b64(v) for k, v in p.metadata.items()}, "data": b64(p.data)}
            for p in payloads
        ]
    }


def unwire(body: dict[str, Any]) -> list[Payload]:
    return [
        Payload(
            metadata={k: base64.b64decode(v) for k, v in p["metadata"].items()},
            data=base64.b64decode(p["data"]),
        )
        for p in body["payloads"]
    ]


@pytest.fixture
def codec() -> EncryptionCodec:
    return EncryptionCodec(Keyring.generate("k1"))


def http(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://codec.test")


async def test_endpoint_decodes_what_the_codec_encoded(codec: EncryptionCodec) -> None:
    plain = await pydantic_data_converter.encode([{"name": NAME, "phone": PHONE}, 42])
    sealed = await codec.encode(plain)

    async with http(codec_app(codec)) as client:
        for path in ("/codec/decode", "/codec/default/decode"):
            r = await client.post(path, json=wire(sealed), headers={"X-Namespace": "default"})
            assert r.status_code == 200, r.text
            assert unwire(r.json()) == plain
        assert await pydantic_data_converter.decode(unwire(r.json())) == [
            {"name": NAME, "phone": PHONE},
            42,
        ]

        # /encode is what the UI uses to start or signal with typed input.
        r = await client.post("/codec/encode", json=wire(plain))
        assert r.status_code == 200
        encoded = unwire(r.json())
        assert all(p.metadata["encoding"] == ENCODING for p in encoded)
        assert await codec.decode(encoded) == plain


async def test_endpoint_reports_unknown_key_and_bad_base64(codec: EncryptionCodec) -> None:
    foreign = await EncryptionCodec(Keyring.generate("elsewhere")).encode(
        [Payload(metadata={"encoding": b"json/plain"}, data=b"1")]
    )
    async with http(codec_app(codec)) as client:
        r = await client.post("/codec/decode", json=wire(foreign))
        assert r.status_code == 400
        assert "'elsewhere'" in r.json()["detail"]

        r = await client.post("/codec/decode", json={"payloads": [{"metadata": {}, "data": "**"}]})
        assert r.status_code == 400
        assert "payloads[0].data" in r.json()["detail"]


async def test_cors_preflight_from_the_web_ui(codec: EncryptionCodec) -> None:
    async with http(codec_app(codec)) as client:
        for origin in (UI_ORIGIN, "http://127.0.0.1:8233"):
            r = await client.options(
                "/codec/decode",
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type,authorization,x-namespace",
                },
            )
            assert r.status_code == 200, r.text
            assert r.headers["access-control-allow-origin"] == origin
            assert r.headers["access-control-allow-credentials"] == "true"
            allowed = {
                h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")
            }
            assert {"content-type", "authorization", "x-namespace"} <= allowed
            assert "POST" in r.headers["access-control-allow-methods"]

        r = await client.options(
            "/codec/decode",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert r.status_code == 400
        assert "access-control-allow-origin" not in r.headers


async def test_unauthorized_requests_are_refused(codec: EncryptionCodec) -> None:
    sealed = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"x"')])
    app = codec_app(codec, authorize=bearer_token_authorizer({"operator-token"}))
    async with http(app) as client:
        r = await client.post("/codec/decode", json=wire(sealed), headers={"Origin": UI_ORIGIN})
        assert r.status_code == 401
        assert "Bearer" in r.json()["detail"]
        # The refusal carries CORS headers, so the Web UI can show the reason.
        assert r.headers["access-control-allow-origin"] == UI_ORIGIN

        r = await client.post(
            "/codec/decode", json=wire(sealed), headers={"Authorization": "Bearer wrong"}
        )
        assert r.status_code == 403
        assert r.json()["detail"] == "this token may not decode payloads"

        r = await client.post(
            "/codec/encode", json=wire(sealed), headers={"Authorization": "Bearer wrong"}
        )
        assert r.status_code == 403

        r = await client.post(
            "/codec/decode", json=wire(sealed), headers={"Authorization": "Bearer operator-token"}
        )
        assert r.status_code == 200
        assert unwire(r.json())[0].data == b'"x"'


# --- a real history on the time-skipping test server --------------------------------------


class Applicant(BaseModel):
    name: str
    id_number: str
    phone: str


class Receipt(BaseModel):
    greeting: str
    applicant: Applicant


@activity.defn
async def greet_applicant(applicant: Applicant) -> str:
    return f"您好，{applicant.name}"


@activity.defn
async def call_applicant(applicant: Applicant) -> None:
    # Error text quoting personal data, as a pydantic validation error would.
    raise ApplicationError(f"phone {applicant.phone} unreachable", non_retryable=True)


@workflow.defn
class CodecProbeWorkflow:
    @workflow.run
    async def run(self, applicant: Applicant) -> Receipt:
        greeting = await workflow.execute_activity(
            greet_applicant, applicant, start_to_close_timeout=timedelta(seconds=10)
        )
        return Receipt(greeting=greeting, applicant=applicant)


@workflow.defn
class FailingProbeWorkflow:
    @workflow.run
    async def run(self, applicant: Applicant) -> None:
        await workflow.execute_activity(
            call_applicant, applicant, start_to_close_timeout=timedelta(seconds=10)
        )


def base64_fragments(raw: bytes) -> set[str]:
    """Base64 text that must appear wherever ``raw`` sits inside base64-encoded bytes.

    The encoding of a substring depends on its offset modulo 3, so one fragment per
    alignment, without the edge characters that mix in neighbouring bytes.
    """
    fragments = set()
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw).decode()
        start = 4 if pad else 0
        end = ((pad + len(raw)) // 3) * 4
        fragments.add(encoded[start:end])
    return fragments


def personal_data_found(history_json: str) -> list[str]:
    found = [s for s in PERSONAL if s in history_json]
    found += [
        f"{s} (base64)"
        for s in PERSONAL
        if any(f in history_json for f in base64_fragments(s.encode()))
    ]
    # JSON may escape non-ASCII as \uXXXX.
    escaped = json.dumps(NAME)[1:-1]
    if escaped != NAME and escaped in history_json:
        found.append(f"{NAME} (escaped)")
    return found


@pytest.fixture(scope="module")
def test_keyring() -> Iterator[Keyring]:
    yield Keyring.generate("k-test")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(test_keyring: Keyring) -> AsyncIterator[WorkflowEnvironment]:
    server = Path(sys.prefix) / "bin" / "temporal-test-server"
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(server),
        data_converter=data_converter_with_codec(EncryptionCodec(test_keyring)),
    ) as environment:
        yield environment


def worker(client: Client, task_queue: str) -> Worker:
    # The workflow here only carries payloads; the codec, not the sandbox, is under test.
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[CodecProbeWorkflow, FailingProbeWorkflow],
        activities=[greet_applicant, call_applicant],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )


APPLICANT = Applicant(name=NAME, id_number=ID_NUMBER, phone=PHONE)


async def test_history_holds_no_personal_data(
    env: WorkflowEnvironment, test_keyring: Keyring
) -> None:
    task_queue = f"codec-{uuid.uuid4()}"
    async with worker(env.client, task_queue):
        handle = await env.client.start_workflow(
            CodecProbeWorkflow.run,
            APPLICANT,
            id=f"codec-probe-{uuid.uuid4()}",
            task_queue=task_queue,
            memo={"contact": PHONE},
        )
        result = await handle.result()

    assert result == Receipt(greeting=f"您好，{NAME}", applicant=APPLICANT)
    history = await handle.fetch_history()
    text = history.to_json()
    assert "binary/encrypted" not in text  # metadata values are base64 in history JSON
    assert b64(ENCODING) in text
    assert personal_data_found(text) == []

    # The history's payloads, exactly as the Web UI sends them, decode at the endpoint.
    doc = json.loads(text)
    started = doc["events"][0]["workflowExecutionStartedEventAttributes"]
    async with http(codec_app(EncryptionCodec(test_keyring))) as c:
        r = await c.post("/codec/decode", json={"payloads": started["input"]["payloads"]})
    assert r.status_code == 200
    [decoded] = await pydantic_data_converter.decode(unwire(r.json()), [Applicant])
    assert decoded == APPLICANT


async def test_failure_messages_are_encrypted_too(env: WorkflowEnvironment) -> None:
    task_queue = f"codec-{uuid.uuid4()}"
    async with worker(env.client, task_queue):
        handle = await env.client.start_workflow(
            FailingProbeWorkflow.run,
            APPLICANT,
            id=f"codec-fail-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()

    # The client decodes the failure back to its message ...
    activity_error = err.value.cause
    assert isinstance(activity_error, ActivityError)
    assert isinstance(activity_error.cause, ApplicationError)
    assert activity_error.cause.message == f"phone {PHONE} unreachable"
    # ... while the stored history holds none of it.
    text = (await handle.fetch_history()).to_json()
    assert "unreachable" not in text
    assert personal_data_found(text) == []


async def test_control_without_codec_the_check_finds_personal_data(
    env: WorkflowEnvironment,
) -> None:
    # Proves the plain-text check has teeth: the same run without the codec is caught.
    config = env.client.config()
    config["data_converter"] = pydantic_data_converter
    plain_client = Client(**config)
    task_queue = f"codec-{uuid.uuid4()}"
    async with worker(plain_client, task_queue):
        handle = await plain_client.start_workflow(
            CodecProbeWorkflow.run,
            APPLICANT,
            id=f"codec-control-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        await handle.result()
    found = personal_data_found((await handle.fetch_history()).to_json())
    assert {f"{s} (base64)" for s in PERSONAL} <= set(found)


def test_keyring_is_frozen() -> None:
    ring = Keyring.generate("k1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ring.active_key_id = "k2"  # type: ignore[misc]
