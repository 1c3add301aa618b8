"""Submitted endpoints reach public addresses only, checked at connect time; operator models: unaffected."""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from workers.adapters import public_network
from workers.adapters.base import AdapterError, GenerationParams, GenerationStats, Message, TextPart
from workers.adapters.openai_http import OpenAIHttpAdapter
from workers.adapters.public_network import PrivateAddressRefused, address_problem
from workers.adapters.settings import OpenAISettings, settings_parse

SHORT = GenerationParams(max_new_tokens=4)
# A public address nothing here answers on (the sandbox has no route out, so connecting fails fast).
PUBLIC = ipaddress.ip_address("93.184.215.14")


# --- a local OpenAI-style server (also used by test_checks.py and test_secrets.py) -------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


Responder = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class LocalServer:
    port: int
    received: list[Received] = field(default_factory=list)
    respond: Responder = lambda handler: None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def sse_answer(*texts: str, usage: bool = True) -> Responder:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        for text in texts:
            event = {"choices": [{"index": 0, "delta": {"content": text}}]}
            handler.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
        if usage:
            handler.wfile.write(
                b'data: {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1}}\n\n'
            )
        handler.wfile.write(b"data: [DONE]\n\n")

    return respond


def plain_answer(body: bytes, *, status: int = 200, content_type: str = "application/json") -> Responder:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return respond


