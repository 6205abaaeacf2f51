"""``MultiplexConsumer``: follow many uploads over one WebSocket (``/ws/uploads/``).

A page uploading 50 photos opened 50 sockets. Here the browser opens one and
sends, as JSON text frames:

- ``{"type": "subscribe", "id": "<uuid>", "token": "<subscribe token>"}``
  (``token`` optional for the owner's signed-in session): the socket joins the
  upload's group, then gets its snapshot (the event of
  :func:`realtime_uploads.events.upload_event`), then every change, each
  upload's ``seq`` de-duplicated on its own. Subscribing again to an id
  already followed re-sends its snapshot (a catch-up).
- ``{"type": "unsubscribe", "id": "<uuid>"}``: no more events of that upload;
  answered ``{"type": "unsubscribed", "id": …}``.
- ``{"type": "ping"}``: answered ``{"type": "pong"}``.

Authorisation per subscription is the per-upload route's
(:mod:`.uploads`): a subscribe token for that id, or the owner's session
(read once per socket, only when a subscription has no valid token). A
subscription that fails is answered with a message naming it, and the socket
stays open: ``{"type": "error", "id": "<as sent>", "error": {"code", "message"}}``
with ``code`` one of ``malformed_id``, ``forbidden``, ``not_found``,
``too_many_subscriptions`` (more than ``MAX_SUBSCRIPTIONS_PER_SOCKET`` on this
socket), ``too_many_subscribers`` (``MAX_SOCKETS_PER_UPLOAD`` sockets of this
process already follow the upload) or ``try_again`` (database queue full,
database or channel layer unreachable; retry with backoff). Messages that are
not understood get an ``error`` without ``id`` as on the per-upload route.

Defences kept from :class:`.uploads.UploadConsumer`: ``MAX_MESSAGE_SIZE``
(4413), binary frames and non-JSON refused with a message, the per-client
socket cap (4429, :mod:`.limits`; a multiplexed socket counts once however
many uploads it follows, and each subscription counts against the upload's
cap). Groups are the per-upload route's, so a resync after a Redis
reconnect (:mod:`realtime_uploads.resync`, which finds subscribers through
the layer's local groups) reaches these subscriptions too.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.db import DatabaseError

from .. import database
from ..conf import uploads_settings
from ..events import group_name
from ..selectors import is_owner, parse_upload_id, session_user
from ..signing import check_subscribe_token
from ..snapshots import snapshot
from . import limits
from .uploads import LAYER_TIMEOUT, UploadConsumer, _session_key

logger = logging.getLogger(__name__)

_UNSET = object()


class SubscriptionRefused(Exception):
    """A subscribe that cannot be honoured: ``code`` and ``message`` go into the error message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class MultiplexConsumer(UploadConsumer):
    """One socket, many uploads: ``subscribe`` / ``unsubscribe`` / ``ping`` messages (module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: Authorised subscriptions: upload id (canonical str) → highest seq sent.
        self.seqs: dict[str, int] = {}
        self.user: Any = _UNSET

    async def connect(self):
        """Accept, counted once against the client's socket cap (4429 past it)."""
        await self.accept()
        client = limits.client_key(self.scope)
        if not limits.counts.admit_one(limits.counts.by_client, client, uploads_settings.MAX_SOCKETS_PER_CLIENT):
            await self.close(code=limits.CLOSE_TOO_MANY)
            return
        self.counted = client

    async def disconnect(self, code):
        """Release the socket's counts and leave every group."""
        counted, self.counted = self.counted, None
        if counted is not None:
            limits.counts.release_one(limits.counts.by_client, counted)
        # All at once: with Redis down each leave waits up to LAYER_TIMEOUT, and a socket may follow 100 uploads.
        await asyncio.gather(*(self._drop(upload_id) for upload_id in list(self.seqs)))

    async def receive_json(self, content, **kwargs):
        """Dispatch ``subscribe``, ``unsubscribe`` and ``ping``; say so for anything else."""
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "subscribe":
            await self._subscribe(content.get("id"), content.get("token"))
        elif kind == "unsubscribe":
            await self._unsubscribe(content.get("id"))
        else:
            await self._error("unknown_message", 'Send {"type": "subscribe", "id": …, "token": …}, '
                                                 '{"type": "unsubscribe", "id": …} or {"type": "ping"}.')

    async def _subscribe(self, raw_id: Any, token: Any) -> None:
        upload_id = parse_upload_id(raw_id) if isinstance(raw_id, str) else None
        try:
            if upload_id is None:
                raise SubscriptionRefused("malformed_id", "The id must be an upload id (a UUID string).")
            await self._follow(str(upload_id), token if isinstance(token, str) else None)
        except SubscriptionRefused as refused:
            await self.send_json({"type": "error", "id": raw_id if isinstance(raw_id, (str, int)) else None,
                                  "error": {"code": refused.code, "message": str(refused)}})

    async def _follow(self, uid: str, token: str | None) -> None:
        """Authorise, join the group, send the snapshot; raises SubscriptionRefused and leaves nothing joined."""
        known = uid in self.seqs
        if not known and len(self.seqs) >= uploads_settings.MAX_SUBSCRIPTIONS_PER_SOCKET:
            raise SubscriptionRefused("too_many_subscriptions", "This socket already follows "
                                      f"{len(self.seqs)} uploads, the most allowed (MAX_SUBSCRIPTIONS_PER_SOCKET); "
                                      "unsubscribe from one first.")
        token_ok = known or check_subscribe_token(token, uid)  # a followed upload was authorised already
        if not known:
            if not limits.counts.admit_one(limits.counts.by_upload, parse_upload_id(uid),
                                           uploads_settings.MAX_SOCKETS_PER_UPLOAD):
                raise SubscriptionRefused("too_many_subscribers", "Too many sockets follow this upload already "
                                          "(MAX_SOCKETS_PER_UPLOAD); try again later.")
            try:
                await asyncio.wait_for(self.channel_layer.group_add(group_name(uid), self.channel_name),
                                       LAYER_TIMEOUT)
            except Exception as exc:  # Redis down or hung: the client retries with backoff
                logger.warning("Could not join %s (%r); refusing the subscription.", group_name(uid), exc)
                await self._release(uid, leave=True)  # group_add registers the channel before it subscribes
                raise SubscriptionRefused("try_again", "The server cannot follow uploads right now; "
                                          "try again later.") from None
        try:
            found = await snapshot(parse_upload_id(uid))
            if found is not None and not token_ok:
                await self._read_user()
        except (database.Overloaded, DatabaseError) as exc:
            if not isinstance(exc, database.Overloaded):
                logger.exception("Could not read upload %s for a subscription.", uid)
            await self._undo(uid, known)
            raise SubscriptionRefused("try_again", "The server is busy; try again later.") from None
        if found is None:
            await self._undo(uid, known)
            raise SubscriptionRefused("not_found", "No upload has this id.")
        if not token_ok and not is_owner(self.user, found.owner_id):
            await self._undo(uid, known)
            raise SubscriptionRefused("forbidden", "Send this upload's subscribe token, or sign in as its owner.")
        self.seqs[uid] = min(self.seqs.get(uid, 0), found.event["seq"] - 1)
        await self.send_event(found.event)

    async def _read_user(self) -> None:
        """The session's user, read once per socket (``scope["user"]`` under channels' AuthMiddlewareStack)."""
        if self.user is not _UNSET:
            return
        user = self.scope.get("user")
        if user is None:
            session_key = _session_key(self.scope)
            user = await database.run(session_user, session_key) if session_key else None
        self.user = user

    async def _undo(self, uid: str, known: bool) -> None:
        if not known:
            await self._release(uid, leave=True)

    async def _release(self, uid: str, *, leave: bool = False) -> None:
        limits.counts.release_one(limits.counts.by_upload, parse_upload_id(uid))
        if leave:
            try:
                await asyncio.wait_for(self.channel_layer.group_discard(group_name(uid), self.channel_name),
                                       LAYER_TIMEOUT)
            except Exception as exc:
                logger.info("Could not leave %s cleanly: %r", group_name(uid), exc)

    async def _drop(self, uid: str) -> None:
        del self.seqs[uid]
        await self._release(uid, leave=True)

    async def _unsubscribe(self, raw_id: Any) -> None:
        upload_id = parse_upload_id(raw_id) if isinstance(raw_id, str) else None
        if upload_id is not None and str(upload_id) in self.seqs:
            await self._drop(str(upload_id))
        if upload_id is None:
            await self.send_json({"type": "error", "id": raw_id if isinstance(raw_id, (str, int)) else None,
                                  "error": {"code": "malformed_id", "message": "The id must be an upload id."}})
        else:
            await self.send_json({"type": "unsubscribed", "id": raw_id})

    async def send_event(self, event):
        """Send ``event`` if its upload is followed and its seq is newer than the last one sent for it."""
        uid = str(event.get("id"))
        last = self.seqs.get(uid)
        if last is None or event["seq"] <= last:
            return
        self.seqs[uid] = event["seq"]
        await self.send_json(event)
