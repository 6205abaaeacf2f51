"""The ``local`` backend: the embedded default, S3's presigned POST emulated into Django's default storage.

Presign answers with the URL of the app's own upload endpoint
(:mod:`realtime_uploads.local.post_object`) and a signed policy
(:mod:`.policy`, the same document the S3 backend issues). :meth:`LocalBackend.verify`
checks a POSTed form against it as S3 would, and :meth:`LocalBackend.store`
writes the file at its key, the first object of an upload winning. That is
all this module does: bytes in ``STORAGES["default"]``. What happens when an
object arrives (the in-process processor, its sweep) is
:mod:`realtime_uploads.local`'s.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import io
import os
import secrets
from datetime import datetime
from typing import Any, BinaryIO

from django.core.exceptions import ImproperlyConfigured
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages
from django.urls import NoReverseMatch, reverse
from django.utils.crypto import salted_hmac

from realtime_uploads.core.errors import StorageError
from realtime_uploads.core.object_store import ObjectInfo
from realtime_uploads.exceptions import PolicyError
from realtime_uploads.storage.base import StorageBackend
from realtime_uploads.storage.policy import PostPolicy

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


class DjangoStorageStore:
    """An :class:`~realtime_uploads.core.object_store.ObjectStore` over a Django storage."""

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


def create_exclusive(storage, key: str, file: File) -> bool:
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


class LocalBackend(StorageBackend):
    """Presigned POST into ``STORAGES["default"]``, processed in-process.

    The storage must keep Django's ``save()`` contract of never overwriting
    (so the first object of an upload wins); ``FileSystemStorage`` with
    ``allow_overwrite=True`` is refused with ImproperlyConfigured.
    """

    name = "local"
    in_process = True

    def __init__(self) -> None:
        self.storage = storages["default"]
        # FileSystemStorage(allow_overwrite=True) keeps it private; django-storages' S3Storage has file_overwrite.
        overwrites = ("_allow_overwrite", "allow_overwrite", "file_overwrite")
        if any(getattr(self.storage, name, False) for name in overwrites):
            raise ImproperlyConfigured(
                'The local backend needs STORAGES["default"] not to overwrite on save() (allow_overwrite / '
                "file_overwrite off): the first file of an upload must win over a repeated POST."
            )

    @staticmethod
    def _signature(encoded_policy: str) -> str:
        return salted_hmac(POLICY_SALT, encoded_policy, algorithm="sha256").hexdigest()

    def presign(self, upload: Any, *, request: Any = None) -> dict[str, Any]:
        policy = self.policy_for(upload)
        encoded = policy.encode()
        fields = {**policy.fields(), "policy": encoded, "x-amz-signature": self._signature(encoded)}
        try:
            url = reverse("realtime_uploads:local-upload")
        except NoReverseMatch as exc:
            raise ImproperlyConfigured("The local backend's upload endpoint (realtime_uploads:local-upload) is not in "
                                       "the URLconf: include the app's URLs, "
                                       "path('api/', include('realtime_uploads.urls')).") from exc
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

    def store(self, key: str, file: File) -> bool:
        """Save ``file`` at ``key`` unless an object is stored there already; False when one is (the first
        object of an upload wins, :func:`create_exclusive`). Raises OSError when it cannot be written."""
        if self.storage.exists(key):
            return False
        return create_exclusive(self.storage, key, file)

    def object_store(self) -> DjangoStorageStore:
        """The processor's view of the same storage (originals read, variants written)."""
        return DjangoStorageStore(self.storage)

    def object_exists(self, key: str) -> bool | None:
        """Whether the default storage holds ``key``."""
        try:
            return self.storage.exists(key)
        except OSError:
            return None
