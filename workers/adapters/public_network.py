"""Connections that reach public addresses only, for endpoints that people submit (not the operator).

Checking a URL's host before a request is not enough: DNS may answer a public address to the check
and a private one to the connection (DNS rebinding). So the check sits in the connection itself: an
httpcore network backend resolves the host once, refuses the connection if any address is not
public, and connects to the very address it checked. TLS still verifies the certificate against the
host name (httpcore passes the origin's host as SNI, not the address connected to), and the Host
header comes from the URL, so neither changes.

The maintained SSRF wrappers for httpx (safehttpx, httpx-secure, drawbridge) are asynchronous only or
send GETs only; the adapter streams POSTs from a synchronous client, so the guard is this backend.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx
from django.conf import settings

from workers.adapters.base import AdapterError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class PrivateAddressRefused(AdapterError):
    """A submitted endpoint's host resolved to an address that is not public."""


def addresses_resolve(*, host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's order (an address literal: itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise httpcore.ConnectError(f"The host {host} could not be resolved ({exc}).") from exc
    addresses: list[IPAddress] = []
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise httpcore.ConnectError(f"The host {host} resolved to no internet address.")
    return addresses


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses that an IPv6 address tunnels to (6to4, Teredo), which relays may reach."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    embedded = [address.sixtofour, *(address.teredo or ())]
    return [inner for inner in embedded if inner is not None]


def address_problem(address: IPAddress) -> str | None:
    """What makes `address` not public ("a private address", ...), or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        candidates: tuple[IPAddress, ...] = (address.ipv4_mapped,)  # the socket connects over IPv4
    else:
        # The embedded address first: it is the one a tunnelled connection would reach.
        candidates = (*_embedded_ipv4(address), address)
    for candidate in candidates:
        if candidate.is_loopback:
            return "a loopback address"
        if candidate.is_link_local:
            return "a link-local address"
        if candidate.is_multicast:
            return "a multicast address"
        if candidate.is_unspecified:
            return "an unspecified address"
        if candidate.is_private:
            return "a private address"
        if candidate.is_reserved:
            return "a reserved address"
        if not candidate.is_global:  # shared (carrier-grade NAT) space and the like
            return "a non-public address"
    return None


def public_addresses_check(*, host: str, addresses: Iterable[IPAddress]) -> None:
    """Raises `PrivateAddressRefused` if any of `host`'s addresses is not public."""
    for address in addresses:
        problem = address_problem(address)
        if problem is not None:
            raise PrivateAddressRefused(
                f"The endpoint's host {host} resolves to {address}, {problem}; "
                "submitted endpoints must be public."
            )


def private_endpoints_allowed() -> bool:
    # Read at every connection: tests and local setups switch it without rebuilding adapters.
    return bool(getattr(settings, "PORTAL_ALLOW_PRIVATE_ENDPOINTS", False))


class PublicOnlyBackend(httpcore.SyncBackend):
    """Resolves once per connection, checks every address, connects to the checked addresses only."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = addresses_resolve(host=host, port=port)
        if not private_endpoints_allowed():
            # Any private answer refuses the whole host: trying only its public addresses would
            # still let a rebinding server choose, by answer order, when to point us inward.
            public_addresses_check(host=host, addresses=addresses)
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # addresses is never empty
        raise failure


class PublicOnlyTransport(httpx.HTTPTransport):
    """httpx's own transport, its connection pool built on `PublicOnlyBackend`.

    Proxies from the environment are ignored (a proxy would make the connections, unchecked).
    """

    def __init__(self, *, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(trust_env=False, limits=limits)
        # HTTPTransport takes no network backend yet (encode/httpx#3749 proposes one), so its pool is
        # replaced by the same pool it builds, on the guarded backend.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PublicOnlyBackend(),
        )
