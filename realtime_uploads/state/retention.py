"""Retention: nothing is kept for ever. ``manage.py cleanup_uploads`` and the local backend's sweep run it.

Two settings say what goes, both in seconds since the upload's last change
(``updated_at``, which is when it ended):

- ``RETAIN_UNFINISHED`` (default one day; None keeps them): uploads that
  ended without a result, ``failed``, ``expired`` or ``cancelled``;
- ``RETAIN_UNREFERENCED`` (default None: opt-in): ``completed`` uploads that
  nothing points to.

An upload some model points to (an ``UploadReferenceField``, an
``UploadReferencesField``'s link table, or any other foreign key to
``Upload`` outside this app: found with ``apps.get_models()``) is never
removed here. Removing is deleting the row (``Upload.delete()``), so the
stored files go after commit and followers get the last ``deleted`` event
(:mod:`.purge`).

Bounded and safe on several hosts at once: each run looks at most ``limit``
rows, oldest first, and claims each in its own transaction before deleting
it: ``SELECT … FOR UPDATE SKIP LOCKED`` where the database has it
(PostgreSQL: another host's row is skipped, not waited for), then a
conditional ``UPDATE … SET seq = seq + 1 WHERE seq = <as read>`` that only
one claimant can win (on SQLite, whose writers queue for the one lock, the
loser finds the row changed or gone). A row is counted, and its bytes,
only by the run whose claim won.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, connections, router, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone

from realtime_uploads.conf import uploads_settings
from realtime_uploads.models import Status, Upload
from realtime_uploads.state.selectors import referencing_fields, unreferenced  # noqa: F401 - also this module's API
from realtime_uploads.storage import get_backend

#: Statuses ``RETAIN_UNFINISHED`` applies to.
UNFINISHED = (Status.FAILED, Status.EXPIRED, Status.CANCELLED)
#: Most rows one run removes unless told otherwise.
LIMIT = 500


@dataclass
class Cleanup:
    """What a run removed (or, dry, would remove): ``removed`` uploads, ``bytes`` of their stored files
    (declared size of originals known to be stored, plus every variant file), ``ids`` of them."""

    removed: int = 0
    bytes: int = 0
    ids: list[str] = field(default_factory=list)


def due(*, now: datetime | None = None) -> QuerySet[Upload]:
    """Every upload the retention settings say should go now, oldest change first (empty if both are None)."""
    now = now or timezone.now()
    settings = uploads_settings
    condition = Q(pk__in=[])
    if settings.RETAIN_UNFINISHED is not None:
        before = now - timedelta(seconds=settings.RETAIN_UNFINISHED)
        condition |= Q(status__in=UNFINISHED, updated_at__lt=before)
    if settings.RETAIN_UNREFERENCED is not None:
        before = now - timedelta(seconds=settings.RETAIN_UNREFERENCED)
        condition |= Q(status=Status.COMPLETED, updated_at__lt=before)
    return unreferenced(Upload.objects.filter(condition)).order_by("updated_at", "pk")


def stored_bytes(upload: Upload, object_exists: Callable[[str], bool | None]) -> int:
    """Bytes of ``upload``'s stored files: every variant file, and the original's declared size when it is
    stored (certain for ``completed``/``failed``, asked of the backend otherwise; unknown counts as absent)."""
    variants = sum(f["size"] for variant in upload.variants.all() for f in variant.files())
    if upload.status in (Status.COMPLETED, Status.FAILED):
        return upload.size + variants
    return (upload.size if object_exists(upload.key) else 0) + variants


def _claim(upload: Upload, now: datetime) -> Upload | None:
    """Inside a transaction: the upload locked and claimed for this run, or None (another run has it, or it
    is no longer due)."""
    connection = connections[router.db_for_write(Upload)]
    rows = due(now=now).filter(pk=upload.pk)
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True)
    current = rows.first()
    if current is None:
        return None
    if not Upload.objects.filter(pk=current.pk, seq=current.seq).update(seq=F("seq") + 1):
        return None
    current.seq += 1
    return current


def uploads_cleanup(*, limit: int = LIMIT, dry_run: bool = False, now: datetime | None = None,
                    object_exists: Callable[[str], bool | None] | None = None) -> Cleanup:
    """Remove (``dry_run``: only count) at most ``limit`` uploads the retention settings say should go.

    Each is claimed (see the module docstring) and deleted in its own
    transaction; its stored files are deleted after that commits
    (:mod:`.purge`; inside :func:`~.purge.synchronously` before this returns).
    An upload protected by a project's ``on_delete=PROTECT``/``RESTRICT``
    foreign key is left. ``object_exists(key)`` defaults to the backend's.
    """
    now = now or timezone.now()
    exists = object_exists or get_backend().object_exists
    result = Cleanup()
    for candidate in due(now=now).prefetch_related("variants")[:limit]:
        if dry_run:
            result.removed += 1
            result.bytes += stored_bytes(candidate, exists)
            result.ids.append(str(candidate.pk))
            continue
        try:
            with transaction.atomic():
                claimed = _claim(candidate, now)
                if claimed is None:
                    continue
                size = stored_bytes(claimed, exists)
                claimed.delete()
        except (ProtectedError, RestrictedError, IntegrityError):
            continue  # referenced meanwhile (a form saved it: on PostgreSQL the deferred foreign key says so)
        result.removed += 1
        result.bytes += size
        result.ids.append(str(candidate.pk))
    return result
