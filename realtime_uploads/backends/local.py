"""The ``local`` backend: the embedded default, S3's presigned POST emulated by Django.

Presign answers with the URL of the app's own upload endpoint and a signed
policy (:mod:`.policy`, the same document the S3 backend issues). The
endpoint enforces that policy as S3 would, streams the file into Django's
default storage, and hands the stored object to the in-process
:class:`~realtime_uploads.processing.local.LocalDispatcher`, which reports
back through the same signed HTTP callback a Lambda would use.

:meth:`LocalBackend.start` (the project's ``asgi.py`` calls
:func:`realtime_uploads.backends.start_backend`) also starts the sweep of
:mod:`realtime_uploads.recovery`, so work a killed process left unfinished is
done after a restart, and hooks both into the process's shutdown
(:mod:`realtime_uploads.lifecycle`): no new work and no callback once
shutdown begins, running jobs given ``LOCAL_SHUTDOWN_TIMEOUT`` seconds.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import io
import os
import secrets
import threading
from datetime import datetime
from typing import Any, BinaryIO

from django.core.exceptions import ImproperlyConfigured
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages
from django.urls import reverse
from django.utils.crypto import salted_hmac

from .. import lifecycle
from ..conf import uploads_settings
from ..processing.config import PROCESSOR_DEFAULTS, build_config
from ..processing.local import LocalDispatcher
from ..processing.pipeline import ObjectInfo, ProcessorConfig, StorageError
from ..recovery import Sweeper
from .base import StorageBackend
from .policy import PolicyError, PostPolicy

POLICY_SALT = "realtime_uploads.local-policy"


def _identity(f) -> str:
    """An ETag-like version of an open file: size and modification time (ns) of the opened file.

    Taken from the open handle (``fstat``), so it names exactly the bytes that
    handle reads even if the key is replaced meanwhile; storages without a
    file descriptor fall back to an MD5 of the content (leaving ``f`` at 0).
    """
    try:
        stat = os.fstat(f.fileno())
    except (AttributeError, OSError, io.UnsupportedOperation):
        digest = hashlib.md5(usedforsecurity=False)
        for chunk in iter(lambda: f.read(1024 * 1024), b""):
            digest.update(chunk)
        f.seek(0)
        return f'"{digest.hexdigest()}"'
    return f'"{stat.st_size}-{stat.st_mtime_ns}-{stat.st_ino}"'


def processor_config() -> ProcessorConfig:
    """The processor's configuration, from ``REALTIME_UPLOADS``."""
    if not uploads_settings.CALLBACK_SECRETS:
        raise StorageError("REALTIME_UPLOADS['CALLBACK_SECRETS'] is empty; the processor cannot sign.")
    values = {key: getattr(uploads_settings, key) for key in PROCESSOR_DEFAULTS}
    # The local processor reads Django's default storage, whatever BUCKET says.
    return build_config({**values, "BUCKET": None}, secret=uploads_settings.CALLBACK_SECRETS[0])


class DjangoStorageStore:
    """An :class:`~realtime_uploads.processing.pipeline.ObjectStore` over a Django storage."""

    def __init__(self, storage):
        self.storage = storage

    def head(self, key: str) -> ObjectInfo:
        """Size and a version identity, without reading the content."""
        try:
            with self.storage.open(key, "rb") as f:
                return ObjectInfo(size=f.size, etag=_identity(f))
        except OSError as exc:
            raise StorageError(f"{key}: {exc}") from exc

    def open(self, key: str, *, etag: str | None = None) -> BinaryIO:
        try:
            f = self.storage.open(key, "rb")
        except OSError as exc:
            raise StorageError(f"{key}: {exc}") from exc
        if etag is not None and _identity(f) != etag:
            f.close()
            raise StorageError(f"{key} was replaced by another upload while it was being processed")
        return f

    def put(self, key: str, data: bytes, *, content_type: str, cache_control: str) -> None:
        try:
            if self.storage.exists(key):
                self.storage.delete(key)  # S3 semantics: a PUT replaces the object
            saved = self.storage.save(key, ContentFile(data))
        except OSError as exc:
            raise StorageError(f"{key}: {exc}") from exc
        if saved != key:  # a concurrent writer won the name; ours went elsewhere
            self.storage.delete(saved)
            raise StorageError(f"{key}: written concurrently by someone else")

    def mark_completed(self, key: str) -> None:
        """Nothing to record: local storage has no lifecycle rules."""


