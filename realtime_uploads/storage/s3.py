"""The ``s3`` backend: presigned POSTs straight into a bucket (AWS S3 or any S3-compatible store).

The policy is :class:`~.policy.PostPolicy`, the same document the local
backend enforces; boto3's ``generate_presigned_post`` adds the bucket and key
conditions and signs it with SigV4 ("Browser-based uploads using POST",
docs.aws.amazon.com/AmazonS3/latest/API/sigv4-UsingHTTPPOST.html). Objects
stay private: variant URLs are presigned GETs, or ``PUBLIC_BASE_URL + key``
when a CDN or public prefix is configured.

The policy pins the exact key, ``Content-Type``, ``tagging`` and a
``content-length-range`` of exactly the declared size. It cannot stop the
browser POSTing the same form twice while it is valid: S3 then stores the
second object over the first and sends a second ObjectCreated event. The
processing side copes: an event whose object is the version already pinned
by the first ``processing`` report is an idempotent repeat (Django answers
200 / no-op, or 409 once the upload is finished, and the processor skips);
a report about the other version is 409 and skipped, and every read is
``If-Match`` the pinned ETag, so variants never mix two objects. One window
remains: if the second POST lands between the first event's HEAD and its
GET, the GET answers 412 and the upload ends ``failed`` / ``storage_error``
although a valid object is stored (the local backend refuses the second
POST instead: the first object wins).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.http import content_disposition_header

from realtime_uploads.conf import uploads_settings
from realtime_uploads.core.errors import StorageError
from realtime_uploads.core.s3_client import error_status, s3_client, tagging_xml
from realtime_uploads.storage.base import StorageBackend


class S3Backend(StorageBackend):
    """Presigned POST to ``REALTIME_UPLOADS["BUCKET"]``; the processor runs elsewhere."""

    name = "s3"

    def __init__(self) -> None:
        s = uploads_settings
        if not s.BUCKET:
            raise ImproperlyConfigured(f"REALTIME_UPLOADS['BUCKET'] is required by {type(self).__name__}: name the "
                                       "bucket the browser uploads to.")
        self.bucket = s.BUCKET
        self.region = s.REGION
        self.endpoint_url = s.ENDPOINT_URL
        self.addressing_style = s.ADDRESSING_STYLE
        self.public_base_url = s.PUBLIC_BASE_URL
        self.variant_url_expires = s.VARIANT_URL_EXPIRES

    @property
    def client(self):
        """The process's boto3 S3 client (created once, shared by all threads)."""
        return s3_client(region=self.region, endpoint_url=self.endpoint_url, addressing_style=self.addressing_style)

    def object_exists(self, key: str) -> bool | None:
        """HEAD the object (needs ``s3:GetObject`` on originals): True / False on 404, None if S3 will not say."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            return False if error_status(exc) == 404 else None
        except BotoCoreError:
            return None
        return True

    #: Most keys of one DeleteObjects request (docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html).
    DELETE_BATCH = 1000

    def delete(self, keys: Sequence[str]) -> None:
        """DeleteObjects in batches of at most 1000 keys (quiet mode: S3 lists only the failures).

        Needs ``s3:DeleteObject`` on originals and variants. A key with no
        object counts as deleted (S3 says so too). Raises StorageError naming
        the keys S3 refused or the request that failed (the caller retries).
        """
        keys = list(dict.fromkeys(keys))
        failed: list[str] = []
        for start in range(0, len(keys), self.DELETE_BATCH):
            batch = keys[start:start + self.DELETE_BATCH]
            try:
                answer = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
            except (ClientError, BotoCoreError) as exc:
                raise StorageError(f"DeleteObjects of {len(batch)} key(s) failed: {exc}") from exc
            failed += [f"{e.get('Key')} ({e.get('Code')})" for e in answer.get("Errors", [])]
        if failed:
            raise StorageError(f"S3 did not delete {len(failed)} object(s): {', '.join(failed[:10])}")

    def presign(self, upload: Any, *, request: Any = None, now: datetime | None = None) -> dict[str, Any]:
        policy = self.policy_for(upload, tagging=tagging_xml("pending"))
        expires_in = int((upload.expires_at - (now or timezone.now())).total_seconds())
        # boto3 adds {"bucket": …} and {"key": …} itself; pass the rest.
        conditions = [c for c in policy.conditions() if not (isinstance(c, dict) and "key" in c)]
        try:
            post = self.client.generate_presigned_post(
                Bucket=self.bucket,
                Key=upload.key,
                Fields={k: v for k, v in policy.fields().items() if k != "key"},
                Conditions=conditions,
                ExpiresIn=max(1, expires_in),
            )
        except BotoCoreError as exc:  # a bad region, a credentials provider that failed
            raise _cannot_sign(exc) from exc
        except AttributeError as exc:
            # botocore's presigned POST does not check for credentials: with none found it fails with
            # "'NoneType' object has no attribute 'access_key'" (generate_presigned_url raises NoCredentialsError).
            if "access_key" not in str(exc):
                raise
            raise _cannot_sign(NoCredentialsError()) from exc
        return {"url": post["url"], "fields": post["fields"]}

    def download_url(self, key: str, *, filename: str, content_type: str, expires_in: int,
                     request: Any = None) -> str:
        """A presigned GET of the original (SigV4, ``expires_in`` seconds) whose answer S3 sends with
        ``Content-Disposition: attachment`` and ``content_type`` (``ResponseContentDisposition`` /
        ``ResponseContentType``, AWS S3 API Reference, GetObject). Never ``PUBLIC_BASE_URL``: originals stay
        private. Needs ``s3:GetObject`` on originals."""
        try:
            return self.client.generate_presigned_url("get_object", ExpiresIn=expires_in, Params={
                "Bucket": self.bucket, "Key": key, "ResponseContentType": content_type,
                "ResponseContentDisposition": content_disposition_header(True, filename)})
        except BotoCoreError as exc:
            raise _cannot_sign(exc) from exc

    def variant_url(self, key: str) -> str:
        if self.public_base_url:
            return f"{self.public_base_url.rstrip('/')}/{quote(key)}"
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self.variant_url_expires
        )


def _cannot_sign(exc: BotoCoreError) -> StorageError:
    """The StorageError of a signature boto3 could not make (``NoCredentialsError``, ``NoRegionError``…):
    the web process's AWS configuration is missing, which a retry will not fix."""
    return StorageError(f"Cannot sign S3 requests: {exc}. Give the web process AWS credentials (an IAM role, or "
                        "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) and REALTIME_UPLOADS['REGION'].")
