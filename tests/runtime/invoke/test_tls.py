"""The async transport's TLS files and payload bound, against a real https function server on loopback
that requires a client certificate (certificates made for the test with the cryptography package)."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from statefun_faas.moduleyaml.reader import load_module
from statefun_faas.runtime.http.client import HttpClient
from statefun_faas.runtime.invoke import remote
from statefun_faas.runtime.invoke.remote import EndpointRoutes, HttpInvoker
from tests.runtime.apps import functions
from tests.runtime.servers import PLAYGROUND_IO, FunctionServer, endpoint, put, raw, running, take

Key = ec.EllipticCurvePrivateKey


def certificate(name: str, key: Key, issuer: tuple[x509.Certificate, Key] | None = None) -> x509.Certificate:
    """A CA certificate (no issuer) or a leaf for 127.0.0.1 signed by ``issuer``, with the key identifiers
    that strict verification (Python 3.13's default) requires."""
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        ).add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()), critical=False)
    else:
        signs = x509.KeyUsage(
            digital_signature=False,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        builder = builder.add_extension(signs, critical=True)
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_pki(folder: Path) -> ssl.SSLContext:
    """CA, server and client certificates in ``folder`` (the client key PKCS8, encrypted, its password in a
    file); returns the server's context, which requires a client certificate from the CA."""
    ca_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = certificate("test-ca", ca_key)
    (folder / "ca.pem").write_bytes(pem(ca))
    (folder / "server.pem").write_bytes(pem(certificate("server", server_key, (ca, ca_key))))
    pkcs8 = serialization.PrivateFormat.PKCS8
    plain = serialization.NoEncryption()
    (folder / "server.key").write_bytes(server_key.private_bytes(serialization.Encoding.PEM, pkcs8, plain))
    (folder / "client.crt").write_bytes(pem(certificate("client", client_key, (ca, ca_key))))
    secret = serialization.BestAvailableEncryption(b"s3cret")
    (folder / "client.key.p8").write_bytes(client_key.private_bytes(serialization.Encoding.PEM, pkcs8, secret))
    (folder / "password.txt").write_text("s3cret\n")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=folder / "ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(folder / "server.pem", folder / "server.key")
    return context


ASYNC_TLS = """  transport:
    type: io.statefun.transports.v1/async
    call: 1s
    connect: 300ms
{extra}"""
OKHTTP = """  transport:
    type: io.statefun.transports.v1/okhttp
    timeouts: {call: 1s, connect: 300ms, read: 1s, write: 1s}
"""
MUTUAL = """    trust_cacerts: file:ca.pem
    client_cert: classpath:client.crt
    client_key: client.key.p8
    client_key_password: password.txt
"""


async def deliver(
    tmp_path: Path, server: FunctionServer, scheme: str, extra: str, transport: str | None = None
) -> tuple[list[str], list[str]]:
    """Send one message to test/counter/k; the counts that came out and the dead-letter reasons."""
    async with server.serving():
        url = f"{scheme}://127.0.0.1:{server.port}/statefun"
        transport = transport or ASYNC_TLS.format(extra=extra)
        async with running(tmp_path, endpoint("test/*", url, transport) + PLAYGROUND_IO) as runtime:
            async with aiohttp.ClientSession() as session:
                assert await put(session, runtime.ports["ingress"], "test/counter/k", "a") == 200
                await runtime.router.quiescent()
                counts = await take(session, runtime.ports["egress"], "counts", 1, timeout=0.5)
            return counts, [letter.reason for letter in runtime.store.dead_letters()]


def test_mutual_tls_with_the_modules_files(tmp_path: Path) -> None:
    server = FunctionServer(functions, tls=write_pki(tmp_path))
    assert asyncio.run(deliver(tmp_path, server, "https", MUTUAL)) == (["k:1:a:-"], [])


def test_a_server_the_trust_does_not_cover_is_refused(tmp_path: Path) -> None:
    server = FunctionServer(functions, tls=write_pki(tmp_path))
    counts, [reason] = asyncio.run(deliver(tmp_path, server, "https", ""))  # the system trust store only
    assert counts == []
    assert "CERTIFICATE_VERIFY_FAILED" in reason


def test_a_missing_tls_file_is_named_and_not_retried(tmp_path: Path) -> None:
    server = FunctionServer(functions, tls=write_pki(tmp_path))
    missing = MUTUAL.replace("client.key.p8", "nowhere.p8")
    counts, [reason] = asyncio.run(deliver(tmp_path, server, "https", missing))
    assert counts == []
    assert "client_key" in reason
    assert "nowhere.p8" in reason
    assert server.paths == []


def test_an_answer_over_payload_max_bytes_is_a_dead_letter(tmp_path: Path) -> None:
    server = FunctionServer(functions, faults=[raw(b"\x0a" + b"\x00" * 2000)])
    counts, [reason] = asyncio.run(deliver(tmp_path, server, "http", "    payload_max_bytes: 1000\n"))
    assert counts == []
    assert "larger than 1000 bytes" in reason
    assert "payload_max_bytes" in reason
    assert len(server.paths) == 1  # not retried


def test_an_okhttp_answer_over_the_local_bound_is_a_dead_letter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remote, "OKHTTP_MAX_ANSWER", 1000)  # 256 MiB otherwise; OkHttp has no bound of its own
    server = FunctionServer(functions, faults=[raw(b"\x0a" + b"\x00" * 2000)])
    counts, [reason] = asyncio.run(deliver(tmp_path, server, "http", "", OKHTTP))
    assert counts == []
    assert "larger than 1000 bytes" in reason
    assert "bound on okhttp answers" in reason
    assert len(server.paths) == 1  # not retried


def test_the_function_types_of_one_endpoint_share_its_tls_context(tmp_path: Path) -> None:
    write_pki(tmp_path)
    module = tmp_path / "module.yaml"
    module.write_text(endpoint("test/*", "https://127.0.0.1:9/{function.name}", ASYNC_TLS.format(extra=MUTUAL)))
    routes = EndpointRoutes(HttpClient(), load_module(module))
    targets = []
    for typename in ("test/counter", "test/forwarder"):
        route = routes(typename)
        assert route is not None
        assert isinstance(route.invoker, HttpInvoker)
        targets.append(route.invoker._target())
    assert targets[0].tls is not None
    assert targets[0].tls is targets[1].tls
    assert targets[0].pool == targets[1].pool  # so their calls reuse the same kept connections
