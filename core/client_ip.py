"""The client's address, the one rule every part of the site uses (README "Rate limits and client addresses").

The address is the socket's peer, unless that peer is one of ARENA_TRUSTED_PROXIES: then it is the
right-most hop of X-Forwarded-For that is not itself a trusted proxy. A proxy appends the address it
was reached from, so the hops right of that one were written by proxies we trust and the hops left of
it by whoever the client is, which may lie: a client sending its own X-Forwarded-For straight to the
site (an untrusted peer) is not believed at all.

"*" trusts any peer (for a web server that only its proxy can reach, as in docker-compose.yml), but
not the hops inside the header: there the right-most one not otherwise listed is the client.

The web server passes the socket's peer on as it is (uvicorn --no-proxy-headers, config/run.py), so
that this is the only place X-Forwarded-For is read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _trusted(entries: tuple[str, ...]) -> tuple[bool, tuple[IPNetwork, ...]]:
    """(any peer trusted, the listed networks); keyed by the setting's value, so tests may change it."""
    networks = tuple(ipaddress.ip_network(entry, strict=False) for entry in entries if entry != "*")
    return "*" in entries, networks


def _address(value: str) -> IPAddress | None:
    """An address as a peer or a hop names it (with or without a port), or None for anything else."""
    text = value.strip()
    if text.startswith("["):  # [v6]:port
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _listed(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def client_ip(*, peer: str, forwarded_for: Iterable[str] = ()) -> str:
    """The client's address from the socket's `peer` and the X-Forwarded-For header values ("" when
    the peer is not an address, as on a unix socket with no proxy in front)."""
    any_peer, networks = _trusted(tuple(settings.ARENA_TRUSTED_PROXIES))
    address = _address(peer)
    if address is None:
        return ""
    if not (any_peer or _listed(address, networks)):
        return str(address)
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        hop_address = _address(hop)
        if hop_address is None:
            # The chain is broken here: the last hop a trusted proxy vouched for is all we know.
            break
        address = hop_address
        if not _listed(hop_address, networks):
            break
    return str(address)


def request_client_ip(*, request: HttpRequest) -> str:
    """The address of the client that sent this Django request."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    return client_ip(
        peer=request.META.get("REMOTE_ADDR") or "", forwarded_for=[forwarded] if forwarded else []
    )


def scope_client_ip(*, scope: Mapping[str, Any]) -> str:
    """The address of the client of an ASGI connection (a WebSocket, a request not yet in Django)."""
    peer = scope.get("client")
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name.lower() == b"x-forwarded-for"
    ]
    return client_ip(peer=peer[0] if peer else "", forwarded_for=forwarded)
