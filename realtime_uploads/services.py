"""The only writers of upload state.

Every change runs in one transaction holding a row lock
(``SELECT … FOR UPDATE``), bumps ``seq`` by one and publishes the event with
``transaction.on_commit``, so subscribers only ever hear of committed state.
A repeat of the status already reached is an idempotent no-op (nothing
written, nothing published); any other transition not in
:data:`~realtime_uploads.models.TRANSITIONS` raises :class:`IllegalTransition`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from . import signals
from .conf import uploads_settings
from .events import publish, upload_event
from .models import TRANSITIONS, Status, Upload, Variant
from .processing.keys import original_key


class UploadNotFound(Exception):
    """No upload has that id."""


class IllegalTransition(Exception):
    """The requested status cannot follow the upload's current one."""

    def __init__(self, current: str, requested: str, message: str = ""):
        super().__init__(message or f"An upload that is {current} cannot become {requested}.")
        self.current = current
        self.requested = requested


class ObjectMismatch(IllegalTransition):
    """The report is about another version of the object than the one being processed."""


@dataclass(frozen=True)
class Transition:
    """What a state-changing service did: ``changed`` is False for an idempotent repeat."""

    upload: Upload
    changed: bool


def upload_create(
    *, filename: str, content_type: str, size: int, owner: Any = None
) -> Upload:
    """Create a ``pending`` upload (``seq`` 1) with its object key and expiry.

    ``size`` is the declared size in bytes; ``owner`` a user or None. The
    caller has validated the input (the API's input serializer does).
    """
    upload_id = uuid.uuid4()
    upload = Upload(
        id=upload_id,
        owner=owner if getattr(owner, "is_authenticated", False) else None,
        filename=filename[:255],
        key=original_key(uploads_settings.KEY_PREFIX, upload_id, filename),
        content_type=content_type,
        size=size,
        expires_at=timezone.now() + timedelta(seconds=uploads_settings.PRESIGN_EXPIRES),
    )
    upload.save(force_insert=True)
    return upload


def _transition(upload_id: uuid.UUID | str, to: str, *, object_etag: str = "", **changes: Any) -> Transition:
    variants: Sequence[dict[str, Any]] = changes.pop("variants", ())
    with transaction.atomic():
        try:
            upload = Upload.objects.select_for_update().get(pk=upload_id)
        except (Upload.DoesNotExist, ValueError, TypeError) as exc:
            raise UploadNotFound(str(upload_id)) from exc
        if object_etag and upload.object_etag and object_etag != upload.object_etag:
            raise ObjectMismatch(
                upload.status, to, "Another version of this upload's object is being processed; "
                f"this report is for ETag {object_etag}, not {upload.object_etag}.",
            )
        if upload.status == to:
            return Transition(upload, changed=False)
        if to not in TRANSITIONS[upload.status]:
            raise IllegalTransition(upload.status, to)
        upload.status = to
        upload.seq += 1
        upload.object_etag = object_etag or upload.object_etag
        for field, value in changes.items():
            setattr(upload, field, value)
        upload.save()
        rows = Variant.objects.bulk_create(Variant(upload=upload, **v) for v in variants)
        event = upload_event(upload, rows)
        transaction.on_commit(lambda: publish(event))
        signal = {Status.COMPLETED: signals.upload_completed, Status.FAILED: signals.upload_failed}.get(to)
        if signal is not None:
            transaction.on_commit(lambda: signal.send(sender=Upload, upload=upload))
    return Transition(upload, changed=True)


def upload_mark_processing(*, upload_id: uuid.UUID | str, object_etag: str = "") -> Transition:
    """``pending`` → ``processing`` of the object version ``object_etag`` (if known).

    The first processing report pins the version; a report about another
    version (the browser re-POSTed meanwhile) raises ObjectMismatch, so only
    one version is ever rendered. Raises UploadNotFound, IllegalTransition.
    """
    return _transition(upload_id, Status.PROCESSING, object_etag=object_etag)


def upload_mark_completed(
    *,
    upload_id: uuid.UUID | str,
    original: dict[str, Any] | None,
    variants: Sequence[dict[str, Any]],
    object_etag: str = "",
) -> Transition:
    """→ ``completed`` with the original's ``{width, height, format}`` and the variants.

    Each variant is ``{name, key, width, height, format, size}`` (pixels,
    bytes). Raises UploadNotFound, IllegalTransition.
    """
    original = original or {}
    return _transition(
        upload_id,
        Status.COMPLETED,
        original_width=original.get("width"),
        original_height=original.get("height"),
        original_format=original.get("format", ""),
        variants=variants,
        object_etag=object_etag,
    )


def upload_mark_failed(
    *, upload_id: uuid.UUID | str, error_code: str, error_message: str = "", object_etag: str = ""
) -> Transition:
    """→ ``failed`` with a stable ``error_code``. Raises UploadNotFound, IllegalTransition."""
    return _transition(
        upload_id, Status.FAILED, object_etag=object_etag, error_code=error_code[:64],
        error_message=error_message[:500],
    )


def upload_mark_expired(*, upload_id: uuid.UUID | str) -> Transition:
    """``pending`` → ``expired``: no object arrived in time. Raises UploadNotFound, IllegalTransition."""
    return _transition(
        upload_id,
        Status.EXPIRED,
        error_code="expired",
        error_message="No file arrived before the upload expired.",
    )


def uploads_expire(*, now=None) -> int:
    """Mark every ``pending`` upload past ``expires_at + EXPIRE_GRACE`` expired.

    Returns how many changed. Each is its own transaction, so one that starts
    processing meanwhile is skipped, not overwritten.
    """
    cutoff = (now or timezone.now()) - timedelta(seconds=uploads_settings.EXPIRE_GRACE)
    ids = Upload.objects.filter(status=Status.PENDING, expires_at__lt=cutoff).values_list("pk", flat=True)
    count = 0
    for upload_id in list(ids):
        try:
            count += upload_mark_expired(upload_id=upload_id).changed
        except (IllegalTransition, UploadNotFound):
            continue
    return count
