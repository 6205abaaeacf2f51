"""The event: one serializer for the snapshot, the push, the status GET and the long-poll.

Shape (``../shared/API.md``, "The event")::

    {"type": "upload.status", "id": "<uuid>", "status": "completed", "seq": 3,
     "original": {"width": 4000, "height": 3000, "format": "JPEG"} | None,
     "variants": [{"name", "width", "height", "format", "size", "url"}],
     "error": {"code", "message"} | None, "updated_at": "2026-11-22T10:00:00.123Z"}

The same dict is the channel-layer message: its ``type`` ``upload.status``
routes it to ``UploadConsumer.upload_status``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .backends import get_backend
from .models import Upload, Variant

logger = logging.getLogger(__name__)

EVENT_TYPE = "upload.status"


def group_name(upload_id: Any) -> str:
    """The channel-layer group of one upload: ``"upload.<uuid>"``.

    Group names must be ASCII letters, digits, ``-``, ``_`` or ``.``, shorter
    than 100 characters (channels ``BaseChannelLayer.valid_group_name``); a
    UUID's canonical form always is.
    """
    return f"upload.{upload_id}"


def _timestamp(value) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def upload_event(upload: Upload, variants: Iterable[Variant] | None = None) -> dict[str, Any]:
    """Serialize ``upload`` (and its variants) into the event dict.

    ``variants`` defaults to ``upload.variants.all()`` (prefetch it to avoid a
    query). Variant ``url``s come from the configured backend.
    """
    if variants is None:
        variants = upload.variants.all()
    backend = get_backend()
    original = None
    if upload.original_width is not None:
        original = {
            "width": upload.original_width,
            "height": upload.original_height,
            "format": upload.original_format,
        }
    error = None
    if upload.error_code:
        error = {"code": upload.error_code, "message": upload.error_message}
    return {
        "type": EVENT_TYPE,
        "id": str(upload.id),
        "status": upload.status,
        "seq": upload.seq,
        "original": original,
        "variants": [
            {
                "name": v.name,
                "width": v.width,
                "height": v.height,
                "format": v.format,
                "size": v.size,
                "url": backend.variant_url(v.key),
            }
            for v in variants
        ],
        "error": error,
        "updated_at": _timestamp(upload.updated_at),
    }


def publish(event: dict[str, Any]) -> None:
    """Send ``event`` to the upload's group. Call it from sync code after commit.

    A channel layer outage must not undo a committed state change, so errors
    are logged, not raised: subscribers catch up from the snapshot on their
    next connect, and long-polls from their next answer.
    """
    layer = get_channel_layer()
    if layer is None:
        logger.warning("No CHANNEL_LAYERS configured; upload %s event not pushed.", event["id"])
        return
    try:
        async_to_sync(layer.group_send)(group_name(event["id"]), event)
    except Exception:
        logger.exception("Could not publish upload %s seq %s.", event["id"], event["seq"])
