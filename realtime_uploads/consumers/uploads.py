"""``UploadConsumer``: follow one upload over a WebSocket (``/ws/uploads/<id>/``).

Transport only: following the upload (authorise, count, join its group, read
its snapshot) is :class:`realtime_uploads.push.subscriptions.Subscriptions`'s,
the per-client socket cap :class:`realtime_uploads.push.socket_caps.SocketCapMiddleware`'s
(around the route, :mod:`.routing`). The consumer sends the snapshot at once,
then every change whose ``seq`` is newer than what it sent (so the snapshots
:mod:`realtime_uploads.push.resync` re-sends after a Redis reconnect reach the
browser only when they are news). When the database queue is full or Redis
cannot be reached, the socket is closed with 4503 (try again later: the 4xxx
range is the application's, RFC 6455 section 7.4.2, and daphne's autobahn
refuses to send the registered 1013) and the client reconnects with backoff:
never 1011.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from realtime_uploads.conf import uploads_settings
from realtime_uploads.exceptions import SubscriptionRefused
from realtime_uploads.push.socket_caps import CLOSE_TOO_MANY, client_key, counts
from realtime_uploads.push.subscriptions import Subscriptions
from realtime_uploads.state.access import check_subscribe_token
from realtime_uploads.state.selectors import parse_upload_id

CLOSE_MALFORMED_ID = 4400
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TRY_AGAIN = 4503
# RFC 6455's 1009 ("too big to process", section 7.4.1) is what autobahn itself sends past daphne's
# --websocket-max-message-size (1 MiB); an application may send only 1000 and 3000-4999 through it.
CLOSE_TOO_BIG = 4413
#: The close code of each reason a subscription is refused for.
CLOSE_CODES = {"malformed_id": CLOSE_MALFORMED_ID, "forbidden": CLOSE_FORBIDDEN, "not_found": CLOSE_NOT_FOUND,
               "too_many_subscribers": CLOSE_TOO_MANY, "try_again": CLOSE_TRY_AGAIN}


class UploadConsumer(AsyncJsonWebsocketConsumer):
    """Sends the snapshot at once, then every ``upload.status`` event of one upload.

    Close codes: 4400 malformed id, 4403 not authorised (owner's session or
    ``?token=`` subscribe token), 4404 unknown id, 4429 too many sockets (for
    this upload, from this client, or without a token past ``MAX_UNAUTHORISED_SOCKETS_PER_CLIENT``:
    :mod:`realtime_uploads.push.socket_caps`), 4503 try again later
    (the server is overloaded or its channel layer unreachable), 4413 a
    message over ``MAX_MESSAGE_SIZE`` characters. Answers ``{"type": "ping"}``
    with ``{"type": "pong"}``; any other message, a binary one, or text that
    is not JSON (however deeply nested) gets an ``error`` message and the
    socket stays open.
    """

    seq = 0
    subscriptions: Subscriptions | None = None
    #: The client this socket counts against as not (yet) authorised, or None.
    unauthorised: str | None = None

    async def __call__(self, scope, receive, send):
        """Run the consumer; however it ends (a disconnect, a cancel, a bug), it no longer counts as unauthorised."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release_unauthorised()

    async def dispatch(self, message):
        """Route ``message`` to its handler.

        channels' own ``dispatch`` first runs ``close_old_connections`` through
        asgiref's single process-wide thread for every message (channels 4.2+),
        which serialises all sockets of a process on that thread. This consumer
        never uses the ORM on the event loop: its reads run on
        :mod:`realtime_uploads.runtime.executor`, which closes its own connections.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        """Accept, follow the upload named in the URL, send its snapshot; or close with the refusal's code."""
        await self.accept()
        upload_id = parse_upload_id(self.scope["url_route"]["kwargs"].get("upload_id"))
        if upload_id is None:
            await self.close(code=CLOSE_MALFORMED_ID)
            return
        self.subscriptions = Subscriptions(self.scope, self.channel_layer, self.channel_name)
        token = (parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get("token") or [None])[0]
        if not check_subscribe_token(token, upload_id):  # counted until authorised, or gone once refused
            client = client_key(self.scope)
            if not counts.take(counts.unauthorised, client, uploads_settings.MAX_UNAUTHORISED_SOCKETS_PER_CLIENT):
                await self.close(code=CLOSE_TOO_MANY)
                return
            self.unauthorised = client
        try:
            event = await self.subscriptions.follow(upload_id, token)
        except SubscriptionRefused as refused:
            await self.close(code=CLOSE_CODES[refused.code])
            return
        self._release_unauthorised()
        await self.send_event(event)

    def _release_unauthorised(self) -> None:
        """Stop counting this socket as unauthorised."""
        client, self.unauthorised = self.unauthorised, None
        if client is not None:
            counts.give_back(counts.unauthorised, client)

    async def disconnect(self, code):
        """Leave the upload's group."""
        self._release_unauthorised()
        if self.subscriptions is not None:
            await self.subscriptions.close()

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """A frame from the browser: only small JSON text is understood; nothing it sends can crash the socket."""
        if text_data is None:
            await self._error("binary_not_supported", 'Binary messages are not supported; send JSON text.')
        elif len(text_data) > uploads_settings.MAX_MESSAGE_SIZE:
            await self._error("message_too_large", f"Messages are limited to {uploads_settings.MAX_MESSAGE_SIZE} "
                                                   "characters.")
            await self.close(code=CLOSE_TOO_BIG)
        else:
            await self.receive_json(await self.decode_json(text_data), **kwargs)

    async def receive_json(self, content, **kwargs):
        """Answer pings; say so for anything else."""
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self._error("unknown_message", 'Send {"type": "ping"} only.')

    async def _error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "error": {"code": code, "message": message}})

    @classmethod
    async def decode_json(cls, text_data):
        """The JSON value of ``text_data``, or None when it is not JSON or nests too deep for the parser."""
        try:
            return json.loads(text_data)
        except (ValueError, RecursionError):
            return None

    async def upload_status(self, event):
        """A change pushed through the group (or re-sent by a resync): forward it if it is newer."""
        await self.send_event(event)

    async def send_event(self, event):
        """Send ``event`` unless its seq is not newer than the last one sent."""
        if event["seq"] <= self.seq:
            return
        self.seq = event["seq"]
        await self.send_json(event)
