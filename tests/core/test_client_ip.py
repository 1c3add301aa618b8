"""The client's address: the socket's peer, unless a trusted proxy (ARENA_TRUSTED_PROXIES) relayed the
request, then the right-most X-Forwarded-For hop that is no trusted proxy; a header from anyone else
is ignored. One rule for requests, WebSockets, the stored address hashes and a real uvicorn."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest
from django.test import Client, RequestFactory

from arena.identity import ip_hash_get
from core.client_ip import client_ip, request_client_ip, scope_client_ip
from tests.conftest import _database_url, uvicorn_command
from tests.processes import ROOT, free_port, port_wait, process_stop


@pytest.fixture
def trusted(settings):
    def trust(*entries: str) -> None:
        settings.ARENA_TRUSTED_PROXIES = list(entries)

    return trust


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(trusted):
    trusted("10.0.0.2")
    assert client_ip(peer="198.51.100.7", forwarded_for=["203.0.113.1"]) == "198.51.100.7"


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says(trusted):
    trusted()
    assert client_ip(peer="127.0.0.1", forwarded_for=["203.0.113.1"]) == "127.0.0.1"


def test_a_trusted_proxys_header_is_believed(trusted):
    trusted("10.0.0.2")
    assert client_ip(peer="10.0.0.2", forwarded_for=["203.0.113.1"]) == "203.0.113.1"


def test_the_right_most_hop_that_is_not_a_trusted_proxy_is_the_client(trusted):
    trusted("10.0.0.0/8")
    # The client wrote the first two hops itself; 10.1.2.3 (a trusted proxy) relayed to 10.0.0.2.
    hops = ["1.1.1.1, 198.51.100.9", "203.0.113.5, 10.1.2.3"]
    assert client_ip(peer="10.0.0.2", forwarded_for=hops) == "203.0.113.5"


def test_when_every_hop_is_a_trusted_proxy_the_furthest_one_is_the_client(trusted):
    trusted("10.0.0.0/8")
    assert client_ip(peer="10.0.0.2", forwarded_for=["10.9.9.9, 10.1.1.1"]) == "10.9.9.9"
    assert client_ip(peer="10.0.0.2", forwarded_for=[]) == "10.0.0.2"


def test_any_peer_trusted_takes_the_right_most_hop_only(trusted):
    trusted("*")
    # What a client sent ahead of the proxy's own hop is not believed.
    assert client_ip(peer="172.18.0.5", forwarded_for=["6.6.6.6, 203.0.113.5"]) == "203.0.113.5"


def test_a_malformed_hop_ends_the_chain_at_the_last_trusted_one(trusted):
    trusted("10.0.0.0/8")
    assert client_ip(peer="10.0.0.2", forwarded_for=["203.0.113.5, not-an-address, 10.1.1.1"]) == "10.1.1.1"


def test_ports_brackets_and_ipv4_mapped_addresses_are_read_as_the_address(trusted):
    trusted("10.0.0.2")
    assert client_ip(peer="::ffff:10.0.0.2", forwarded_for=["203.0.113.5:4711"]) == "203.0.113.5"
    assert client_ip(peer="10.0.0.2", forwarded_for=["[2001:db8::1]:443"]) == "2001:db8::1"
    assert client_ip(peer="::ffff:198.51.100.7") == "198.51.100.7"


def test_a_peer_that_is_no_address_gives_no_address(trusted):
    trusted("*")
    assert client_ip(peer="", forwarded_for=["203.0.113.5"]) == ""


def test_a_django_request_reads_the_peer_and_the_header(trusted):
    trusted("127.0.0.1")
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert request_client_ip(request=request) == "203.0.113.5"


def test_a_websocket_scope_reads_the_peer_and_every_header_value(trusted):
    trusted("127.0.0.1")
    scope = {
        "type": "websocket",
        "client": ("127.0.0.1", 50000),
        "headers": [(b"x-forwarded-for", b"6.6.6.6"), (b"X-Forwarded-For", b"203.0.113.5")],
    }
    assert scope_client_ip(scope=scope) == "203.0.113.5"
    assert scope_client_ip(scope={"type": "websocket", "headers": []}) == ""


def test_the_stored_address_hash_ignores_a_spoofed_header(trusted, settings):
    trusted()
    settings.ARENA_IP_HASH_SALT = "salt-under-test"
    factory = RequestFactory()
    honest = factory.get("/", REMOTE_ADDR="198.51.100.7")
    spoofed = factory.get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.5")
    stored = ip_hash_get(request=honest)
    assert stored == ip_hash_get(request=spoofed)
    assert "198.51.100.7" not in stored
    settings.ARENA_IP_HASH_SALT = "another-salt"
    assert ip_hash_get(request=honest) != stored, "the hash is keyed by the salt setting"


def test_metrics_for_this_machine_only_are_not_opened_by_a_spoofed_header(client: Client, trusted, settings):
    settings.METRICS_TOKEN = ""
    trusted()
    assert (
        client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403
    )
    trusted("127.0.0.1")
    # Relayed by a proxy on this machine, the request is an outsider's.
    assert (
        client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 403
    )


def _metrics_status(tmp_path: Path, *, trusted_proxies: str) -> int:
    """GET /metrics from this machine with an outsider's X-Forwarded-For, through a real uvicorn."""
    metrics_dir = tmp_path / f"metrics-{len(trusted_proxies)}"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "METRICS_TOKEN": "",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "ARENA_TRUSTED_PROXIES": trusted_proxies,
    }
    port, log = free_port(), tmp_path / f"web-{len(trusted_proxies)}.log"
    with log.open("wb") as out:
        web = subprocess.Popen(
            uvicorn_command(port=port), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        port_wait(port, process=web, log=log)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, trust_env=False) as site:
            return site.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code
    finally:
        process_stop(web)


@pytest.mark.django_db
def test_the_web_server_leaves_the_header_to_the_one_rule(tmp_path: Path):
    # uvicorn's own default would believe 127.0.0.1's header; the site's rule decides instead.
    assert _metrics_status(tmp_path, trusted_proxies="") == 200, "a header from an untrusted peer is ignored"
    assert _metrics_status(tmp_path, trusted_proxies="127.0.0.1") == 403, (
        "a trusted proxy's header is believed"
    )
