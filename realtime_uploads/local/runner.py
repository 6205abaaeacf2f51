"""The local backend's processor inside the web process: the dispatcher and its sweep, started and stopped together.

With the ``local`` backend an object stored by :mod:`.post_object` is handed to
:class:`~realtime_uploads.processing.dispatcher.LocalDispatcher`, a small
thread pool that runs the same pipeline a Lambda runs and reports through the
same signed HTTP callback. :func:`start` (the project's ``asgi.py`` calls it
once) starts it at once, with the sweep of :mod:`.sweep`, so work a killed
process left unfinished is done after a restart, and hooks both into the
process's shutdown (:mod:`realtime_uploads.runtime.lifecycle`): no new work
and no callback once shutdown begins, running jobs given
``LOCAL_SHUTDOWN_TIMEOUT`` seconds. With any other backend :func:`start` does
nothing.
"""

from __future__ import annotations

import threading

from django.core.signals import setting_changed

from realtime_uploads.conf import uploads_settings
from realtime_uploads.core.errors import ConfigError
from realtime_uploads.local.sweep import Sweeper
from realtime_uploads.processing.config import PROCESSOR_DEFAULTS, build_config
from realtime_uploads.processing.dispatcher import LocalDispatcher
from realtime_uploads.processing.pipeline import ProcessorConfig
from realtime_uploads.runtime import lifecycle
from realtime_uploads.storage import get_backend
from realtime_uploads.storage.local import LocalBackend


def processor_config() -> ProcessorConfig:
    """The processor's configuration, from ``REALTIME_UPLOADS``. Raises ConfigError without a callback secret."""
    if not uploads_settings.CALLBACK_SECRETS:
        raise ConfigError("REALTIME_UPLOADS['CALLBACK_SECRETS'] is empty; the processor cannot sign.")
    values = {key: getattr(uploads_settings, key) for key in PROCESSOR_DEFAULTS}
    # The local processor reads Django's default storage, whatever BUCKET says.
    return build_config({**values, "BUCKET": None}, secret=uploads_settings.CALLBACK_SECRETS[0])


class LocalRunner:
    """The in-process processor of one :class:`~realtime_uploads.storage.local.LocalBackend`, and its sweep."""

    def __init__(self, backend: LocalBackend):
        self.backend = backend
        self._lock = threading.Lock()
        self._dispatcher: LocalDispatcher | None = None
        self._sweeper: Sweeper | None = None
        self._closed = False

    @property
    def dispatcher(self) -> LocalDispatcher:
        """The thread pool that processes stored objects, created on first use."""
        with self._lock:
            if self._dispatcher is None:
                self._dispatcher = LocalDispatcher(
                    store=self.backend.object_store(),
                    config=processor_config(),
                    threads=uploads_settings.LOCAL_PROCESSOR_THREADS,
                    max_queued=uploads_settings.LOCAL_MAX_QUEUED,
                )
                if self._closed:
                    self._dispatcher.stop()
            return self._dispatcher

    def submit(self, key: str) -> bool:
        """Queue the object stored at ``key`` for processing, as S3's ObjectCreated event would; False when the
        queue is full or shutdown has begun (the object stays stored and the upload pending, so the sweep, here
        or in the next process, dispatches it later)."""
        return self.dispatcher.submit(key) is not None

    def start(self) -> None:
        """Start the processor and (with ``LOCAL_SWEEP``) its sweep, once; both stop when the process does."""
        dispatcher = self.dispatcher
        with self._lock:
            if self._sweeper is not None or self._closed or not uploads_settings.LOCAL_SWEEP:
                return
            self._sweeper = Sweeper(dispatcher=dispatcher, storage=self.backend.storage,
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


_runner: LocalRunner | None = None
_runner_lock = threading.Lock()


def get_runner() -> LocalRunner | None:
    """The runner of the configured backend when it is a :class:`LocalBackend` (a new one when the settings
    give a new backend); None for any other backend."""
    global _runner
    backend = get_backend()
    if not isinstance(backend, LocalBackend):
        return None
    with _runner_lock:
        old = runner = _runner
        if runner is None or runner.backend is not backend:
            runner = _runner = LocalRunner(backend)
    if old is not None and old is not runner:
        old.stop()  # a backend built anew: its predecessor's processor takes no more work
    return runner


def start() -> LocalRunner | None:
    """Start the local backend's processor and sweep now; call it once from the server's ``asgi.py``.

    Uploads a previous process left unfinished are then processed without
    waiting for the next upload. Returns the runner, or None (and does
    nothing) when the backend is not the local one.
    """
    runner = get_runner()
    if runner is not None:
        runner.start()
    return runner


def _on_setting_changed(*, setting: str, **kwargs) -> None:
    global _runner
    if setting in ("REALTIME_UPLOADS", "STORAGES", "MEDIA_ROOT", "MEDIA_URL"):
        with _runner_lock:
            runner, _runner = _runner, None
        if runner is not None:
            runner.stop()


setting_changed.connect(_on_setting_changed, dispatch_uid="realtime_uploads.local.runner")
