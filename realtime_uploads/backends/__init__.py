"""Storage backends: where the browser's presigned POST goes and where variants are read from.

``get_backend()`` returns the backend named by ``REALTIME_UPLOADS["BACKEND"]``,
built once per settings (a new instance after ``override_settings``).
"""

from __future__ import annotations

from .base import StorageBackend

_cache: dict[str, StorageBackend] = {}


def get_backend() -> StorageBackend:
    """The configured :class:`~realtime_uploads.backends.base.StorageBackend`."""
    from ..conf import uploads_settings

    name = uploads_settings.BACKEND
    backend = _cache.get(name)
    if backend is None:
        if name == "s3":
            from .s3 import S3Backend as backend_class
        else:
            from .local import LocalBackend as backend_class
        backend = _cache[name] = backend_class()
    return backend


def start_backend() -> StorageBackend:
    """Start the configured backend's background work; call it once from the server's ``asgi.py``.

    With the ``local`` backend this starts the in-process processor and its
    sweep at once, so uploads a previous process left unfinished are
    processed without waiting for the next upload. A no-op for ``s3``.
    """
    backend = get_backend()
    backend.start()
    return backend


def reset_backends() -> None:
    """Drop built backends (settings changed), stopping their background work."""
    for backend in _cache.values():
        backend.stop()
    _cache.clear()


def _on_setting_changed(*, setting: str, **kwargs) -> None:
    if setting in ("REALTIME_UPLOADS", "STORAGES", "MEDIA_ROOT", "MEDIA_URL"):
        reset_backends()


def _connect() -> None:
    from django.core.signals import setting_changed

    setting_changed.connect(_on_setting_changed, dispatch_uid="realtime_uploads.backends")


_connect()
