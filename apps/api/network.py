"""The client's IP address, as far as we can trust it.

`REMOTE_ADDR` is the peer that connected to us. Only when that peer is one of the proxies named
in `API_TRUSTED_PROXIES` (env `TRUSTED_PROXIES`, CIDRs) do we read `X-Forwarded-For`, walking it
from the right and skipping our own proxies: the first address that is not ours is the client.
Anything a client writes further left is ignored, so it cannot forge its way past an allowlist.
"""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings
from django.http import HttpRequest

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.lru_cache(maxsize=1024)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def parse_ip(value: str | None) -> IPAddress | None:
    if not value:
        return None
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket is still that IPv4 client.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IPAddress, trusted: tuple[IPNetwork, ...]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def client_ip(request: HttpRequest) -> IPAddress | None:
    remote = parse_ip(request.META.get("REMOTE_ADDR"))
    trusted = _networks(tuple(getattr(settings, "API_TRUSTED_PROXIES", ())))
    if remote is None or not trusted or not _is_trusted(remote, trusted):
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed(forwarded):
        address = parse_ip(hop)
        if address is None:
            # Garbage in the chain: stop trusting it and use the last proxy we know.
            return remote
        if not _is_trusted(address, trusted):
            return address
        remote = address
    return remote


def ip_allowed(address: IPAddress | None, allowlist: list[str]) -> bool:
    if not allowlist:
        return True
    if address is None:
        return False
    return any(
        address.version == net.version and address in net for net in _networks(tuple(allowlist))
    )
