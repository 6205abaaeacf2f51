"""Storage backends: where the browser's presigned POST goes and where variants are read from.

``REALTIME_UPLOADS["BACKEND"]`` names the backend class: ``"local"`` and
``"s3"`` are short for :class:`realtime_uploads.storage.local.LocalBackend`
and :class:`realtime_uploads.storage.s3.S3Backend`; any other value is the
dotted path of a :class:`~realtime_uploads.storage.base.StorageBackend`
subclass of the project's own, imported when first used (as DRF's
``IMPORT_STRINGS`` and django-storages' backends are). :func:`get_backend`
returns one instance per settings (a new one after ``override_settings``).
A backend stores bytes and nothing else: it never reads the upload table.
"""

from __future__ import annotations

import threading

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from realtime_uploads.conf import uploads_settings
from realtime_uploads.core.settings_schema import BACKENDS
from realtime_uploads.storage.base import StorageBackend

_cache: dict[str, StorageBackend] = {}
_lock = threading.Lock()


def backend_class() -> type[StorageBackend]:
    """The class ``REALTIME_UPLOADS["BACKEND"]`` names. Raises ImproperlyConfigured naming the setting when it
    cannot be imported or is not a StorageBackend."""
    path = BACKENDS.get(uploads_settings.BACKEND, uploads_settings.BACKEND)
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"REALTIME_UPLOADS['BACKEND'] = {path!r} cannot be imported: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, StorageBackend)):
        raise ImproperlyConfigured(f"REALTIME_UPLOADS['BACKEND'] = {path!r} is not a subclass of "
                                   "realtime_uploads.storage.base.StorageBackend.")
    return cls


def get_backend() -> StorageBackend:
    """The configured backend, built on first use. Raises ImproperlyConfigured (see :func:`backend_class`)."""
    path = uploads_settings.BACKEND
    backend = _cache.get(path)
    if backend is None:
        with _lock:
            backend = _cache.get(path)
            if backend is None:
                backend = _cache[path] = backend_class()()
    return backend


def reset_backends() -> None:
    """Forget built backends (the settings changed)."""
    _cache.clear()


def _on_setting_changed(*, setting: str, **kwargs) -> None:
    if setting in ("REALTIME_UPLOADS", "STORAGES", "MEDIA_ROOT", "MEDIA_URL"):
        reset_backends()


setting_changed.connect(_on_setting_changed, dispatch_uid="realtime_uploads.storage")
