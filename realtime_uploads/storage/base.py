"""What every storage backend offers the rest of the app: presigned POSTs for originals, URLs for variants.

A backend deals in bytes and keys only. It never reads or writes the upload
table: the presign service (:mod:`realtime_uploads.presign.service`) creates
the row and then asks the backend for the POST; whatever must happen when an
object arrives is the processor's (or, for the local backend,
:mod:`realtime_uploads.local`'s).
"""

from __future__ import annotations

import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from realtime_uploads.storage.policy import PostPolicy


def attachment_name(filename: str) -> str:
    """``filename`` made safe to send as a download's name: path separators, control characters and quotes
    dropped, leading/trailing dots and spaces stripped, at most 150 characters (a short extension kept),
    ``download`` when nothing is left. Non-ASCII stays (sent as RFC 6266's ``filename*=utf-8''…`` by Django's
    ``content_disposition_header``)."""
    name = "".join(c for c in unicodedata.normalize("NFC", filename or "")
                   if c.isprintable() and c not in '"\\/:*?<>|;').strip(" .")
    if len(name) > 150:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:140] + dot + ext) if dot and len(ext) <= 9 else name[:150]
    return name or "download"


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

    def download_url(self, key: str, *, filename: str, content_type: str, expires_in: int,
                     request: Any = None) -> str:
        """A URL that lets whoever holds it GET the original at ``key`` for ``expires_in`` seconds, sent as an
        attachment named ``filename`` (already made safe by :func:`attachment_name`) of ``content_type``.

        Only the owner's download view (``GET /api/uploads/<id>/download/``) asks for one. Raises
        NotImplementedError for a backend that cannot make one (the view then answers 404).
        """
        raise NotImplementedError(f"{type(self).__name__} cannot make download links.")

    def object_exists(self, key: str) -> bool | None:
        """Whether an object is stored at ``key``: True, False, or None when the backend cannot tell."""
        return None

    def delete(self, keys: Sequence[str]) -> None:
        """Delete the objects stored at ``keys`` (originals and variant files); a key with nothing stored is
        not an error (S3's DeleteObjects answers it as deleted too).

        Called off the request, after the deleting transaction committed
        (:mod:`realtime_uploads.state.purge`, which retries). Raises
        :class:`~realtime_uploads.core.errors.StorageError` when some could not
        be deleted, NotImplementedError for a backend that cannot delete (the
        purge then logs the keys it leaves behind).
        """
        raise NotImplementedError(f"{type(self).__name__} cannot delete stored objects.")
