"""Snapshot reads for many subscribers at once: one query per event-loop iteration, not one per socket.

Every socket accept and every long-poll starts with the upload's snapshot.
A reconnect storm after a restart is thousands of those within seconds,
and each read alone pays a thread hop, a cursor and a round trip. So
:func:`snapshot` collects the reads asked for in the same event-loop
iteration and runs them as one executor call: one ``WHERE id IN (…)`` query
for the uploads (only the columns the event and the owner check need) and
one for the variants of those already completed. A lone read is a batch of
one, so nothing waits for company.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from realtime_uploads.models import Status, Upload, Variant
from realtime_uploads.runtime.executor import run
from realtime_uploads.state.events import upload_event
from realtime_uploads.state.selectors import EVENT_FIELDS

#: Most uploads read in one query.
BATCH = 500


@dataclass(frozen=True)
class Snapshot:
    """An upload's ``event`` and its ``owner_id`` (for the owner check)."""

    event: dict[str, Any]
    owner_id: Any


def read_snapshots(ids: list[uuid.UUID]) -> dict[uuid.UUID, Snapshot]:
    """The snapshots of the uploads among ``ids`` that exist (two queries at most)."""
    uploads = list(Upload.objects.filter(pk__in=ids).only(*EVENT_FIELDS))
    completed = [u.pk for u in uploads if u.status == Status.COMPLETED]
    variants: dict[uuid.UUID, list] = {}
    if completed:
        for variant in Variant.objects.filter(upload_id__in=completed):
            variants.setdefault(variant.upload_id, []).append(variant)
    return {u.pk: Snapshot(upload_event(u, variants.get(u.pk, ())), u.owner_id) for u in uploads}


class _Batcher:
    """Per event loop: the reads wanted in this iteration, and the task that will run them."""

    def __init__(self) -> None:
        self.wanted: dict[uuid.UUID, asyncio.Future] = {}

    async def read(self, upload_id: uuid.UUID) -> Snapshot | None:
        waiter = self.wanted.get(upload_id)
        if waiter is None:
            waiter = self.wanted[upload_id] = asyncio.get_running_loop().create_future()
            waiter.add_done_callback(lambda done: done.cancelled() or done.exception())
            if len(self.wanted) == 1:
                _tasks.add(task := asyncio.ensure_future(self._run()))
                task.add_done_callback(_tasks.discard)
        return await asyncio.shield(waiter)

    async def _run(self) -> None:
        await asyncio.sleep(0)  # let the rest of this loop iteration ask too
        wanted, self.wanted = self.wanted, {}
        ids = list(wanted)
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            try:
                found = await run(read_snapshots, chunk)
            except Exception as exc:  # Overloaded, or the database failed: every waiter hears it
                for upload_id in chunk:
                    if not wanted[upload_id].done():
                        wanted[upload_id].set_exception(exc)
                continue
            for upload_id in chunk:
                if not wanted[upload_id].done():
                    wanted[upload_id].set_result(found.get(upload_id))


_batchers: dict[asyncio.AbstractEventLoop, _Batcher] = {}
_tasks: set[asyncio.Task] = set()


async def snapshot(upload_id: uuid.UUID) -> Snapshot | None:
    """The upload's snapshot, or None if there is no such upload.

    Raises :class:`~realtime_uploads.exceptions.Overloaded` (and database errors).
    """
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        for stale in [other for other in _batchers if other.is_closed()]:
            del _batchers[stale]
        batcher = _batchers[loop] = _Batcher()
    return await batcher.read(upload_id)