def _create_exclusive(storage, key: str, file: File) -> bool:
    """Store ``file`` at ``key`` only if nothing is there; False when another object already is.

    ``FileSystemStorage``: written beside the key, then hard-linked to it; link(2)
    fails with EEXIST where rename(2) replaces (Django's own move of a spooled
    upload, an exists-check then ``os.rename()``, gave two 204s for one key on
    CI), and a write that fails half-way leaves nothing at the key. Others, and
    filesystems without hard links: ``Storage.save``, which never overwrites (it
    picks another name, deleted here). Raises OSError when it cannot be written.
    """
    path = storage.path(key) if isinstance(storage, FileSystemStorage) else None
    if path is not None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = os.path.join(os.path.dirname(path), f".incoming-{secrets.token_hex(8)}")
        try:
            with open(temporary, "xb") as out:  # mode 0666 less the umask, as Storage.save creates
                for chunk in file.chunks():
                    out.write(chunk)
            if storage.file_permissions_mode is not None:
                os.chmod(temporary, storage.file_permissions_mode)
            try:
                os.link(temporary, path)
                return True
            except FileExistsError:
                return False
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                    raise
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        file.seek(0)
        file = File(file)  # no temporary_file_path(): streamed with O_EXCL, not renamed over another POST's
    saved = storage.save(key, file)
    if saved != key:
        storage.delete(saved)
    return saved == key


def already_received() -> PolicyError:
    """The answer to a POST for an upload whose object was already received: the first one is kept."""
    return PolicyError("AccessDenied", "This upload has already been received; the first file sent is kept. "
                       "Presign a new upload to send another file.", 403)


