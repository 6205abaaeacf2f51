"""Deleting an upload deletes its bytes: after commit, off the request, batched, retried.

Whatever deletes ``Upload`` rows (``upload.delete()``, a queryset's
``delete()``, the admin, ``DELETE /api/uploads/<id>/``, ``manage.py
cleanup_uploads``) sends Django's ``post_delete`` for each upload and each of
its variants; the receivers here then, once the transaction commits
(``transaction.on_commit``; nothing happens on a rollback):

- push the upload's last event to its followers, ``status`` ``"deleted"``
  (:func:`~realtime_uploads.state.events.deleted_event`);
- queue the original's key and every variant file's key for deletion from
  the configured backend (:meth:`~realtime_uploads.storage.base.StorageBackend.delete`).

The keys are deleted by one background thread of the process, never in the
request: keys queued close together go out in one call (at most
:data:`BATCH` keys: S3's DeleteObjects limit), tried :data:`ATTEMPTS` times
with a doubling pause (1 s, 2 s, …) when the backend fails. The guarantee is
"at least tried, and loudly when it fails": keys still not deleted after the
last attempt are logged at ERROR with the keys, and so are the keys of a
process that exits (or is killed) with deletions queued. Inside
:func:`synchronously` (the ``cleanup_uploads`` command, the local sweep) the
deletion runs in the committing thread instead, with the same retries, and
the keys given up on are collected for the caller (the command then exits
non-zero naming them).

``QuerySet.update()`` and raw SQL send no signal: rows removed that way keep
their bytes (the S3 lifecycle rules of ``processing/provision.py`` still
expire what they cover).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar

from django.db import transaction
from django.db.models.signals import post_delete
from django.utils import timezone

from realtime_uploads.models import Upload, Variant
from realtime_uploads.state.events import deleted_event
from realtime_uploads.state.outbox import publish
from realtime_uploads.storage import get_backend

logger = logging.getLogger(__name__)

#: Most keys of one backend call (S3 DeleteObjects takes at most 1000).
BATCH = 1000
#: Attempts per batch before its keys are logged as left behind.
ATTEMPTS = 4
#: The first pause between attempts, seconds; doubled after each.
FIRST_PAUSE = 1.0

_queue: deque[str] = deque()
_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_inline: ContextVar[list[str] | None] = ContextVar("realtime_uploads_purge_inline", default=None)


def upload_keys(upload: Upload, variants: Iterable[Variant] = ()) -> list[str]:
    """Every stored key of ``upload``: its original's, then each file of each of ``variants``."""
    return [upload.key, *(f["key"] for variant in variants for f in variant.files())]


def _drain() -> None:
    """Take up to BATCH queued keys and delete them, retrying; run on the purge thread."""
    with _lock:
        batch = [_queue.popleft() for _ in range(min(BATCH, len(_queue)))]
    if batch:  # else an earlier drain took them
        _delete_retrying(batch)


def purge_later(keys: Iterable[str]) -> None:
    """Queue ``keys`` for deletion by the purge thread (at once: call it after commit). Never raises."""
    keys = [key for key in keys if key]
    if not keys:
        return
    left = _inline.get()
    if left is not None:
        left.extend(_delete_retrying(keys))
        return
    global _executor
    with _lock:
        _queue.extend(keys)
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="realtime-uploads-purge")
        executor = _executor
    try:
        executor.submit(_drain)
    except RuntimeError:  # the interpreter is shutting down: say what stays behind
        with _lock:
            left = list(_queue)
            _queue.clear()
        logger.error("Exiting with %d stored object(s) of deleted uploads not deleted: %s", len(left),
                     ", ".join(left))


def wait(timeout: float = 30.0) -> bool:
    """Wait until every queued deletion was tried (its retries included); True if that happened in ``timeout``
    seconds. For tests and for a command that must not exit before its deletions are done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _lock:
            executor = _executor
            idle = not _queue
        if executor is None:
            return True
        done = executor.submit(lambda: None)  # one worker: runs after every drain submitted before it
        try:
            done.result(max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            return False
        if idle:
            return True
    return False


def _delete_retrying(keys: list[str]) -> list[str]:
    """Delete ``keys`` in batches of :data:`BATCH`, each tried :data:`ATTEMPTS` times with the purge thread's
    pauses; the keys still not deleted (logged at ERROR)."""
    left = []
    for start in range(0, len(keys), BATCH):
        batch, pause = keys[start:start + BATCH], FIRST_PAUSE
        for attempt in range(1, ATTEMPTS + 1):
            try:
                get_backend().delete(batch)
                break
            except Exception as exc:  # noqa: BLE001 - retried, then reported with the keys
                if attempt == ATTEMPTS:
                    logger.error("Gave up deleting %d stored object(s) of deleted uploads after %d attempts (%r): %s",
                                 len(batch), ATTEMPTS, exc, ", ".join(batch))
                    left.extend(batch)
                else:
                    time.sleep(pause)
                    pause *= 2
    return left


@contextlib.contextmanager
def synchronously() -> Iterator[list[str]]:
    """Within this block, deletions after commit run in the committing thread (retried as on the purge thread,
    no thread of their own); it yields the list of keys that could not be deleted, filled as they fail (the
    ``cleanup_uploads`` command exits non-zero naming them)."""
    left: list[str] = []
    token = _inline.set(left)
    try:
        yield left
    finally:
        _inline.reset(token)


def _variant_deleted(sender, instance: Variant, using: str, **kwargs) -> None:
    keys = [f["key"] for f in instance.files()]
    transaction.on_commit(lambda: purge_later(keys), using=using)


def _upload_deleted(sender, instance: Upload, using: str, **kwargs) -> None:
    event = deleted_event(instance, at=timezone.now())
    key = instance.key
    # The event first: a follower hears of the deletion before its variants' URLs start to fail.
    transaction.on_commit(lambda: publish(event), using=using, robust=True)
    transaction.on_commit(lambda: purge_later([key]), using=using)


# A receiver for Variant turns the cascade's fast delete into per-row deletes with signals, so each variant's
# files are known without reading them in the Upload's receiver (by then the variant rows are gone).
post_delete.connect(_variant_deleted, sender=Variant, dispatch_uid="realtime_uploads.purge.variant")
post_delete.connect(_upload_deleted, sender=Upload, dispatch_uid="realtime_uploads.purge.upload")
