"""``MultiplexConsumer``: follow many uploads over one WebSocket (``/ws/uploads/``).

A page uploading 50 photos opened 50 sockets. Here the browser opens one and
sends, as JSON text frames:

- ``{"type": "subscribe", "id": "<uuid>", "token": "<subscribe token>"}``
  (``token`` optional for the owner's signed-in session): the socket joins the
  upload's group, then gets its snapshot (the event of
  :func:`realtime_uploads.state.events.upload_event`), then every change, each
  upload's ``seq`` de-duplicated on its own. Subscribing again to an id
  already followed re-sends its snapshot (a catch-up).
- ``{"type": "unsubscribe", "id": "<uuid>"}``: no more events of that upload;
  answered ``{"type": "unsubscribed", "id": …}``.
- ``{"type": "ping"}``: answered ``{"type": "pong"}``.
- ``{"type": "follow_history"}``: live history. The socket joins its own
  owner's group (the signed-in user's, else the anonymous session's, both
  read from its handshake: :mod:`realtime_uploads.push.owner_groups`) and is
  answered ``{"type": "history_followed"}``; from then on each upload its
  owner presigns, in any tab, arrives as ``{"type": "upload.created", …}``
  (a history item: the event, ``filename``, ``created_at``, ``token``), which
  the page may then ``subscribe`` to. Refused with an ``error`` (no ``id``)
  of code ``forbidden`` (no session) or ``try_again``.

Each subscription is followed exactly as the per-upload route follows its
upload (:class:`realtime_uploads.push.subscriptions.Subscriptions`): a
subscribe token for that id, or the owner's session (read once per socket,
only when a subscription has no valid token). A
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
socket cap (4429, :mod:`realtime_uploads.push.socket_caps`; a multiplexed socket counts once however
many uploads it follows, and each subscription counts against the upload's
cap). Groups are the per-upload route's, so a resync after a Redis
reconnect (:mod:`realtime_uploads.push.resync`, which finds subscribers through
the layer's local groups) reaches these subscriptions too.
"""

from __future__ import annotations

from typing import Any

from realtime_uploads.conf import uploads_settings
from realtime_uploads.consumers.uploads import UploadConsumer
from realtime_uploads.exceptions import SubscriptionRefused
from realtime_uploads.push.owner_groups import History
from realtime_uploads.push.subscriptions import Subscriptions
from realtime_uploads.state.selectors import parse_upload_id


class MultiplexConsumer(UploadConsumer):
    """One socket, many uploads: ``subscribe`` / ``unsubscribe`` / ``ping`` messages (module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: Followed uploads: id (canonical str) → highest seq sent.
        self.seqs: dict[str, int] = {}
        self.history: History | None = None

    async def connect(self):
        """Accept; subscriptions come as messages."""
        await self.accept()
        self.subscriptions = Subscriptions(self.scope, self.channel_layer, self.channel_name,
                                           limit=uploads_settings.MAX_SUBSCRIPTIONS_PER_SOCKET)

    async def receive_json(self, content, **kwargs):
        """Dispatch ``subscribe``, ``unsubscribe`` and ``ping``; say so for anything else."""
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "subscribe":
            await self._subscribe(content.get("id"), content.get("token"))
        elif kind == "unsubscribe":
            await self._unsubscribe(content.get("id"))
        elif kind == "follow_history":
            await self._follow_history()
        else:
            await self._error("unknown_message", 'Send {"type": "subscribe", "id": …, "token": …}, '
                                                 '{"type": "unsubscribe", "id": …}, {"type": "follow_history"} '
                                                 'or {"type": "ping"}.')

    async def _follow_history(self) -> None:
        if self.history is None:
            self.history = History(self.channel_layer, self.channel_name)
        try:
            await self.history.follow(self.scope)
        except SubscriptionRefused as refused:
            await self._error(refused.code, str(refused))
            return
        await self.send_json({"type": "history_followed"})

    async def upload_created(self, message):
        """An upload of this socket's owner was presigned (its owner group's message): tell the page, if the
        socket's session still is that owner's (signed out since: the socket leaves the group and is told)."""
        history = self.history
        if history is None:
            return
        if await history.still_ours(self.scope):
            await self.send_json(message)
        elif history.group is None:
            await self._error("forbidden", "The session this socket followed the history of has ended; "
                                           "sign in again and send follow_history.")

    async def disconnect(self, code):
        """Leave the uploads' groups and the owner's."""
        await super().disconnect(code)
        if self.history is not None:
            await self.history.close()

    async def _subscribe(self, raw_id: Any, token: Any) -> None:
        upload_id = parse_upload_id(raw_id) if isinstance(raw_id, str) else None
        try:
            if upload_id is None:
                raise SubscriptionRefused("malformed_id", "The id must be an upload id (a UUID string).")
            event = await self.subscriptions.follow(upload_id, token if isinstance(token, str) else None)
        except SubscriptionRefused as refused:
            await self._refused(raw_id, refused.code, str(refused))
            return
        uid = str(upload_id)
        self.seqs[uid] = min(self.seqs.get(uid, 0), event["seq"] - 1)  # a repeated subscribe re-sends it
        await self.send_event(event)

    async def _unsubscribe(self, raw_id: Any) -> None:
        upload_id = parse_upload_id(raw_id) if isinstance(raw_id, str) else None
        if upload_id is None:
            await self._refused(raw_id, "malformed_id", "The id must be an upload id.")
            return
        self.seqs.pop(str(upload_id), None)
        await self.subscriptions.unfollow(upload_id)
        await self.send_json({"type": "unsubscribed", "id": raw_id})

    async def _refused(self, raw_id: Any, code: str, message: str) -> None:
        await self.send_json({"type": "error", "id": raw_id if isinstance(raw_id, (str, int)) else None,
                              "error": {"code": code, "message": message}})

    async def send_event(self, event):
        """Send ``event`` if its upload is followed and its seq is newer than the last one sent for it."""
        uid = str(event.get("id"))
        last = self.seqs.get(uid)
        if last is None or event["seq"] <= last:
            return
        self.seqs[uid] = event["seq"]
        await self.send_json(event)
