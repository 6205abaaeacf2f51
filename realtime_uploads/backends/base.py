"""What every storage backend offers the rest of the app."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from .policy import PostPolicy


class StorageBackend(ABC):
    """Issues presigned POSTs for originals and URLs for variants."""

    #: The ``REALTIME_UPLOADS["BACKEND"]`` value that selects this backend.
    name: str = ""

    @abstractmethod
    def presign(self, upload: Any, *, request: Any) -> dict[str, Any]:
        """Return ``{"url": str, "fields": {str: str}}`` for the browser's multipart POST.

        The policy pins ``upload.key``, ``upload.content_type`` and
        ``content-length-range [upload.size, upload.size]`` (bytes), and
        expires at ``upload.expires_at``.
        """

    def policy_for(self, upload: Any, *, tagging: str | None = None) -> PostPolicy:
        """The upload's policy: its exact key and Content-Type, exactly its declared size, its expiry.

        ``content-length-range`` is ``[upload.size, upload.size]``: the object
        stored is exactly as large as declared at presign (which the presign
        serializer keeps within 1..MAX_SIZE), so quotas may count declared sizes.
        """
        return PostPolicy(key=upload.key, content_type=upload.content_type, min_size=upload.size,
                          max_size=upload.size, expires_at=upload.expires_at, tagging=tagging)

    @abstractmethod
    def variant_url(self, key: str) -> str:
        """A URL the browser can GET the variant stored at ``key`` from."""

    def object_exists(self, key: str) -> bool | None:
        """Whether an object is stored at ``key``: True, False, or None when the backend cannot tell."""
        return None

    def start(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """The server process started: begin any background work (the local backend's processor and sweep)."""

    def stop(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Stop background work without waiting (shutdown began, or the settings changed)."""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Stop background work and wait, boundedly, for what is running."""
