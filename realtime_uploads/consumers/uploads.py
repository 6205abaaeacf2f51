"""``UploadConsumer``: follow one upload over a WebSocket (``/ws/uploads/<id>/``).

Transport only: authorisation and reads go through selectors, the event
through :func:`realtime_uploads.events.upload_event`. On accept the consumer
joins the upload's group *first* and then sends the snapshot, so a change
committed in between arrives as a push and none is lost; pushes whose
``seq`` is not newer than what was sent are dropped.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from ..events import group_name, upload_event
from ..selectors import parse_upload_id, upload_get, upload_is_viewable

CLOSE_MALFORMED_ID = 4400
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


@database_sync_to_async
def _refusal(upload_id, user, token) -> int | None:
    """The close code refusing this subscriber, or None if they may follow the upload."""
    upload = upload_get(upload_id)
    if upload is None:
        return CLOSE_NOT_FOUND
    if not upload_is_viewable(upload, user=user, token=token):
        return CLOSE_FORBIDDEN
    return None


@database_sync_to_async
def _snapshot(upload_id):
    upload = upload_get(upload_id)
    return None if upload is None else upload_event(upload)


class UploadConsumer(AsyncJsonWebsocketConsumer):
    """Sends the snapshot at once, then every ``upload.status`` event of one upload.

    Close codes: 4400 malformed id, 4403 not authorised (owner's session or
    ``?token=`` subscribe token), 4404 unknown id. Answers ``{"type": "ping"}``
    with ``{"type": "pong"}``.
    """

    group: str | None = None
    seq = 0

    async def connect(self):
        """Authorise, join the group, then send the snapshot."""
        await self.accept()
        upload_id = parse_upload_id(self.scope["url_route"]["kwargs"].get("upload_id"))
        if upload_id is None:
            await self.close(code=CLOSE_MALFORMED_ID)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        token = (query.get("token") or [None])[0]
        refusal = await _refusal(upload_id, self.scope.get("user"), token)
        if refusal is not None:
            await self.close(code=refusal)
            return
        self.group = group_name(upload_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        event = await _snapshot(upload_id)
        if event is None:  # deleted in between
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.send_event(event)

    async def disconnect(self, code):
        """Leave the group."""
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        """Answer pings; say so for anything else."""
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json(
                {"type": "error", "error": {"code": "unknown_message", "message": 'Send {"type": "ping"} only.'}}
            )

    @classmethod
    async def decode_json(cls, text_data):
        try:
            return json.loads(text_data)
        except ValueError:
            return None

    async def upload_status(self, event):
        """A change pushed through the group: forward it if it is newer."""
        await self.send_event(event)

    async def send_event(self, event):
        """Send ``event`` unless its seq is not newer than the last one sent."""
        if event["seq"] <= self.seq:
            return
        self.seq = event["seq"]
        await self.send_json(event)
