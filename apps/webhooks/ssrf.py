"""Keep webhook requests off internal networks (server-side request forgery).

A URL is checked when an endpoint is saved and again when each request is made, against the
addresses its host resolves to at that moment: a name that was public when saved may point at
127.0.0.1 later (DNS rebinding). At send time the check lives in the HTTP client's resolver, so
the connection goes to the very address that was checked, never to a second lookup.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from django.conf import settings

from apps.core.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges `is_global` lets through but that are no place for a webhook.
_ALSO_REFUSED = [
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT
    ipaddress.ip_network("224.0.0.0/4"),  # multicast
    ipaddress.ip_network("ff00::/8"),
]


class UnsafeAddressError(OSError):
    """Raised by the resolver; an OSError so the HTTP client reports it as a connect error."""


def address_refusal(address: str, *, allow_loopback: bool | None = None) -> str | None:
    """Why `address` may not receive webhooks, or None when it may."""
    if allow_loopback is None:
        allow_loopback = settings.WEBHOOKS_ALLOW_LOOPBACK
    ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if allow_loopback else f"{ip} is a loopback address"
    if ip.is_link_local:
        return f"{ip} is a link-local address (metadata services live there)"
    if ip.is_multicast or any(ip in network for network in _ALSO_REFUSED):
        return f"{ip} is not a public unicast address"
    if ip.is_private or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return f"{ip} is a private or reserved address"
    return None


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def url_check(url: str) -> None:
    """Refuse a URL that is malformed, not HTTPS where HTTPS is required, or whose host
    resolves to an address webhooks may not reach. A name that does not resolve yet is
    accepted: every request checks again."""
    parts = urlsplit(url)
    allowed_schemes = {"https"} if settings.WEBHOOKS_REQUIRE_HTTPS else {"https", "http"}
    if parts.scheme not in allowed_schemes:
        raise ValidationFailed(
            "The URL must start with https://."
            if settings.WEBHOOKS_REQUIRE_HTTPS
            else "The URL must start with http:// or https://.",
            field="url",
        )
    host = parts.hostname
    if not host:
        raise ValidationFailed("The URL has no host.", field="url")
    if parts.username or parts.password:
        raise ValidationFailed(
            "Put credentials in the receiver's checks, not in the URL.",
            field="url",
        )
    try:
        port = parts.port
    except ValueError:
        raise ValidationFailed(
            "The URL's port is not a number between 0 and 65535.",
            field="url",
        ) from None
    if _is_ip_literal(host):
        addresses = [host]
    else:
        try:
            infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            return
        addresses = sorted({info[4][0] for info in infos})
    for address in addresses:
        reason = address_refusal(address)
        if reason:
            raise ValidationFailed(
                f"Webhooks cannot be sent to {host}: {reason}.",
                field="url",
            )


def literal_host_refusal(host: str, *, allow_loopback: bool) -> str | None:
    """The HTTP client does not resolve IP literals, so they are checked before sending."""
    host = host.strip("[]")
    if not _is_ip_literal(host):
        return None
    return address_refusal(host, allow_loopback=allow_loopback)


class GuardedResolver(AbstractResolver):
    """Resolve with the default resolver, then refuse when any address is off-limits."""

    def __init__(self, *, allow_loopback: bool) -> None:
        self._resolver = DefaultResolver()
        self._allow_loopback = allow_loopback

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            reason = address_refusal(result["host"], allow_loopback=self._allow_loopback)
            if reason:
                raise UnsafeAddressError(f"refused to connect to {host}: {reason}")
        return results

    async def close(self) -> None:
        await self._resolver.close()


def resolver_for_settings() -> Any:
    return GuardedResolver(allow_loopback=settings.WEBHOOKS_ALLOW_LOOPBACK)
