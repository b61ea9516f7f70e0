"""A secured cluster: TLS with a client certificate, or an API key, from settings.

The dev server speaks plain gRPC, so a TLS-terminating proxy (Python's ssl, the same
handshake a secured frontend does) stands in front of it: a client without the right
certificate never gets through, one configured by TEMPORAL_TLS_* does.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.testing import WorkflowEnvironment

from onething.settings import Settings, SettingsError, load_settings
from onething.temporal import connect, tls_config


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path  # signed by a CA the server does not trust
    stranger_key: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _cert(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, issuer_key = issuer or (subject, key)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Path:
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    ca_key, other_ca_key = _key(), _key()
    ca = _cert("onething test CA", ca_key, None, ca=True)
    other_ca = _cert("someone else's CA", other_ca_key, None, ca=True)
    server_key, client_key, stranger_key = _key(), _key(), _key()
    _write(d / "ca.pem", ca, ca_key)
    _write(d / "server.pem", _cert("localhost", server_key, (ca.subject, ca_key), server=True),
           server_key)  # fmt: skip
    _write(d / "client.pem", _cert("worker-1", client_key, (ca.subject, ca_key)), client_key)
    _write(
        d / "stranger.pem",
        _cert("stranger", stranger_key, (other_ca.subject, other_ca_key)),
        stranger_key,
    )
    return Pki(
        ca=d / "ca.pem",
        server_cert=d / "server.pem",
        server_key=d / "server.key",
        client_cert=d / "client.pem",
        client_key=d / "client.key",
        stranger_cert=d / "stranger.pem",
        stranger_key=d / "stranger.key",
    )


@contextlib.asynccontextmanager
async def tls_proxy(pki: Pki, target: str, *, require_client_cert: bool) -> AsyncIterator[str]:
    """A TLS frontend on a free port that forwards the decrypted stream to `target`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.set_alpn_protocols(["h2"])
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki.ca)
    host, _, port = target.rpartition(":")
    pipes: set[asyncio.Task[None]] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        for task in (pipe(reader, up_writer), pipe(up_reader, writer)):
            pipes.add(asyncio.ensure_future(task))

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    address = server.sockets[0].getsockname()
    try:
        yield f"127.0.0.1:{address[1]}"
    finally:
        server.close()
        for task in pipes:
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)


@pytest_asyncio.fixture(loop_scope="session")
async def mtls_address(pki: Pki, dev_env: WorkflowEnvironment) -> AsyncIterator[str]:
    async with tls_proxy(
        pki, dev_env.client.service_client.config.target_host, require_client_cert=True
    ) as address:
        yield address


@pytest_asyncio.fixture(loop_scope="session")
async def tls_address(pki: Pki, dev_env: WorkflowEnvironment) -> AsyncIterator[str]:
    async with tls_proxy(
        pki, dev_env.client.service_client.config.target_host, require_client_cert=False
    ) as address:
        yield address


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """A clean slate of Temporal connection variables."""
    for name in (
        "TEMPORAL_TLS",
        "TEMPORAL_TLS_CERT",
        "TEMPORAL_TLS_KEY",
        "TEMPORAL_TLS_CA",
        "TEMPORAL_TLS_SERVER_NAME",
        "TEMPORAL_API_KEY",
        "TEMPORAL_API_KEY_FILE",
        "TEMPORAL_TLS_CLIENT_CERT_PATH",
        "TEMPORAL_TLS_CLIENT_KEY_PATH",
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
    ):
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch


async def answers(settings: Settings) -> bool:
    client = await asyncio.wait_for(connect(settings), timeout=20)
    await client.workflow_service.get_system_info(GetSystemInfoRequest())
    return True


@pytest.mark.parametrize(
    "names",
    [
        ("TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA"),
        # The Temporal SDKs' and CLI's environment configuration names work too.
        (
            "TEMPORAL_TLS_CLIENT_CERT_PATH",
            "TEMPORAL_TLS_CLIENT_KEY_PATH",
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
        ),
    ],
    ids=["ours", "sdk-envconfig"],
)
async def test_mutual_tls_from_settings(
    environ: pytest.MonkeyPatch, pki: Pki, mtls_address: str, names: tuple[str, str, str]
) -> None:
    cert, key, ca = names
    environ.setenv("TEMPORAL_ADDRESS", mtls_address)
    environ.setenv(cert, str(pki.client_cert))
    environ.setenv(key, str(pki.client_key))
    environ.setenv(ca, str(pki.ca))
    environ.setenv("TEMPORAL_TLS_SERVER_NAME", "localhost")
    settings = load_settings()
    assert settings.tls_enabled and settings.temporal_tls_cert == pki.client_cert
    assert await answers(settings)


