"""S3 for the processor and the s3 backend: lazily built clients and an ObjectStore.

No Django import. Clients are created on first use, one per process and
configuration, each from its own Session under a lock, and then shared by
every thread: boto3 documents clients as thread-safe but sessions (and so
client creation from a shared one) as not ("Multithreading or
multiprocessing with resources", boto3 guide). Creating one costs tens of
milliseconds of CPU (a new Session loads botocore's data files), signing a
presigned POST about 0.1 ms; a per-thread cache never hits under an ASGI
server, which runs each sync request in a fresh thread.
``signature_version="s3v4"`` is explicit: boto3 otherwise hands out legacy
SigV2 POST fields in us-east-1.
"""

from __future__ import annotations

import tempfile
import threading
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .pipeline import ObjectInfo, Outcome, StorageError, process_object, too_large
from .s3_events import object_refs

_clients: dict[tuple, Any] = {}
_clients_lock = threading.Lock()

#: The tag the s3 backend puts on originals at upload (``pending``) and the
#: processor replaces after completion (``completed``); the bucket's lifecycle
#: rule (template.yaml) expires originals still ``pending`` after some days.
LIFECYCLE_TAG = "realtime-uploads-status"


def tagging_xml(value: str) -> str:
    """The S3 tagging document ``<Tagging>…</Tagging>`` of the lifecycle tag with ``value``."""
    return (f"<Tagging><TagSet><Tag><Key>{LIFECYCLE_TAG}</Key><Value>{value}</Value></Tag></TagSet>"
            "</Tagging>")
_CHUNK = 1024 * 1024
_SPOOL = 8 * 1024 * 1024  # originals up to 8 MiB stay in memory, larger spill to disk


def s3_client(*, region: str | None = None, endpoint_url: str | None = None, addressing_style: str = "auto"):
    """This process's S3 client for this configuration, created on first use and shared by all threads.

    ``region`` and ``endpoint_url`` default to boto3's own configuration
    (``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_S3``); ``addressing_style`` is
    ``auto``, ``path`` (most S3-compatible servers) or ``virtual``.
    """
    key = (region, endpoint_url, addressing_style)
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                config = Config(
                    signature_version="s3v4",
                    s3={"addressing_style": addressing_style},
                    retries={"mode": "standard"},
                    max_pool_connections=32,  # shared by every thread of the process
                )
                session = boto3.session.Session()
                client = _clients[key] = session.client(
                    "s3", region_name=region, endpoint_url=endpoint_url, config=config)
    return client


def error_status(exc: ClientError) -> int:
    """The HTTP status of a ClientError (0 if the response carried none)."""
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


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


def reset_clients() -> None:
    """Forget the clients (after the AWS configuration changed, e.g. in tests)."""
    with _clients_lock:
        _clients.clear()
