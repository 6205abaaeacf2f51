"""The object store the processor reads originals from and writes variants to: :class:`ObjectStore`.

Each backend brings one: :class:`realtime_uploads.processing.s3.S3Store` over a
bucket, :class:`realtime_uploads.storage.local.DjangoStorageStore` over a Django
storage. Failures are :class:`~realtime_uploads.core.errors.StorageError`. No Django import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class ObjectInfo:
    """What a HEAD (or a GET's answer) tells: ``size`` in bytes and an ``etag`` naming this version of the object."""

    size: int
    etag: str


class ObjectStore(Protocol):
    """Where originals are read and variants written. Raise StorageError on failure.

    A store may also offer ``read(key, *, max_size) -> (ObjectInfo, stream)``:
    one request that returns the object with the version of exactly the bytes
    returned (S3Store has it; see :func:`realtime_uploads.processing.pipeline.read_object`). Without it the pipeline
    uses :meth:`head`, then :meth:`open` with that ETag.
    """

    def head(self, key: str) -> ObjectInfo:
        """The object's size and ETag, without reading it."""

    def open(self, key: str, *, etag: str | None = None) -> BinaryIO:
        """A readable, seekable binary stream of the object; the caller closes it.

        With ``etag``, refuse (a permanent StorageError) if the object is no
        longer that version (S3: ``If-Match``).
        """

    def put(self, key: str, data: bytes, *, content_type: str, cache_control: str) -> None:
        """Store ``data`` under ``key``, replacing any object there."""

    def mark_completed(self, key: str) -> None:
        """Record on the original that it was processed (S3: its lifecycle tag); may do nothing."""
