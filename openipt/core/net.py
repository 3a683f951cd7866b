"""The address a request came from, behind zero or more trusted reverse proxies.

``OPENIPT_TRUSTED_PROXIES`` (addresses or CIDR networks, empty by default) names the proxies
whose ``X-Forwarded-For`` we believe. A proxy appends the address it was connected from to
the header, so the list is read from the right: every hop a trusted proxy reports is
skipped, and the first address that is not a trusted proxy is the client. Anything left of
it was written by that client and may be forged, so it is never looked at. Without trusted
proxies, or when the connection itself does not come from one, the header is ignored and
the answer is ``REMOTE_ADDR``.

The audit log's source address and every rate limit (the consultation form, allauth's
sign-in limits) use this one answer, so a forged header can neither hide who did
something nor dodge a limit (docs/quality.md S4, S9).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_HOPS = 20  # a real chain has a handful; more is noise or an attack


def trusted_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse addresses and CIDR networks; raise ``ImproperlyConfigured`` on a bad one."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"OPENIPT_TRUSTED_PROXIES: {entry!r} is not an address or a network"
            ) from exc
    return tuple(networks)


@lru_cache(maxsize=8)
def _cached_networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return trusted_networks(entries)


def parse_hop(value: str) -> IPAddress | None:
    """One ``X-Forwarded-For`` entry as an address (a port is dropped), or ``None``."""
    text = value.strip()
    if text.startswith("["):  # "[2001:db8::1]:443"
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IPAddress | None, networks: Sequence[IPNetwork]) -> bool:
    return address is not None and any(address in network for network in networks)


def resolve_client_address(
    remote_addr: str, forwarded_for: str, networks: Sequence[IPNetwork]
) -> str:
    """The client's address given the connecting address and the forwarded chain."""
    if not networks or not forwarded_for or not _is_trusted(parse_hop(remote_addr), networks):
        return remote_addr
    address = remote_addr
    for hop in reversed(forwarded_for.split(",")[-MAX_HOPS:]):
        parsed = parse_hop(hop)
        if parsed is None:
            break  # malformed: nothing further left can be believed either
        address = str(parsed)
        if not _is_trusted(parsed, networks):
            break
    return address


def client_ip(request: HttpRequest) -> str:
    """The client's address for ``request`` under ``OPENIPT_TRUSTED_PROXIES``."""
    networks = _cached_networks(tuple(settings.OPENIPT_TRUSTED_PROXIES))
    return resolve_client_address(
        str(request.META.get("REMOTE_ADDR", "")),
        str(request.META.get("HTTP_X_FORWARDED_FOR", "")),
        networks,
    )
