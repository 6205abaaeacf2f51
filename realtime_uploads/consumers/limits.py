"""How many WebSockets one process holds per upload and per client, and the caps on them.

One client opened 2000 sockets on one upload with one token; a single event
then took 3.7 s to reach them all. :class:`SocketCounts` admits a socket only
while both counts are under ``MAX_SOCKETS_PER_UPLOAD`` and
``MAX_SOCKETS_PER_CLIENT``; a refused socket is closed with
:data:`CLOSE_TOO_MANY` (4429: the application's range, RFC 6455 section
7.4.2, after HTTP's 429). The counts are per process: behind a load balancer
spreading one client over N processes the caps are N times these.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable

from ..clients import rate_key, scope_client_ip

CLOSE_TOO_MANY = 4429


class SocketCounts:
    """Open sockets of one process by upload id and by client key (an address)."""

    def __init__(self) -> None:
        self.by_upload: Counter[Hashable] = Counter()
        self.by_client: Counter[Hashable] = Counter()

    def admit(self, upload: Hashable, client: Hashable, *, per_upload: int, per_client: int) -> bool:
        """Count one more socket and return True, or change nothing and return False when a cap is reached."""
        if self.by_upload[upload] >= per_upload or self.by_client[client] >= per_client:
            return False
        self.by_upload[upload] += 1
        self.by_client[client] += 1
        return True

    def admit_one(self, counter: Counter, key: Hashable, cap: int) -> bool:
        """Count one more under ``key`` of ``counter`` (:attr:`by_upload` or :attr:`by_client`) and return True,
        or return False when ``cap`` is reached (a multiplexed socket counts its subscriptions one by one)."""
        if counter[key] >= cap:
            return False
        counter[key] += 1
        return True

    def release_one(self, counter: Counter, key: Hashable) -> None:
        """Forget one count :meth:`admit_one` made."""
        counter[key] -= 1
        if counter[key] <= 0:
            del counter[key]

    def release(self, upload: Hashable, client: Hashable) -> None:
        """Forget one socket :meth:`admit` counted."""
        for counter, key in ((self.by_upload, upload), (self.by_client, client)):
            counter[key] -= 1
            if counter[key] <= 0:
                del counter[key]


def client_key(scope: dict) -> str:
    """The client a socket counts against: its address (``X-Forwarded-For`` believed only from
    ``TRUSTED_PROXIES``, :mod:`realtime_uploads.clients`), an IPv6 client as its /64 as presign counts it."""
    return rate_key(scope_client_ip(scope))


#: The counts of this process's sockets.
counts = SocketCounts()
