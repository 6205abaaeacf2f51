"""``UploadConsumer``: follow one upload over a WebSocket (``/ws/uploads/<id>/``).

Transport only: authorisation and reads go through selectors, the event
through :func:`realtime_uploads.events.upload_event`. On accept the consumer
joins the upload's group *first* and then reads the snapshot, so a change
committed in between arrives as a push and none is lost; pushes whose
``seq`` is not newer than what was sent are dropped (and so are the
snapshots :mod:`realtime_uploads.resync` re-sends after a Redis reconnect,
unless they are news).

The accept path is what a reconnect storm after a restart costs, so it is
short: the subscribe token is checked without the database; the snapshot
read (the upload, and its variants only once it is completed) is batched
with those of every other socket accepted in the same event-loop iteration
(:mod:`realtime_uploads.snapshots`); the session is read
only when no valid token came (so the consumer needs no channels
``AuthMiddlewareStack``, though it uses ``scope["user"]`` under one); a
socket that can be neither owner nor token holder is refused before it
joins anything. When the
database queue is full or Redis cannot be reached, the socket is closed with
4503 (try again later: the 4xxx range is the application's, RFC 6455
section 7.4.2, and daphne's autobahn refuses to send the registered 1013) and
the client reconnects with backoff: never 1011.
"""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError
from django.http.cookie import parse_cookie

from .. import database
from ..conf import uploads_settings
from ..events import group_name
from ..selectors import is_owner, parse_upload_id, session_user
from ..signing import check_subscribe_token
from ..snapshots import snapshot
from . import limits

logger = logging.getLogger(__name__)

CLOSE_MALFORMED_ID = 4400
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TRY_AGAIN = 4503
CLOSE_TOO_MANY = limits.CLOSE_TOO_MANY
# RFC 6455's 1009 ("too big to process", section 7.4.1) is what autobahn itself sends past daphne's
# --websocket-max-message-size (1 MiB); an application may send only 1000 and 3000-4999 through it.
CLOSE_TOO_BIG = 4413
#: Longest wait for the channel layer while accepting, seconds.
LAYER_TIMEOUT = 5.0


def _session_key(scope: dict) -> str | None:
    """The session cookie's value; every ``Cookie`` header counts (HTTP/2 may split them, RFC 9113 8.2.3)."""
    cookies = [value.decode("latin-1") for name, value in scope.get("headers", ()) if name == b"cookie"]
    return parse_cookie("; ".join(cookies)).get(settings.SESSION_COOKIE_NAME) if cookies else None


class UploadConsumer(AsyncJsonWebsocketConsumer):
    """Sends the snapshot at once, then every ``upload.status`` event of one upload.

    Close codes: 4400 malformed id, 4403 not authorised (owner's session or
    ``?token=`` subscribe token), 4404 unknown id, 4429 too many sockets (for
    this upload or from this client, :mod:`.limits`), 4503 try again later
    (the server is overloaded or its channel layer unreachable), 4413 a
    message over ``MAX_MESSAGE_SIZE`` characters. Answers ``{"type": "ping"}``
    with ``{"type": "pong"}``; any other message, a binary one, or text that
    is not JSON (however deeply nested) gets an ``error`` message and the
    socket stays open.
    """

    group: str | None = None
    seq = 0
    counted: tuple | None = None

    async def dispatch(self, message):
        """Route ``message`` to its handler.

        channels' own ``dispatch`` first runs ``close_old_connections`` through
        asgiref's single process-wide thread for every message (channels 4.2+),
        which serialises all sockets of a process on that thread. This consumer
        never uses the ORM on the event loop: its reads run on
        :mod:`realtime_uploads.database`, which closes its own connections.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        """Authorise, join the group, then send the snapshot."""
        await self.accept()
        upload_id = parse_upload_id(self.scope["url_route"]["kwargs"].get("upload_id"))
        if upload_id is None:
            await self.close(code=CLOSE_MALFORMED_ID)
            return
        key = (upload_id, limits.client_key(self.scope))
        if not limits.counts.admit(*key, per_upload=uploads_settings.MAX_SOCKETS_PER_UPLOAD,
                                   per_client=uploads_settings.MAX_SOCKETS_PER_CLIENT):
            await self.close(code=CLOSE_TOO_MANY)
            return
        self.counted = key
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        token_ok = check_subscribe_token((query.get("token") or [None])[0], str(upload_id))
        user = self.scope.get("user")  # set by channels' AuthMiddlewareStack, if the project uses it
        session_key = None if token_ok or user is not None else _session_key(self.scope)
        may_follow = token_ok or getattr(user, "is_authenticated", False) or bool(session_key)
        if may_follow and not await self._join(group_name(upload_id)):
            return
        try:
            found = await snapshot(upload_id)
            if found is not None and not token_ok and user is None and session_key:
                user = await database.run(session_user, session_key)
        except database.Overloaded:
            await self._refuse(CLOSE_TRY_AGAIN)
            return
        except DatabaseError:  # database restarting, connection lost: the client retries with backoff
            logger.exception("Could not read upload %s for a socket; closing with 4503.", upload_id)
            await self._refuse(CLOSE_TRY_AGAIN)
            return
        if found is None:
            await self._refuse(CLOSE_NOT_FOUND)
        elif not token_ok and not is_owner(user, found.owner_id):
            await self._refuse(CLOSE_FORBIDDEN)
        else:
            await self.send_event(found.event)

    async def _join(self, group: str) -> bool:
        try:
            await asyncio.wait_for(self.channel_layer.group_add(group, self.channel_name), LAYER_TIMEOUT)
        except Exception as exc:  # Redis down or hung: the client retries with backoff
            logger.warning("Could not join %s (%r); closing with 4503.", group, exc)
            self.group = group  # group_add registers the channel before it subscribes: undo that too
            await self._refuse(CLOSE_TRY_AGAIN)
            return False
        self.group = group
        return True

    async def _refuse(self, code: int) -> None:
        await self._leave()
        await self.close(code=code)

    async def _leave(self) -> None:
        group, self.group = self.group, None
        if group is not None:
            try:
                await asyncio.wait_for(self.channel_layer.group_discard(group, self.channel_name), LAYER_TIMEOUT)
            except Exception as exc:
                logger.info("Could not leave %s cleanly: %r", group, exc)

    async def disconnect(self, code):
        """Leave the group."""
        counted, self.counted = self.counted, None
        if counted is not None:
            limits.counts.release(*counted)
        await self._leave()

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
