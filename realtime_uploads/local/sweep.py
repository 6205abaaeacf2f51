"""The local backend's sweep: finish what a killed or restarted process left, and enforce deadlines.

With the ``local`` backend the processor runs inside the web process, so a
process that dies (SIGKILL, OOM, a deploy) takes its queued and running jobs
with it. The database and the stored objects survive, and so the sweep, run
when the server starts and then every ``LOCAL_RETRY_AFTER / 3`` seconds,
re-dispatches, at least once:

- uploads ``processing`` whose last change is older than ``LOCAL_RETRY_AFTER``
  seconds and that this process is not working on;
- uploads still ``pending`` whose object has been stored for longer than
  ``LOCAL_RETRY_AFTER`` seconds (the upload arrived, its ``processing``
  report never did).

A repeat is harmless: the ``processing`` report of the same object version
is an idempotent no-op, and the version pin refuses any other. A key offered
before is offered again only after an exponential backoff (another process
sharing the database may still be rendering it). The sweep
also runs :func:`~realtime_uploads.state.expiry.uploads_expire`, so deadlines
(``PROCESSING_TIMEOUT``, expiry) hold without a cron job; an upload that
keeps failing to finish is ended there instead of retried for ever. And it
runs the retention of :mod:`realtime_uploads.state.retention` (what
``manage.py cleanup_uploads`` does, at most :data:`CLEANUP_LIMIT` uploads a
sweep), so nothing is kept for ever there either.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import timedelta
from typing import Any

from django.db import close_old_connections
from django.utils import timezone

from realtime_uploads.state import purge
from realtime_uploads.state.expiry import uploads_expire
from realtime_uploads.state.retention import uploads_cleanup
from realtime_uploads.state.selectors import pending_keys, silent_processing_keys

logger = logging.getLogger(__name__)

#: Most keys one sweep dispatches.
LIMIT = 200
#: Most uploads one sweep deletes by the retention settings.
CLEANUP_LIMIT = 100
#: Most ``pending`` rows one sweep looks at to find them (uploads presigned and never sent are pending too).
SCAN = 5000


def stale_keys(*, storage: Any, retry_after: int, exclude: set[str], now=None, limit: int = LIMIT,
               scan: int = SCAN) -> list[str]:
    """Object keys the sweep should dispatch again (see the module docstring), at most ``limit``.

    Silent ``processing`` uploads first, the longest silent first; then
    ``pending`` ones whose object is stored, oldest first (nearest their
    deadline), looking past up to ``scan`` pending rows whose object never came.
    ``exclude`` (keys this process is working on) is left out in the query, so
    it cannot use up the limit.
    """
    now = now or timezone.now()
    stale = now - timedelta(seconds=retry_after)
    keys = silent_processing_keys(before=stale, exclude=exclude, limit=limit)
    for key in pending_keys(created_before=stale, exclude=exclude, limit=scan):
        if len(keys) >= limit:
            break
        if _stored_before(storage, key, stale):
            keys.append(key)
    return keys


def _stored_before(storage: Any, key: str, moment) -> bool:
    try:
        if not storage.exists(key):
            return False
        return storage.get_modified_time(key) < moment
    except NotImplementedError:  # a storage that cannot date objects: present is enough
        return True
    except Exception as exc:  # cannot tell now: the next sweep asks again
        logger.warning("Sweep: could not check %s (%r).", key, exc)
        return False


class Sweeper:
    """A background thread running :meth:`sweep` at start and every ``retry_after / 3`` seconds."""

    def __init__(self, *, dispatcher: Any, storage: Any, retry_after: int):
        self.dispatcher = dispatcher
        self.storage = storage
        self.retry_after = retry_after
        self.stop = threading.Event()
        #: key -> (times offered, monotonic time before which it is not offered again)
        self._offered: dict[str, tuple[int, float]] = {}
        self._thread = threading.Thread(target=self._loop, name="realtime-uploads-sweep")

    def start(self) -> None:
        """Start the thread (the first sweep runs at once)."""
        self._thread.start()

    def _loop(self) -> None:
        interval = self.retry_after / 3
        while not self.stop.is_set():
            self.sweep()
            # Jitter, so that several processes sharing one database do not sweep in step.
            self.stop.wait(interval * random.uniform(0.8, 1.2))  # noqa: S311

    def sweep(self) -> tuple[int, int]:
        """One pass: end what passed its deadline, re-dispatch what is unfinished; (ended, dispatched)."""
        close_old_connections()
        try:
            ended = uploads_expire(object_exists=self._exists)
            keys = stale_keys(storage=self.storage, retry_after=self.retry_after,
                              exclude=self.dispatcher.in_flight())
            dispatched = self._offer(keys)
            with purge.synchronously():  # this is a background thread already
                removed = uploads_cleanup(limit=CLEANUP_LIMIT, object_exists=self._exists).removed
        except Exception:
            logger.exception("The local processing sweep failed; it will run again.")
            return 0, 0
        finally:
            close_old_connections()
        if ended or dispatched or removed:
            logger.info("Sweep: %d upload(s) ended by their deadline, %d re-dispatched, %d deleted by the "
                        "retention settings.", ended, dispatched, removed)
        return ended, dispatched

    def _exists(self, key: str) -> bool | None:
        """Whether the storage holds ``key``; None when it cannot tell (one bad answer must not end the sweep)."""
        try:
            return self.storage.exists(key)
        except Exception as exc:  # an OSError, a remote storage's client error: "cannot tell"
            logger.warning("Sweep: could not tell whether %s is stored (%r).", key, exc)
            return None

    def _offer(self, keys: list[str]) -> int:
        """Dispatch the keys that are due; how many were taken.

        A key offered before waits ``retry_after * 2**(times offered - 1)``
        seconds before it is offered again: an upload another process is
        still rendering (several processes share one database), or one whose
        report keeps failing, is retried a few times until its deadline
        (``PROCESSING_TIMEOUT``) ends it, not at every sweep.
        """
        now = time.monotonic()
        current = set(keys)
        self._offered = {key: seen for key, seen in self._offered.items() if key in current}
        taken = 0
        for key in keys:
            times, not_before = self._offered.get(key, (0, 0.0))
            if now < not_before or self.dispatcher.submit(key) is None:
                continue
            self._offered[key] = (times + 1, now + self.retry_after * 2**times)
            taken += 1
        return taken

    def close(self, timeout: float | None = None) -> None:
        """Stop the thread (waiting up to ``timeout`` seconds for a sweep under way)."""
        self.stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
