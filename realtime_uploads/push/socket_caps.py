"""How many WebSockets one process holds per client and per upload, and the caps on them.

One client opened 2000 sockets on one upload with one token; a single event
then took 3.7 s to reach them all. These caps stop that:

- ``MAX_SOCKETS_PER_CLIENT`` sockets per client address, held by
  :class:`SocketCapMiddleware` around both socket routes: a socket past it is
  accepted and closed at once with :data:`CLOSE_TOO_MANY` (4429: the
  application's range, RFC 6455 section 7.4.2, after HTTP's 429), and its
  consumer never runs;
- ``MAX_SOCKETS_PER_UPLOAD`` subscriptions per upload, taken by
  :mod:`.subscriptions` when a socket follows an upload (once per upload a
  multiplexed socket follows), only once it is authorised;
- ``MAX_UNAUTHORISED_SOCKETS_PER_CLIENT`` sockets per client address on
  ``/ws/uploads/<id>/`` that came without a valid subscribe token
  (:attr:`SocketCounts.unauthorised`, taken by the consumer): counted while
  their session is checked and, once refused, until they are gone. Anyone who
  knows an upload id (it is in every variant URL) could otherwise hold
  handshakes that never answer the close frame, each for autobahn's close
  timeout.

The counts are per process: behind a load balancer spreading one client over
N processes the caps are N times these. The client is its address
(``X-Forwarded-For`` believed only from ``TRUSTED_PROXIES``), an IPv6 client
as its /64, as presign counts it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from typing import Any

from realtime_uploads.conf import uploads_settings
from realtime_uploads.core.addresses import rate_key, scope_client, trusted_networks
from realtime_uploads.state.selectors import parse_upload_id

CLOSE_TOO_MANY = 4429


class SocketCounts:
    """This process's open sockets by client (:attr:`by_client`), subscriptions by upload (:attr:`by_upload`)
    and sockets not (yet) authorised by client (:attr:`unauthorised`)."""

    def __init__(self) -> None:
        self.by_client: Counter[Hashable] = Counter()
        self.by_upload: Counter[Hashable] = Counter()
        self.unauthorised: Counter[Hashable] = Counter()

    @staticmethod
    def take(counter: Counter, key: Hashable, cap: int) -> bool:
        """Count one more under ``key`` of ``counter`` and return True, or return False when ``cap`` is reached."""
        if counter[key] >= cap:
            return False
        counter[key] += 1
        return True

    @staticmethod
    def give_back(counter: Counter, key: Hashable) -> None:
        """Forget one count :meth:`take` made."""
        counter[key] -= 1
        if counter[key] <= 0:
            del counter[key]


#: The counts of this process's sockets.
counts = SocketCounts()


def client_key(scope: dict) -> str:
    """The client a socket counts against: the address of :func:`~realtime_uploads.core.addresses.scope_client`
    behind ``TRUSTED_PROXIES``, an IPv6 client as its /64."""
    return rate_key(scope_client(scope, trusted_networks(tuple(uploads_settings.TRUSTED_PROXIES))))


class SocketCapMiddleware:
    """ASGI middleware holding ``MAX_SOCKETS_PER_CLIENT``: a socket is counted against its client for as long as
    the application behind runs; one past the cap is closed with 4429 before the application sees it."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        route = scope.get("url_route", {}).get("kwargs", {})
        if scope["type"] != "websocket" or ("upload_id" in route and parse_upload_id(route["upload_id"]) is None):
            await self.app(scope, receive, send)  # a malformed id is 4400 at once, whatever the count
            return
        client = client_key(scope)
        if not counts.take(counts.by_client, client, uploads_settings.MAX_SOCKETS_PER_CLIENT):
            await _refuse(receive, send, CLOSE_TOO_MANY)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            counts.give_back(counts.by_client, client)


async def _refuse(receive: Any, send: Any, code: int) -> None:
    """Accept the handshake and close with ``code`` (a browser sees a close code only after an accept), then
    wait for the disconnect, as a consumer would."""
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": code})
    while (await receive())["type"] != "websocket.disconnect":
        pass
