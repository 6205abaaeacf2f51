"""The only writers of upload state.

Every change runs in one transaction holding a row lock
(``SELECT … FOR UPDATE``), bumps ``seq`` by one and publishes the event with
``transaction.on_commit``, so subscribers only ever hear of committed state.
A repeat of the status already reached is an idempotent no-op (nothing
written, nothing published); any other transition not in
:data:`~realtime_uploads.models.TRANSITIONS` raises :class:`IllegalTransition`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone

from realtime_uploads import signals
from realtime_uploads.conf import uploads_settings
from realtime_uploads.core.errors import TIMEOUT
from realtime_uploads.core.keys import original_key
from realtime_uploads.exceptions import IllegalTransition, ObjectMismatch, UploadInUse, UploadNotFound
from realtime_uploads.models import TERMINAL_STATUSES, TRANSITIONS, Status, Upload
from realtime_uploads.state.events import upload_event
from realtime_uploads.state.outbox import publish
from realtime_uploads.state.selectors import unreferenced
from realtime_uploads.state.statements import apply_if_legal, insert_variants

#: The message of an upload ended because no file arrived before its presigned POST expired.
NO_FILE = "No file arrived before the upload expired."
#: The error code and message of a ``cancelled`` upload.
CANCELLED = "cancelled"
CANCELLED_MESSAGE = "The upload was cancelled."


@dataclass(frozen=True)
class Transition:
    """What a state-changing service did.

    ``changed`` is False for an idempotent repeat (or a guarded change that no
    longer applied); ``event`` is the upload's event after the call, built in
    the same transaction (the callback answers with it).
    """

    upload: Upload
    changed: bool
    event: dict[str, Any]


def upload_new(
    *, filename: str, content_type: str, size: int, owner: Any = None, session_hash: str = ""
) -> Upload:
    """A ``pending`` upload (``seq`` 1) with its object key and expiry, not saved yet (:func:`uploads_save`).

    ``size`` is the declared size in bytes; ``owner`` a user or None;
    ``session_hash`` an anonymous session's :func:`~realtime_uploads.presign.identity.session_hash`
    (blank for none). The caller has validated the input (the API's input
    serializer does).
    """
    upload_id = uuid.uuid4()
    return Upload(
        id=upload_id,
        owner=owner if getattr(owner, "is_authenticated", False) else None,
        filename=filename[:255],
        key=original_key(uploads_settings.KEY_PREFIX, upload_id, filename),
        content_type=content_type,
        size=size,
        expires_at=timezone.now() + timedelta(seconds=uploads_settings.PRESIGN_EXPIRES),
        session_hash=session_hash,
    )


def uploads_save(uploads: Sequence[Upload]) -> list[Upload]:
    """Insert uploads made by :func:`upload_new`, in one transaction: all of them or (on any error) none."""
    with transaction.atomic():
        for upload in uploads:
            upload.save(force_insert=True)
    return list(uploads)


def upload_create(**values: Any) -> Upload:
    """Create one ``pending`` upload (the arguments of :func:`upload_new`)."""
    [upload] = uploads_save([upload_new(**values)])
    return upload


def uploads_create(*, files: Sequence[dict[str, Any]], owner: Any = None, session_hash: str = "") -> list[Upload]:
    """Create one ``pending`` upload per ``{filename, content_type, size}`` of ``files``, in order, in one
    transaction: all of them or (on any error) none. The caller has validated every item."""
    return uploads_save([upload_new(**item, owner=owner, session_hash=session_hash) for item in files])


def _transition(
    upload_id: uuid.UUID | str, to: str, *, object_etag: str = "",
    guard: Callable[[Upload], bool] | None = None, **changes: Any,
) -> Transition:
    variants: Sequence[dict[str, Any]] = changes.pop("variants", ())
    if guard is None and isinstance(upload_id, uuid.UUID):
        # The legal next step in one statement (with its variants, in one transaction).
        with transaction.atomic() if variants else contextlib.nullcontext():
            upload = apply_if_legal(upload_id, to, object_etag=object_etag, changes=changes)
            if upload is not None:
                return _changed(upload, to, variants)
    with transaction.atomic():
        try:
            upload = Upload.objects.select_for_update().get(pk=upload_id)
        except (Upload.DoesNotExist, ValueError, TypeError) as exc:
            raise UploadNotFound(str(upload_id)) from exc
        if guard is not None and not guard(upload):  # decided on the locked row: no race with a callback
            return Transition(upload, changed=False, event=upload_event(upload))
        if object_etag and upload.object_etag and object_etag != upload.object_etag:
            raise ObjectMismatch(
                upload.status, to, "Another version of this upload's object is being processed; "
                f"this report is for ETag {object_etag}, not {upload.object_etag}.",
            )
        if upload.status == to:
            return Transition(upload, changed=False, event=upload_event(upload))
        if to not in TRANSITIONS[upload.status]:
            raise IllegalTransition(upload.status, to)
        upload.status = to
        upload.seq += 1
        upload.object_etag = object_etag or upload.object_etag
        for field, value in changes.items():
            setattr(upload, field, value)
        upload.updated_at = timezone.now()
        written = ["status", "seq", "object_etag", "updated_at", *changes]
        # update(), not save(): no pre_save/post_save, exactly as on the one-statement path (statements.py).
        Upload.objects.filter(pk=upload.pk).update(**{name: getattr(upload, name) for name in written})
        return _changed(upload, to, variants)


def _changed(upload: Upload, to: str, variants: Sequence[dict[str, Any]]) -> Transition:
    """Inside the transaction of a change: store the variants, publish and signal after commit."""
    rows = insert_variants(upload, list(variants))
    event = upload_event(upload, rows)
    transaction.on_commit(lambda: publish(event))
    signal = {Status.COMPLETED: signals.upload_completed, Status.FAILED: signals.upload_failed}.get(to)
    if signal is not None:
        # send_robust: a project's receiver that raises is logged (django.dispatch), the others still run, and
        # none can turn a committed change into an error answer; the event above is already on its way.
        transaction.on_commit(lambda: signal.send_robust(sender=Upload, upload=upload), robust=True)
    return Transition(upload, changed=True, event=event)


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
    placeholder: str = "",
    color: str = "",
) -> Transition:
    """→ ``completed`` with the original's ``{width, height, format}``, the variants, and how it looks.

    Each variant is ``{name, key, width, height, format, size, animated?,
    formats?}`` (pixels, bytes; ``formats`` ``[{format, key, size}]`` with the
    fallback, which key/format/size describe, last). ``placeholder`` is a base64
    ThumbHash and ``color`` ``#rrggbb`` ("" for none). Raises UploadNotFound, IllegalTransition.
    """
    original = original or {}
    return _transition(
        upload_id,
        Status.COMPLETED,
        original_width=original.get("width"),
        original_height=original.get("height"),
        original_format=original.get("format", ""),
        placeholder=placeholder,
        color=color,
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


def upload_mark_expired(*, upload_id: uuid.UUID | str, message: str = NO_FILE,
                        guard: Callable[[Upload], bool] | None = None) -> Transition:
    """``pending`` → ``expired`` (code ``expired``): no object arrived in time.

    ``guard`` (evaluated on the locked row) can make it a no-op. Raises
    UploadNotFound, IllegalTransition.
    """
    return _transition(upload_id, Status.EXPIRED, guard=guard, error_code="expired", error_message=message)


def upload_mark_timed_out(*, upload_id: uuid.UUID | str, message: str,
                          guard: Callable[[Upload], bool] | None = None) -> Transition:
    """→ ``failed`` with code ``timeout``: no result came in time. Raises UploadNotFound, IllegalTransition."""
    return _transition(upload_id, Status.FAILED, guard=guard, error_code=TIMEOUT, error_message=message)


def upload_cancel(*, upload_id: uuid.UUID | str) -> Transition:
    """``pending`` | ``processing`` → ``cancelled`` (code ``cancelled``), pushed like every change.

    A ``pending`` upload no longer counts against ``MAX_PENDING_PER_CLIENT``
    once this commits; an object that arrives afterwards is refused (local
    backend) or deleted when its ``processing`` report comes (409
    ``upload_cancelled``). Raises UploadNotFound, IllegalTransition.
    """
    return _transition(upload_id, Status.CANCELLED, error_code=CANCELLED, error_message=CANCELLED_MESSAGE)


@dataclass(frozen=True)
class Removal:
    """What :func:`upload_remove` did: ``deleted`` (row and bytes gone), or cancelled with the ``event`` after it."""

    deleted: bool
    event: dict[str, Any] | None = None


def upload_remove(*, upload_id: uuid.UUID, allowed: Callable[[Upload], bool] = lambda upload: True) -> Removal:
    """What ``DELETE /api/uploads/<id>/`` does, decided on the locked row: an unfinished upload is cancelled
    (:func:`upload_cancel`); a finished one (``completed``, ``failed``, ``expired``, ``cancelled``) is deleted,
    its stored objects after commit and its followers told (:mod:`.purge`).

    ``allowed(upload)`` is the caller's authorisation, checked on the locked
    row. Raises UploadNotFound (no such upload), PermissionError (not allowed),
    UploadInUse (finished, and a model points to it: deleting it would break or
    cascade into the project's own rows).
    """
    with transaction.atomic():
        upload = Upload.objects.select_for_update().filter(pk=upload_id).first()
        if upload is None:
            raise UploadNotFound(str(upload_id))
        if not allowed(upload):
            raise PermissionError(str(upload_id))
        if upload.status in TERMINAL_STATUSES:
            if not unreferenced(Upload.objects.filter(pk=upload_id)).exists():
                raise UploadInUse(str(upload_id))
            try:
                with transaction.atomic():
                    upload.delete()  # post_delete: the last event and the purge, after commit (state/purge.py)
            except (ProtectedError, RestrictedError, IntegrityError) as exc:  # referenced since the check
                raise UploadInUse(str(upload_id)) from exc
            return Removal(deleted=True)
        return Removal(deleted=False, event=upload_cancel(upload_id=upload_id).event)