@pytest.mark.parametrize("who", ["no certificate", "a stranger's certificate"])
async def test_without_the_right_client_certificate_the_cluster_refuses(
    environ: pytest.MonkeyPatch, pki: Pki, mtls_address: str, who: str
) -> None:
    environ.setenv("TEMPORAL_ADDRESS", mtls_address)
    environ.setenv("TEMPORAL_TLS_CA", str(pki.ca))
    environ.setenv("TEMPORAL_TLS_SERVER_NAME", "localhost")
    if who != "no certificate":
        environ.setenv("TEMPORAL_TLS_CERT", str(pki.stranger_cert))
        environ.setenv("TEMPORAL_TLS_KEY", str(pki.stranger_key))
    with pytest.raises(RuntimeError, match="Failed client connect"):
        await answers(load_settings())


async def test_plain_client_cannot_talk_to_a_tls_frontend(
    environ: pytest.MonkeyPatch, tls_address: str
) -> None:
    environ.setenv("TEMPORAL_ADDRESS", tls_address)
    environ.setenv("TEMPORAL_TLS", "false")
    with pytest.raises(RuntimeError, match="Failed client connect"):
        await answers(load_settings())


async def test_api_key_file_turns_tls_on(
    environ: pytest.MonkeyPatch, pki: Pki, tls_address: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "api-key"
    key_file.write_text("tc-key-123\n")
    environ.setenv("TEMPORAL_ADDRESS", tls_address)
    environ.setenv("TEMPORAL_API_KEY_FILE", str(key_file))
    environ.setenv("TEMPORAL_TLS_CA", str(pki.ca))
    environ.setenv("TEMPORAL_TLS_SERVER_NAME", "localhost")
    settings = load_settings()
    assert settings.api_key == "tc-key-123" and settings.tls_enabled
    client = await asyncio.wait_for(connect(settings), timeout=20)
    assert client.api_key == "tc-key-123"
    await client.workflow_service.get_system_info(GetSystemInfoRequest())


def test_api_key_alone_means_tls_with_the_system_roots(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("TEMPORAL_API_KEY", "secret-key")
    tls = tls_config(load_settings())
    assert not isinstance(tls, bool)
    assert tls.server_root_ca_cert is None and tls.client_cert is None


def test_embedded_default_is_plain(environ: pytest.MonkeyPatch) -> None:
    assert tls_config(load_settings()) is False


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"TEMPORAL_TLS_CERT": "{client_cert}"}, "TEMPORAL_TLS_KEY"),
        ({"TEMPORAL_TLS_CA": "/nonexistent/ca.pem"}, "TEMPORAL_TLS_CA"),
        ({"TEMPORAL_TLS_CA": "{not_pem}"}, "TEMPORAL_TLS_CA"),
        ({"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "{not_pem}"}, "TEMPORAL_TLS_SERVER_CA_CERT_PATH"),
        ({"TEMPORAL_TLS": "false", "TEMPORAL_TLS_CA": "{ca}"}, "TEMPORAL_TLS=false"),
        ({"TEMPORAL_API_KEY": "two words"}, "TEMPORAL_API_KEY"),
        ({"TEMPORAL_API_KEY": "k", "TEMPORAL_API_KEY_FILE": "{ca}"}, "TEMPORAL_API_KEY_FILE"),
    ],
)
def test_wrong_settings_stop_with_one_line_naming_the_variable(
    environ: pytest.MonkeyPatch,
    pki: Pki,
    tmp_path: Path,
    variables: dict[str, str],
    named: str,
) -> None:
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello")
    paths = {"client_cert": pki.client_cert, "ca": pki.ca, "not_pem": not_pem}
    for name, value in variables.items():
        environ.setenv(name, value.format(**paths))
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert named in message and "\n" not in message
    assert "two words" not in message  # an API key is never echoed
