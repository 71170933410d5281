"""Where a URL a user gives may point: not at this machine, its link-local neighbours (the
cloud metadata service at 169.254.169.254 among them) or other special addresses, unless an
admin registered it or allowed the network (``ASSAY_ALLOWED_NETWORKS``).

Checked twice: when the URL is registered, and by the worker on every connection it makes
(a name may resolve differently later). Every spelling of an address counts: hostnames,
decimal (``2852039166``), hex and octal IPv4, IPv4-mapped IPv6 (``::ffff:169.254.169.254``).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from assay.core.errors import InvalidInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(text: str) -> list[Network]:
    """``ASSAY_ALLOWED_NETWORKS``: comma-separated CIDRs (``127.0.0.0/8,::1/128``)."""
    found = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            found.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise InvalidInput(
                f"ASSAY_ALLOWED_NETWORKS: {part!r} is not a network; write CIDRs such as "
                "10.0.0.0/8 or ::1/128, separated by commas"
            ) from None
    return found


def why_blocked(address: Address) -> str | None:
    """What kind of special address this is, or None for an ordinary one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind, flag in (
        ("a loopback", address.is_loopback),
        ("a link-local (cloud metadata)", address.is_link_local),
        ("an unspecified", address.is_unspecified),
        ("a multicast", address.is_multicast),
        ("a reserved", address.is_reserved),
    ):
        if flag:
            return kind
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local"
    return None


def resolve(host: str) -> list[Address]:
    """Every address ``host`` stands for; [] when it does not resolve."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def refusal(host: str, addresses: Iterable[Address], allowed: Iterable[Network]) -> str | None:
    allowed = list(allowed)
    for address in addresses:
        kind = why_blocked(address)
        if kind and not any(address in net for net in allowed):
            return (
                f"{host} is {address}, {kind} address; endpoints may not point there unless "
                "an admin registers them or allows the network (ASSAY_ALLOWED_NETWORKS)"
            )
    return None


def check_url(url: str, allowed: Iterable[Network]) -> None:
    """Refuse a URL whose host is (or resolves to) a special address. A name that does not
    resolve now is let through: the worker checks again when it connects."""
    host = urlsplit(url).hostname or ""
    reason = refusal(host, resolve(host), allowed)
    if reason:
        raise InvalidInput(reason)
