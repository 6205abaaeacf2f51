"""Reads of upload state: every query of ``Upload`` outside the services and the snapshots is here.

Selectors only read; the services (:mod:`.services`, :mod:`.expiry`) are the
only writers. Each is a sync function: async callers run it on the executor
of :mod:`realtime_uploads.runtime.executor`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db.models import Exists, OuterRef, QuerySet

from realtime_uploads.models import Status, Upload, Variant

#: What the event and the owner check read of an upload: a snapshot (:mod:`.snapshots`) loads nothing else.
EVENT_FIELDS = ("id", "owner", "status", "seq", "original_width", "original_height", "original_format",
                "placeholder", "color", "error_code", "error_message", "updated_at")


def parse_upload_id(raw: Any) -> uuid.UUID | None:
    """The UUID in ``raw`` (canonical or not), or None if it is not one."""
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None


def upload_exists(upload_id: uuid.UUID) -> bool:
    """Whether an upload has this id."""
    return Upload.objects.filter(pk=upload_id).exists()


def upload_key(upload_id: uuid.UUID) -> str:
    """The original's key of the upload ``upload_id``, or "" when there is no such upload."""
    return Upload.objects.filter(pk=upload_id).values_list("key", flat=True).first() or ""


def upload_is_pending(key: str) -> bool:
    """Whether the upload whose original is ``key`` exists and is still ``pending`` (its object not yet
    received, as far as the database knows)."""
    return Upload.objects.filter(key=key, status=Status.PENDING).exists()


def upload_status_by_key(key: str) -> str | None:
    """The status of the upload whose original is ``key``, or None when there is none (never, or deleted)."""
    return Upload.objects.filter(key=key).values_list("status", flat=True).first()


def uploads_by_id(ids: Iterable[uuid.UUID], *, with_variants: bool = False) -> dict[uuid.UUID, Upload]:
    """``{id: upload}`` of those of ``ids`` that exist (one query; ``with_variants`` prefetches them)."""
    uploads = Upload.objects.filter(pk__in=list(ids))
    if with_variants:
        uploads = uploads.prefetch_related("variants")
    return {upload.pk: upload for upload in uploads}


def uploads_history(*, user: Any, session_hash: str) -> QuerySet[Upload]:
    """The uploads of ``user`` (signed in) or else of the anonymous session ``session_hash``, newest first,
    variants prefetched; an empty queryset for neither."""
    uploads = Upload.objects.prefetch_related("variants").order_by("-created_at")
    if getattr(user, "is_authenticated", False):
        return uploads.filter(owner_id=user.pk)
    if session_hash:
        return uploads.filter(owner__isnull=True, session_hash=session_hash)
    return uploads.none()


def pending_count(*, owner_id: Any) -> int:
    """How many uploads of the user ``owner_id`` are ``pending``."""
    return Upload.objects.filter(owner_id=owner_id, status=Status.PENDING).count()


def pending_among(ids: Iterable[str]) -> list[str]:
    """Those of the upload ``ids`` (text) that are still ``pending``, as text."""
    ids = list(ids)
    if not ids:
        return []
    return [str(pk) for pk in Upload.objects.filter(pk__in=ids, status=Status.PENDING).values_list("pk", flat=True)]


def silent_processing_keys(*, before: datetime, exclude: Collection[str], limit: int) -> list[str]:
    """Original keys of uploads ``processing`` with no change since ``before``, the longest silent first, at
    most ``limit``; ``exclude`` left out in the query, so it cannot use up the limit."""
    return list(Upload.objects.filter(status=Status.PROCESSING, updated_at__lt=before).exclude(key__in=exclude)
                .order_by("updated_at").values_list("key", flat=True)[:limit])


def pending_keys(*, created_before: datetime, exclude: Collection[str], limit: int) -> list[str]:
    """Original keys of uploads still ``pending`` that were presigned before ``created_before``, oldest first
    (nearest their deadline), at most ``limit``; ``exclude`` left out in the query."""
    return list(Upload.objects.filter(status=Status.PENDING, created_at__lt=created_before).exclude(key__in=exclude)
                .order_by("created_at").values_list("key", flat=True)[:limit])


def referencing_fields() -> list[tuple[type, str]]:
    """``(model, column attname)`` of every foreign key or one-to-one field to ``Upload`` outside this app
    (many-to-many link tables included), i.e. whatever can make an upload "referenced"."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        if model in (Upload, Variant):
            continue
        for f in model._meta.concrete_fields:
            if f.is_relation and (f.many_to_one or f.one_to_one) and f.related_model is Upload:
                found.append((model, f.attname))
    return found


def unreferenced(queryset: QuerySet[Upload]) -> QuerySet[Upload]:
    """``queryset`` without the uploads some model points to."""
    for model, attname in referencing_fields():
        queryset = queryset.filter(~Exists(model._base_manager.filter(**{attname: OuterRef("pk")})))
    return queryset
