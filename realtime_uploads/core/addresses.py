"""Who is asking: the client's IP address, believing ``X-Forwarded-For`` only from trusted proxies.

Any client can send ``X-Forwarded-For``; only the hops appended by our own
proxies are true. So the peer address (``REMOTE_ADDR``, the ASGI scope's
``client``) is the client unless it is in ``TRUSTED_PROXIES`` (CIDR
strings). When it is, the header is walked from right to left, skipping
trusted hops; the first untrusted address is the client (the algorithm of
MDN's "X-Forwarded-For: Selecting an IP address", and of nginx's
``real_ip_recursive on``). The addresses a client wrote itself stand to the
left of the one our first proxy appended, so they are never reached.

The presign throttles (:mod:`realtime_uploads.presign.identity`) and the
socket caps (:mod:`realtime_uploads.push.socket_caps`) count clients by
:func:`rate_key` of this address. No Django import.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: The identity of a request whose peer address is missing or unparsable (a unix socket, a test).
UNKNOWN = "unknown"


def parse_networks(values: Any, *, key: str = "TRUSTED_PROXIES") -> tuple[Network, ...]:
    """``["10.0.0.0/8", "::1", …]`` → networks (a bare address is its /32 or /128).

    Raises ValueError naming ``key`` and the bad entry (a string instead of a list, or not a CIDR).
    """
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValueError(f"{key} must be a list of CIDR strings such as ['10.0.0.0/8'], even if there is only one; "
                         f"got {values!r}.")
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"{key} entry {value!r} is not an IP address or CIDR network: {exc}") from None
    return tuple(networks)


def parse_address(raw: str | None) -> Address | None:
    """An IP address from a peer or ``X-Forwarded-For`` hop (``"1.2.3.4"``, ``"[::1]:80"``, ``"1.2.3.4:80"``).

    IPv4-mapped IPv6 addresses become IPv4. None if ``raw`` is not an address.
    """
    text = (raw or "").strip()
    if len(text) > 64:
        return None
    if text.startswith("["):  # "[v6]" or "[v6]:port"
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # "v4:port"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


def resolve_client(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The client's address (canonical text) from the peer address and the ``X-Forwarded-For`` value.

    ``forwarded_for`` is every ``X-Forwarded-For`` header joined with commas
    (as Django's ``META`` and RFC 9110 section 5.3 combine repeated fields).
    Returns :data:`UNKNOWN` when the peer is not an address. When every hop is
    trusted the leftmost one is the client; a hop that is not an address ends
    the walk at the last trusted one (a proxy of ours wrote it: trust no further).
    """
    address = parse_address(peer)
    if address is None:
        return UNKNOWN
    if not trusted or not _trusted(address, trusted) or not forwarded_for:
        return str(address)
    for hop in reversed(forwarded_for.split(",")[-64:]):
        hop_address = parse_address(hop)
        if hop_address is None:
            break
        address = hop_address
        if not _trusted(address, trusted):
            break
    return str(address)


@lru_cache(maxsize=8)
def trusted_networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    """:func:`parse_networks` of a ``TRUSTED_PROXIES`` value, remembered (it is read on every request)."""
    return parse_networks(values)


def scope_client(scope: Mapping[str, Any], trusted: Sequence[Network]) -> str:
    """:func:`resolve_client` for an ASGI ``scope`` (HTTP or WebSocket): its ``client`` and raw ``headers``."""
    client = scope.get("client") or (None,)
    hops = [value.decode("latin-1") for name, value in scope.get("headers", ()) if name.lower() == b"x-forwarded-for"]
    return resolve_client(client[0], ",".join(hops) or None, trusted)


def rate_key(address: str) -> str:
    """What to count a client's requests under: its IPv4 address, or its IPv6 /64.

    One IPv6 subscriber usually holds a whole /64, so counting single
    addresses would let it rotate through 2**64 identities.
    """
    parsed = parse_address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return address
