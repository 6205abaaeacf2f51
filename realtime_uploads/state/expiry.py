"""Deadlines: every upload that outlived its time is ended, and its subscribers told.

Run by ``manage.py expire_uploads`` (cron) and by the local backend's sweep
(:mod:`realtime_uploads.local.sweep`), so deadlines hold without a cron job there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from realtime_uploads.conf import uploads_settings
from realtime_uploads.exceptions import IllegalTransition, UploadNotFound
from realtime_uploads.models import Status, Upload
from realtime_uploads.state.services import NO_FILE, upload_mark_expired, upload_mark_timed_out
from realtime_uploads.storage import get_backend

MESSAGES = {
    "no_file": NO_FILE,
    "unknown": "The upload expired before it was processed.",
    "not_picked_up": "The file arrived but was not processed in time. Please upload it again.",
    "too_slow": "Processing took longer than {seconds} seconds and was stopped. Please upload the file again.",
}


def uploads_expire(*, now=None, object_exists: Callable[[str], bool | None] | None = None) -> int:
    """End every upload whose deadline passed; return how many changed (each pushed to its subscribers).

    - ``pending`` past ``expires_at + EXPIRE_GRACE``: ``expired`` ("No file
      arrived") when the backend says the object is absent; ``failed`` with
      code ``timeout`` when it is there (it arrived but was never processed);
      ``expired`` with a neutral message when the backend cannot tell.
    - ``processing`` whose last change is older than ``PROCESSING_TIMEOUT``
      seconds: ``failed`` with code ``timeout``.

    ``object_exists(key)`` defaults to the configured backend's. Each upload
    is its own transaction and re-checked on the locked row, so one that a
    callback moves on meanwhile is left alone.
    """
    now = now or timezone.now()
    exists = object_exists or get_backend().object_exists
    count = 0
    cutoff = now - timedelta(seconds=uploads_settings.EXPIRE_GRACE)
    for upload_id, key in list(
        Upload.objects.filter(status=Status.PENDING, expires_at__lt=cutoff).values_list("pk", "key")
    ):
        still_pending = _still(Status.PENDING, "expires_at", cutoff)
        present = exists(key)
        try:
            if present:
                result = upload_mark_timed_out(upload_id=upload_id, message=MESSAGES["not_picked_up"],
                                               guard=still_pending)
            else:
                message = MESSAGES["no_file"] if present is False else MESSAGES["unknown"]
                result = upload_mark_expired(upload_id=upload_id, message=message, guard=still_pending)
        except (IllegalTransition, UploadNotFound):
            continue
        count += result.changed
    timeout = uploads_settings.PROCESSING_TIMEOUT
    stale = now - timedelta(seconds=timeout)
    message = MESSAGES["too_slow"].format(seconds=timeout)
    for upload_id in list(
        Upload.objects.filter(status=Status.PROCESSING, updated_at__lt=stale).values_list("pk", flat=True)
    ):
        try:
            result = upload_mark_timed_out(upload_id=upload_id, message=message,
                                           guard=_still(Status.PROCESSING, "updated_at", stale))
        except (IllegalTransition, UploadNotFound):
            continue
        count += result.changed
    return count


def _still(status: str, field: str, cutoff) -> Callable[[Upload], bool]:
    return lambda upload: upload.status == status and getattr(upload, field) < cutoff