class LocalBackend(StorageBackend):
    """Presigned POST into ``STORAGES["default"]``, processed in-process.

    The storage must keep Django's ``save()`` contract of never overwriting
    (so the first object of an upload wins); ``FileSystemStorage`` with
    ``allow_overwrite=True`` is refused with ImproperlyConfigured.
    """

    name = "local"

    def __init__(self) -> None:
        self.storage = storages["default"]
        # FileSystemStorage(allow_overwrite=True) keeps it private; django-storages' S3Storage has file_overwrite.
        overwrites = ("_allow_overwrite", "allow_overwrite", "file_overwrite")
        if any(getattr(self.storage, name, False) for name in overwrites):
            raise ImproperlyConfigured(
                'The local backend needs STORAGES["default"] not to overwrite on save() (allow_overwrite / '
                "file_overwrite off): the first file of an upload must win over a repeated POST."
            )
        self._lock = threading.Lock()
        self._dispatcher: LocalDispatcher | None = None
        self._sweeper: Sweeper | None = None
        self._closed = False

    @staticmethod
    def _signature(encoded_policy: str) -> str:
        return salted_hmac(POLICY_SALT, encoded_policy, algorithm="sha256").hexdigest()

    def presign(self, upload: Any, *, request: Any) -> dict[str, Any]:
        policy = self.policy_for(upload)
        encoded = policy.encode()
        fields = {**policy.fields(), "policy": encoded, "x-amz-signature": self._signature(encoded)}
        url = reverse("realtime_uploads:local-upload")
        return {"url": request.build_absolute_uri(url) if request is not None else url, "fields": fields}

    def variant_url(self, key: str) -> str:
        return self.storage.url(key)

    def verify(self, fields: dict[str, str], *, now: datetime) -> PostPolicy:
        """Check the signature and the form fields; return the policy. Raises PolicyError.

        ``fields`` are the form's non-file fields, one value each. A missing
        ``policy`` or ``x-amz-signature`` is AccessDenied (403); a signature
        that is not 64 hex digits (non-ASCII, too long…) or does not match is
        SignatureDoesNotMatch (403), compared in constant time as bytes.
        """
        encoded = fields.get("policy", "")
        signature = fields.get("x-amz-signature", "")
        if not encoded or not signature:
            raise PolicyError("AccessDenied", "Missing policy or x-amz-signature field.", 403)
        if len(signature) != 64 or not signature.isascii() or not encoded.isascii() or not hmac.compare_digest(
            self._signature(encoded).encode("ascii"), signature.encode("ascii")
        ):
            raise PolicyError(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
                403,
            )
        policy = PostPolicy.decode(encoded)
        policy.check_fields(fields, now=now)
        return policy

    def store(self, policy: PostPolicy, file: File) -> None:
        """Save ``file`` (already size-checked) at the policy's key, then queue it for processing,
        as S3's ObjectCreated event would. Raises PolicyError.

        The first object of an upload wins: a later POST of the same form
        (a double submit, or ten at once) is AccessDenied (403) and changes
        nothing (:func:`_create_exclusive`). Before this, a second POST
        replaced the object while it was being processed, and the upload
        failed with ``storage_error``.
        """
        from ..models import Status, Upload

        if not Upload.objects.filter(key=policy.key, status=Status.PENDING).exists() or \
                self.storage.exists(policy.key):
            raise already_received()
        try:
            stored = _create_exclusive(self.storage, policy.key, file)
        except OSError as exc:
            raise PolicyError("InternalError", "The object could not be stored.", 500) from exc
        if not stored:  # another POST of this upload created the key first: it wins
            raise already_received()
        # Declined when the queue is full or shutdown has begun: the object is stored and the
        # upload pending, so the sweep (here or in the next process) dispatches it later.
        self.dispatcher.submit(policy.key)

    def object_exists(self, key: str) -> bool | None:
        """Whether the default storage holds ``key``."""
        try:
            return self.storage.exists(key)
        except OSError:
            return None

    @property
    def dispatcher(self) -> LocalDispatcher:
        """The in-process processor, created on first use."""
        with self._lock:
            if self._dispatcher is None:
                self._dispatcher = LocalDispatcher(
                    store=DjangoStorageStore(self.storage),
                    config=processor_config(),
                    threads=uploads_settings.LOCAL_PROCESSOR_THREADS,
                    max_queued=uploads_settings.LOCAL_MAX_QUEUED,
                )
                if self._closed:
                    self._dispatcher.stop()
            return self._dispatcher

    def start(self) -> None:
        """Start the processor and (with ``LOCAL_SWEEP``) its sweep, once; both stop when the process does."""
        dispatcher = self.dispatcher
        with self._lock:
            if self._sweeper is not None or self._closed or not uploads_settings.LOCAL_SWEEP:
                return
            self._sweeper = Sweeper(dispatcher=dispatcher, storage=self.storage,
                                    retry_after=uploads_settings.LOCAL_RETRY_AFTER)
            self._sweeper.start()
        lifecycle.on_shutdown(self.stop)
        lifecycle.at_exit(self.close)

    def stop(self) -> None:
        """Shutdown began: no new work, no more callbacks. Returns at once."""
        with self._lock:
            self._closed = True
            sweeper, dispatcher = self._sweeper, self._dispatcher
        if sweeper is not None:
            sweeper.stop.set()
        if dispatcher is not None:
            dispatcher.stop()

    def close(self) -> None:
        """:meth:`stop`, then wait up to ``LOCAL_SHUTDOWN_TIMEOUT`` seconds for running jobs and the sweep."""
        self.stop()
        timeout = uploads_settings.LOCAL_SHUTDOWN_TIMEOUT
        with self._lock:
            sweeper, dispatcher = self._sweeper, self._dispatcher
            self._sweeper = self._dispatcher = None
        if sweeper is not None:
            sweeper.close(timeout)
        if dispatcher is not None:
            dispatcher.join(timeout)
