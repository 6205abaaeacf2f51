"""The ``local`` backend: the embedded default, S3's presigned POST emulated into Django's default storage.

Presign answers with the URL of the app's own upload endpoint
(:mod:`realtime_uploads.local.post_object`) and a signed policy
(:mod:`.policy`, the same document the S3 backend issues). :meth:`LocalBackend.verify`
checks a POSTed form against it as S3 would, and :meth:`LocalBackend.store`
writes the file at its key, the first object of an upload winning. That is
all this module does: bytes in the backend's own folder (:func:`local_root`,
``REALTIME_UPLOADS["LOCAL_ROOT"]``), never in ``MEDIA_ROOT``, so serving
``MEDIA_URL`` cannot expose an original. Variants are read back through the
app's own URL (:meth:`LocalBackend.variant_path`, served by
:mod:`realtime_uploads.local.files`), and an original only by its owner
through a signed, expiring link (:meth:`LocalBackend.download_url`). What
happens when an object arrives (the in-process processor, its sweep) is
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
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from django.conf import settings
from django.core import signing
from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.urls import NoReverseMatch, reverse
from django.utils.crypto import salted_hmac

from realtime_uploads.conf import uploads_settings
from realtime_uploads.core.errors import StorageError
from realtime_uploads.core.object_store import ObjectInfo
from realtime_uploads.exceptions import PolicyError
from realtime_uploads.storage.base import StorageBackend
from realtime_uploads.storage.policy import PostPolicy

POLICY_SALT = "realtime_uploads.local-policy"
DOWNLOAD_SALT = "realtime_uploads.local-download"
#: The folder's name when ``LOCAL_ROOT`` is None: ``<BASE_DIR>/.realtime_uploads``.
DEFAULT_FOLDER = ".realtime_uploads"


def local_root() -> str:
    """The local backend's folder, absolute: ``REALTIME_UPLOADS["LOCAL_ROOT"]``, else ``.realtime_uploads``
    in ``settings.BASE_DIR`` (which ``django-admin startproject`` defines), else in the working directory."""
    configured = uploads_settings.LOCAL_ROOT
    if configured:
        return os.path.abspath(configured)
    base = getattr(settings, "BASE_DIR", None)
    return os.path.abspath(os.path.join(os.fspath(base) if base else os.getcwd(), DEFAULT_FOLDER))


def _safe_key(key: str, prefix: str) -> bool:
    """True if ``key`` lies under ``prefix`` with plain segments only (no ``.``/``..``/empty ones, no
    backslash, NUL or other control character): a client-supplied path treated as hostile."""
    return (isinstance(key, str) and key.startswith(prefix) and len(key) <= 1024 and key.isprintable()
            and "\\" not in key and all(part not in ("", ".", "..") for part in key.split("/")))


@dataclass(frozen=True)
class DownloadGrant:
    """What a verified download link allows: the original at ``key``, sent as ``filename`` with ``content_type``."""

    key: str
    filename: str
    content_type: str


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


class PrivateFolder(FileSystemStorage):
    """A ``FileSystemStorage`` with no URL (not even ``MEDIA_URL``): the local backend's folder is never
    served whole; variants have :meth:`LocalBackend.variant_url` instead."""

    def url(self, name):
        raise NotImplementedError("The local backend's folder has no URL: variants are served by "
                                  "realtime_uploads:local-file (LocalBackend.variant_url), originals by no URL.")


def _reverse(name: str, **kwargs: str) -> str:
    try:
        return reverse(f"realtime_uploads:{name}", kwargs=kwargs)
    except NoReverseMatch as exc:
        raise ImproperlyConfigured(f"The local backend's endpoint realtime_uploads:{name} is not in the URLconf: "
                                   "include the app's URLs, path('api/', include('realtime_uploads.urls')).") from exc


class LocalBackend(StorageBackend):
    """Presigned POST into a private folder (:func:`local_root`), processed in-process.

    The folder is a :class:`PrivateFolder`, a storage without a URL: nothing
    serves it as a whole. Its storage keeps Django's ``save()`` contract of never
    overwriting, so the first object of an upload wins.
    """

    name = "local"
    in_process = True

    def __init__(self) -> None:
        self.root = local_root()
        self.storage = PrivateFolder(location=self.root)

    @staticmethod
    def _signature(encoded_policy: str) -> str:
        return salted_hmac(POLICY_SALT, encoded_policy, algorithm="sha256").hexdigest()

    def presign(self, upload: Any, *, request: Any = None) -> dict[str, Any]:
        policy = self.policy_for(upload)
        encoded = policy.encode()
        fields = {**policy.fields(), "policy": encoded, "x-amz-signature": self._signature(encoded)}
        url = _reverse("local-upload")
        return {"url": request.build_absolute_uri(url) if request is not None else url, "fields": fields}

    def variant_url(self, key: str) -> str:
        """The app's own URL of the variant (``realtime_uploads:local-file``, wherever the app's URLs are
        included), e.g. ``/api/uploads/local/files/variants/<id>/thumb.webp``. Raises ImproperlyConfigured
        when the app's URLs are not included."""
        return _reverse("local-file", path=key)

    def variant_path(self, key: str) -> str | None:
        """The file of the stored variant ``key``, or None when ``key`` names no variant: not under
        ``VARIANT_PREFIX`` (an original, anything else), a ``.``/``..``/empty segment, a backslash or control
        character, a symbolic link leading out of the variants' folder, or no regular file there."""
        prefix = uploads_settings.VARIANT_PREFIX
        if not _safe_key(key, prefix):
            return None
        try:
            path = self.storage.path(key)
        except SuspiciousFileOperation:
            return None
        variants = os.path.realpath(os.path.join(self.root, prefix))
        if not os.path.realpath(path).startswith(variants + os.sep) or not os.path.isfile(path):
            return None
        return path

    def download_url(self, key: str, *, filename: str, content_type: str, expires_in: int,
                     request: Any = None) -> str:
        """A link to the original at ``key`` that works for ``expires_in`` seconds: the app's
        ``realtime_uploads:local-download`` with a token signed by ``SECRET_KEY`` (salt
        ``realtime_uploads.local-download``) holding the key, the file name, the type and the deadline."""
        token = signing.dumps({"k": key, "n": filename, "t": content_type, "e": int(time.time()) + expires_in},
                              salt=DOWNLOAD_SALT, compress=True)
        url = _reverse("local-download", token=token)
        return request.build_absolute_uri(url) if request is not None else url

    def verify_download(self, token: str, *, now: float | None = None) -> DownloadGrant:
        """The grant of a token :meth:`download_url` made. Raises PolicyError ``AccessDenied`` (403) for a
        token that was not (altered, another salt or ``SECRET_KEY``), ``ExpiredToken`` (403) past its
        deadline, as S3 answers a presigned GET."""
        try:
            data = signing.loads(token, salt=DOWNLOAD_SALT)
            grant = DownloadGrant(key=data["k"], filename=data["n"], content_type=data["t"])
            deadline = int(data["e"])
        except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
            raise PolicyError("AccessDenied", "The download link is not valid.", 403) from exc
        if (time.time() if now is None else now) > deadline:
            raise PolicyError("ExpiredToken", "The download link has expired.", 403)
        return grant

    def original_path(self, key: str) -> str | None:
        """The file of the original stored at ``key`` (under ``KEY_PREFIX``), or None when there is none."""
        if not _safe_key(key, uploads_settings.KEY_PREFIX):
            return None
        try:
            path = self.storage.path(key)
        except SuspiciousFileOperation:
            return None
        return path if os.path.isfile(path) else None

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

    def delete(self, keys) -> None:
        """Delete each of ``keys`` from the storage it lives in (a missing one is not an error). Raises
        StorageError naming the keys that could not be deleted (the purge retries them)."""
        failed = []
        folders = set()
        for key in dict.fromkeys(keys):
            try:
                self.storage.delete(key)
            except OSError as exc:
                failed.append(f"{key} ({exc})")
            else:
                folders.add(os.path.dirname(key))
        self._remove_empty_folders(folders)
        if failed:
            raise StorageError(f"Could not delete {len(failed)} object(s): {', '.join(failed[:10])}")

    def _remove_empty_folders(self, folders) -> None:
        """Remove each of ``folders`` (relative to the root) and its parents while they are empty, up to the
        prefixes: an upload's ``uploads/<id>/`` and ``variants/<id>/`` go with its last file. A folder a
        concurrent write has just filled (or any other OSError) is left as it is."""
        root = os.path.realpath(self.storage.location)
        for folder in sorted(folders, key=len, reverse=True):
            while folder and folder not in (".", "/"):
                path = os.path.realpath(os.path.join(root, folder))
                if not path.startswith(root + os.sep):
                    break
                try:
                    os.rmdir(path)  # only an empty folder
                except OSError:
                    break
                folder = os.path.dirname(folder)
                if f"{folder}/" in (uploads_settings.KEY_PREFIX, uploads_settings.VARIANT_PREFIX):
                    break  # the prefixes themselves stay

    def object_exists(self, key: str) -> bool | None:
        """Whether the backend's folder holds ``key``."""
        try:
            return self.storage.exists(key)
        except OSError:
            return None