@contextmanager
def local_server_running() -> Iterator[LocalServer]:
    """An HTTP server on a free loopback port that records each POST and answers with `respond`."""
    server_state: list[LocalServer] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state = server_state[0]
            state.received.append(Received(path=self.path, headers=dict(self.headers), body=json.loads(body)))
            self.close_connection = True
            state.respond(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = LocalServer(port=int(server.server_address[1]), respond=sse_answer("hello"))
    server_state.append(state)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    with local_server_running() as server:
        yield server


def _ask(adapter: OpenAIHttpAdapter) -> str:
    conversation = [Message(role="user", content=(TextPart("Hi"),))]
    try:
        return "".join(adapter.stream(conversation, SHORT, stats=GenerationStats()))
    finally:
        adapter.close()


def _adapter(base_url: str, *, public_only: bool, **options: Any) -> OpenAIHttpAdapter:
    options = {"connect_timeout": 2.0, "read_timeout": 5.0, "max_retries": 0, **options}
    return OpenAIHttpAdapter(
        settings=OpenAISettings(base_url=base_url, model="m", public_only=public_only, **options)
    )


def _resolve_as(monkeypatch: pytest.MonkeyPatch, *answers: list[str]) -> list[str]:
    """Our resolver answers each call with the next list (the last one repeats); returns the hosts asked."""
    asked: list[str] = []

    def resolve(*, host: str, port: int) -> list[Any]:
        asked.append(host)
        answer = answers[min(len(asked), len(answers)) - 1]
        return [ipaddress.ip_address(address) for address in answer]

    monkeypatch.setattr(public_network, "addresses_resolve", resolve)
    return asked


# --- the guard -------------------------------------------------------------------------------------------


def test_a_submitted_endpoint_on_loopback_is_refused_without_the_setting(
    local_server: LocalServer, settings: Any
) -> None:
    settings.PORTAL_ALLOW_PRIVATE_ENDPOINTS = False

    with pytest.raises(PrivateAddressRefused) as refused:
        _ask(_adapter(local_server.base_url, public_only=True))

    assert str(refused.value) == (
        "The endpoint's host 127.0.0.1 resolves to 127.0.0.1, a loopback address; "
        "submitted endpoints must be public."
    )
    assert local_server.received == []


def test_a_host_name_for_loopback_is_refused_too(local_server: LocalServer, settings: Any) -> None:
    settings.PORTAL_ALLOW_PRIVATE_ENDPOINTS = False

    with pytest.raises(PrivateAddressRefused, match=r"host localhost resolves to .*, a loopback address"):
        _ask(_adapter(f"http://localhost:{local_server.port}/v1", public_only=True))

    assert local_server.received == []


def test_a_submitted_endpoint_on_loopback_answers_with_the_setting(
    local_server: LocalServer, settings: Any
) -> None:
    settings.PORTAL_ALLOW_PRIVATE_ENDPOINTS = True

    assert _ask(_adapter(local_server.base_url, public_only=True)) == "hello"


def test_operator_models_reach_private_addresses_without_the_setting(
    local_server: LocalServer, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PORTAL_ALLOW_PRIVATE_ENDPOINTS = False
    asked = _resolve_as(monkeypatch, ["10.0.0.5"])

    assert _ask(_adapter(local_server.base_url, public_only=False)) == "hello"
    assert asked == []  # the guard is not even in the path


def test_one_private_address_among_public_ones_refuses_the_host_before_connecting(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PORTAL_ALLOW_PRIVATE_ENDPOINTS = False
    _resolve_as(monkeypatch, [str(PUBLIC), "10.0.0.5"])

    with pytest.raises(PrivateAddressRefused) as refused:
        _ask(_adapter("https://api.example/v1", public_only=True))

    assert str(refused.value) == (
        "The endpoint's host api.example resolves to 10.0.0.5, a private address; "
        "submitted endpoints must be public."
    )


def test_a_dns_answer_that_changes_after_the_check_cannot_reach_loopback(
    local_server: LocalServer, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The system resolver says localhost is 127.0.0.1; ours said a public address at the check. A guard
    that checked and then let the socket resolve the name again would land on the loopback server."""
    settings.PORTAL_ALLOW_PRIVATE_ENDPOINTS = False
    asked = _resolve_as(monkeypatch, [str(PUBLIC)], ["127.0.0.1"])
    adapter = _adapter(
        f"http://localhost:{local_server.port}/v1", public_only=True, max_retries=1, connect_timeout=0.5
    )

    with pytest.raises(AdapterError) as failed:
        _ask(adapter)

    assert local_server.received == []
    # The retry's new connection resolved again, heard loopback, and was refused.
    assert asked == ["localhost", "localhost"]
    assert isinstance(failed.value, PrivateAddressRefused)


def test_the_connection_goes_to_the_checked_address_with_the_host_header_of_the_url(
    local_server: LocalServer, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PORTAL_ALLOW_PRIVATE_ENDPOINTS = True
    _resolve_as(monkeypatch, ["127.0.0.1"])

    # model.example resolves nowhere on this machine: only the resolved address can have been used.
    assert _ask(_adapter(f"http://model.example:{local_server.port}/v1", public_only=True)) == "hello"
    assert local_server.received[0].headers["Host"] == f"model.example:{local_server.port}"


def _self_signed(tmp_path: Path, host: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_tls_names_the_host_not_the_address_it_connects_to(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PORTAL_ALLOW_PRIVATE_ENDPOINTS = True
    _resolve_as(monkeypatch, ["127.0.0.1"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_self_signed(tmp_path, "model.example"))
    server_names: list[str | None] = []
    context.sni_callback = lambda sock, server_name, ctx: server_names.append(server_name)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def accept_one() -> None:
        connection, _ = listener.accept()
        try:
            with context.wrap_socket(connection, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass  # the client rejects our self-signed certificate: the handshake's start is what counts

    thread = threading.Thread(target=accept_one, daemon=True)
    thread.start()

    # The certificate is no one's, so the request fails; the name it was asked for is what counts.
    with pytest.raises(AdapterError, match="certificate"):
        _ask(_adapter(f"https://model.example:{port}/v1", public_only=True))
    thread.join(timeout=5)
    listener.close()

    assert server_names == ["model.example"]


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("10.0.0.5", "a private address"),
        ("192.168.1.1", "a private address"),
        ("172.16.0.1", "a private address"),
        ("127.0.0.1", "a loopback address"),
        ("169.254.169.254", "a link-local address"),
        ("224.0.0.251", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),
        ("100.64.0.1", "a non-public address"),
        ("::1", "a loopback address"),
        ("fe80::1", "a link-local address"),
        ("fd00::1", "a private address"),
        ("ff02::1", "a multicast address"),
        ("::", "an unspecified address"),
        ("::ffff:10.0.0.5", "a private address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("2002:7f00:1::", "a loopback address"),  # 6to4 around 127.0.0.1
    ],
)
def test_every_kind_of_non_public_address_is_named(address: str, problem: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) == problem


@pytest.mark.parametrize("address", ["240.0.0.1", "255.255.255.255", "192.0.2.1", "2001:db8::1"])
def test_reserved_and_documentation_addresses_are_not_public(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", [str(PUBLIC), "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"])
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is None


def test_the_flag_and_the_encrypted_key_are_read_from_the_configuration() -> None:
    parsed = settings_parse(
        kind="openai",
        config={
            "base_url": "https://api.example/v1",
            "model": "m",
            "public_only": True,
            "api_key_encrypted": "tok",
        },
    )

    assert isinstance(parsed, OpenAISettings)
    assert parsed.public_only is True and parsed.api_key_encrypted == "tok"
    assert "tok" not in repr(parsed)
