"""The event: one serializer for the snapshot, the push, the status GET and the long-poll.

Shape (``docs/contract.md``, "The event")::

    {"type": "upload.status", "id": "<uuid>", "status": "completed", "seq": 3,
     "original": {"width": 4000, "height": 3000, "format": "JPEG"} | None,
     "placeholder": "<base64 ThumbHash>" | None, "color": "#rrggbb" | None,
     "variants": [{"name", "width", "height", "format", "size", "url", "animated",
                   "formats": [{"format", "type", "size", "url"}, ...]}],
     "error": {"code", "message"} | None, "updated_at": "2026-11-22T10:00:00.123Z"}

A variant's ``format``, ``size`` and ``url`` are its fallback file's, the last
of ``formats`` (contract 0.2; a 0.1 client reads them as before).

The same dict is the channel-layer message: its ``type`` ``upload.status``
routes it to ``UploadConsumer.upload_status``.

Sending it is :mod:`.outbox`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from typing import Any

from realtime_uploads.core.formats import FORMAT_CONTENT_TYPES
from realtime_uploads.models import Upload, Variant
from realtime_uploads.storage import get_backend

EVENT_TYPE = "upload.status"
GROUP_PREFIX = "upload."


def group_name(upload_id: Any) -> str:
    """The channel-layer group of one upload: ``"upload.<uuid>"``.

    Group names must be ASCII letters, digits, ``-``, ``_`` or ``.``, shorter
    than 100 characters (channels ``BaseChannelLayer.valid_group_name``); a
    UUID's canonical form always is.
    """
    return f"{GROUP_PREFIX}{upload_id}"


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
        "placeholder": upload.placeholder or None,
        "color": upload.color or None,
        "variants": [variant_event(v, backend) for v in variants],
        "error": error,
        "updated_at": _timestamp(upload.updated_at),
    }


#: The status of the last event an upload's followers get: it was deleted (contract 0.3; the row and its
#: bytes are gone).
DELETED = "deleted"


def deleted_event(upload: Upload, *, at) -> dict[str, Any]:
    """The last event of ``upload``, deleted at ``at`` (a datetime): the event's shape with ``status``
    ``"deleted"``, ``seq`` one past the upload's, nothing else (no variants, no error)."""
    return {"type": EVENT_TYPE, "id": str(upload.pk), "status": DELETED, "seq": upload.seq + 1, "original": None,
            "placeholder": None, "color": None, "variants": [], "error": None, "updated_at": _timestamp(at)}


def variant_event(variant: Variant, backend) -> dict[str, Any]:
    """One variant of the event: its fallback file's ``format``/``size``/``url`` and every file in ``formats``."""
    files = [
        {"format": f["format"], "type": FORMAT_CONTENT_TYPES.get(f["format"], "application/octet-stream"),
         "size": f["size"], "url": backend.variant_url(f["key"])}
        for f in variant.files()
    ]
    fallback = files[-1]
    return {
        "name": variant.name,
        "width": variant.width,
        "height": variant.height,
        "format": fallback["format"],
        "size": fallback["size"],
        "url": fallback["url"],
        "animated": variant.animated,
        "formats": files,
    }
