"""S3 for the processor: the :class:`S3Store` it reads originals and writes variants through, and
:func:`process_s3_event`, what Lambda and the SQS worker do with one S3 event notification.

No Django import. The client is :func:`realtime_uploads.core.s3_client.s3_client`, one per process.
"""

from __future__ import annotations

import tempfile
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from realtime_uploads.core.errors import StorageError
from realtime_uploads.core.object_store import ObjectInfo
from realtime_uploads.core.s3_client import LIFECYCLE_TAG, error_status, s3_client
from realtime_uploads.processing.pipeline import Outcome, process_object, too_large
from realtime_uploads.processing.s3_events import object_refs

_CHUNK = 1024 * 1024
_SPOOL = 8 * 1024 * 1024  # originals up to 8 MiB stay in memory, larger spill to disk


def storage_error(exc: Exception, what: str) -> StorageError:
    """Map a boto error to StorageError: 5xx, throttling and network errors are retryable."""
    if isinstance(exc, ClientError):
        status = error_status(exc)
        code = exc.response.get("Error", {}).get("Code", "")
        retryable = status >= 500 or status in (408, 429) or code in ("SlowDown", "RequestTimeout")
        return StorageError(f"{what}: S3 answered {status} {code}", retryable=retryable)
    return StorageError(f"{what}: {exc}", retryable=True)


class S3Store:
    """An :class:`~.pipeline.ObjectStore` over one bucket.

    ``max_read`` (bytes) bounds what :meth:`open` will download, whatever the
    object claims to be. Raises StorageError (``retryable`` for 5xx, 429
    and network errors; a 403 or 404 is permanent).
    """

    def __init__(self, bucket: str, *, client: Any = None, max_read: int | None = None):
        self.bucket = bucket
        self.client = client or s3_client()
        self.max_read = max_read

    def head(self, key: str) -> ObjectInfo:
        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise storage_error(exc, f"HEAD s3://{self.bucket}/{key}") from exc
        return ObjectInfo(size=int(answer["ContentLength"]), etag=answer["ETag"])

    def open(self, key: str, *, etag: str | None = None) -> BinaryIO:
        """Stream the object into a spooled temporary file and return it at offset 0.

        With ``etag``, the GET carries ``If-Match``: S3 answers 412 if the
        object was replaced since the HEAD, a permanent StorageError. The
        pipeline uses :meth:`read` instead, which has no such window.
        """
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115 - returned to the caller
        try:
            extra = {"IfMatch": etag} if etag else {}
            body = self.client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"]
            read = 0
            for chunk in body.iter_chunks(_CHUNK):
                read += len(chunk)
                if self.max_read is not None and read > self.max_read:
                    raise StorageError(f"s3://{self.bucket}/{key} grew past {self.max_read} bytes while read")
                spool.write(chunk)
        except (ClientError, BotoCoreError) as exc:
            spool.close()
            raise storage_error(exc, f"GET s3://{self.bucket}/{key}") from exc
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool

    def read(self, key: str, *, max_size: int | None = None) -> tuple[ObjectInfo, BinaryIO]:
        """One GET, no ``If-Match``: the object in a spooled temporary file at offset 0, and its version.

        The :class:`~.pipeline.ObjectInfo` is that of the GET's own answer
        (``ContentLength``, ``ETag``), so it names exactly the bytes returned
        even if the object is replaced meanwhile (S3 serves a GET from one
        version: "Amazon S3 data consistency model", S3 user guide). An object
        over ``max_size`` (default ``max_read``) bytes raises ProcessingError
        ``too_large`` from its ``ContentLength``, before its body is read; the
        body is read in bounded pieces and never past ``max_size + 1`` bytes,
        whatever the server sends. Raises StorageError as :class:`S3Store` says.
        """
        limit = self.max_read if max_size is None else max_size
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115 - returned to the caller
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
            body = answer["Body"]
            try:
                if limit is not None and int(answer["ContentLength"]) > limit:
                    raise too_large(int(answer["ContentLength"]), limit)
                read = 0
                while chunk := body.read(_CHUNK if limit is None else min(_CHUNK, limit + 1 - read)):
                    read += len(chunk)
                    if limit is not None and read > limit:
                        raise too_large(f"more than {limit}", limit)
                    spool.write(chunk)
            finally:
                body.close()  # unread bytes are not drained: the connection is dropped instead
        except (ClientError, BotoCoreError) as exc:
            spool.close()
            raise storage_error(exc, f"GET s3://{self.bucket}/{key}") from exc
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return ObjectInfo(size=read, etag=answer["ETag"]), spool

    def put(self, key: str, data: bytes, *, content_type: str, cache_control: str) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, CacheControl=cache_control
            )
        except (ClientError, BotoCoreError) as exc:
            raise storage_error(exc, f"PUT s3://{self.bucket}/{key}") from exc

    def mark_completed(self, key: str) -> None:
        """Replace the original's lifecycle tag with ``completed``, so the bucket keeps it."""
        try:
            self.client.put_object_tagging(
                Bucket=self.bucket, Key=key, Tagging={"TagSet": [{"Key": LIFECYCLE_TAG, "Value": "completed"}]}
            )
        except (ClientError, BotoCoreError) as exc:
            raise storage_error(exc, f"PUT tagging s3://{self.bucket}/{key}") from exc


def process_s3_event(event, *, config, client: Any = None) -> list:
    """Process every object an S3 event created; return their Outcomes.

    Objects outside ``config.bucket`` (when set) are skipped. Raises what
    :func:`~.pipeline.process_object` raises for a retry (CallbackError,
    retryable StorageError) and :class:`~.s3_events.EventError` for a message
    that is not an S3 event.
    """
    outcomes = []
    for ref in object_refs(event):
        if config.bucket and ref.bucket != config.bucket:
            outcomes.append(Outcome("skipped", reason=f"bucket {ref.bucket} is not {config.bucket}"))
            continue
        store = S3Store(ref.bucket, client=client, max_read=config.max_size)
        outcomes.append(process_object(ref.key, store=store, config=config))
    return outcomes
