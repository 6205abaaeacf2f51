"""Upload and Variant: the source of truth for every event.

Only :mod:`realtime_uploads.state.services` writes these rows; the channel layer
merely carries news of them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Status(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL_STATUSES = frozenset({Status.COMPLETED, Status.FAILED, Status.EXPIRED, Status.CANCELLED})

#: Which status may follow which. A repeat of the current status is handled
#: separately (an idempotent no-op), so it is not listed here.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.PENDING: frozenset({Status.PROCESSING, Status.COMPLETED, Status.FAILED, Status.EXPIRED,
                               Status.CANCELLED}),
    Status.PROCESSING: frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED}),
    Status.COMPLETED: frozenset(),
    Status.FAILED: frozenset(),
    Status.EXPIRED: frozenset(),
    Status.CANCELLED: frozenset(),
}


class Upload(models.Model):
    """One presigned upload and what became of it.

    ``seq`` starts at 1 on creation and grows by one with every state change;
    clients keep the highest they have seen. ``size`` is the size the client
    declared at presign (bytes); the presigned policy's ``content-length-range``
    is exactly ``[size, size]``, so the stored original has this size.

    Deleting an upload (``upload.delete()``, a queryset's ``delete()``, the
    admin) deletes its original and its variants' files from storage once the
    transaction commits, and tells its followers (status ``deleted``): see
    :mod:`realtime_uploads.state.purge`.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="realtime_uploads",
    )
    filename = models.CharField(
        max_length=255, help_text="The client's file name, for display only; the key holds a sanitised one."
    )
    key = models.CharField(max_length=1024, unique=True, help_text="Object key of the original.")
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField(help_text="Declared size in bytes.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    seq = models.PositiveIntegerField(default=1)
    original_width = models.PositiveIntegerField(null=True, blank=True)
    original_height = models.PositiveIntegerField(null=True, blank=True)
    original_format = models.CharField(max_length=16, blank=True)
    object_etag = models.CharField(
        max_length=128, blank=True, help_text="ETag of the object version being processed (first processing callback)."
    )
    placeholder = models.CharField(
        max_length=64, blank=True, help_text="ThumbHash of the image (base64), shown while a variant loads."
    )
    color = models.CharField(max_length=7, blank=True, help_text="Dominant colour, #rrggbb.")
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    session_hash = models.CharField(
        max_length=64, blank=True, db_index=True,
        help_text="Anonymous uploads: an HMAC of the presigning session's key (for the history list), else blank.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField(help_text="When the presigned POST stops being accepted.")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"], name="realtime_up_status_exp")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class Variant(models.Model):
    """One rendered size of an upload, in one or more formats.

    ``key``, ``format`` and ``size`` (bytes) are the fallback file's, the last of
    ``formats``: ``[{"format", "key", "size"}, ...]`` in order of preference
    (empty on rows written before contract 0.2: the fallback is then the only file).
    """

    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=64)
    key = models.CharField(max_length=1024)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=16)
    size = models.PositiveBigIntegerField()
    animated = models.BooleanField(default=False)
    formats = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["upload", "name"], name="realtime_uploads_variant_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.width}x{self.height} {'/'.join(self.file_formats())}"

    def files(self) -> list[dict]:
        """``[{"format", "key", "size"}, ...]``, the fallback last; the fallback alone for a 0.1 row."""
        return list(self.formats) or [{"format": self.format, "key": self.key, "size": self.size}]

    def file_formats(self) -> list[str]:
        return [f["format"] for f in self.files()]
