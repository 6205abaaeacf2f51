"""What every storage backend offers the rest of the app: presigned POSTs for originals, URLs for variants.

A backend deals in bytes and keys only. It never reads or writes the upload
table: the presign service (:mod:`realtime_uploads.presign.service`) creates
the row and then asks the backend for the POST; whatever must happen when an
object arrives is the processor's (or, for the local backend,
:mod:`realtime_uploads.local`'s).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from realtime_uploads.storage.policy import PostPolicy


class StorageBackend(ABC):
    """Issues presigned POSTs for originals and URLs for variants.

    Subclass it and name the subclass's dotted path in
    ``REALTIME_UPLOADS["BACKEND"]`` to plug in a store of your own.
    """

    #: A short name for logs and messages (the built-in ones: ``"local"``, ``"s3"``).
    name: str = ""
    #: True when uploads are stored and processed inside the web process (the deploy check E105 refuses it).
    in_process: bool = False

    @abstractmethod
    def presign(self, upload: Any, *, request: Any = None) -> dict[str, Any]:
        """Return ``{"url": str, "fields": {str: str}}`` for the browser's multipart POST.

        The policy pins ``upload.key``, ``upload.content_type`` and
        ``content-length-range [upload.size, upload.size]`` (bytes), and
        expires at ``upload.expires_at``. ``request`` is the request being
        answered, or None; a backend may use it to make its URL absolute.
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
