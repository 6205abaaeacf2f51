"""After the channel layer may have missed messages: re-send every local subscriber the truth.

The database is the source of truth and the channel layer only carries news
of it (the same idea as Centrifugo's stream recovery: a client that may have
missed publications re-reads the state instead of trusting the stream). When
a Redis subscriber connection comes back, whatever was published while it
was away is gone, so :func:`on_reconnect` reads the current snapshot of
every upload this process has subscribers for, in batches of
:data:`BATCH` (one query for the uploads, one for their variants), and puts
each on its group's local channels. Consumers forward it only if its ``seq``
is newer than what they sent, so subscribers that missed nothing see
nothing; waiting long-polls wake up and answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.db import DatabaseError

from realtime_uploads.exceptions import Overloaded
from realtime_uploads.runtime.executor import run
from realtime_uploads.state.events import GROUP_PREFIX
from realtime_uploads.state.selectors import parse_upload_id
from realtime_uploads.state.snapshots import read_snapshots

logger = logging.getLogger(__name__)

BATCH = 500
#: Seconds of database errors after which a resync stops retrying.
GIVE_UP_AFTER = 300.0


async def resync(layer: Any) -> int:
    """Deliver a fresh snapshot to every local subscriber of ``layer``; returns how many uploads were read.

    ``layer`` offers ``local_groups()`` and ``deliver_local(group, message)``
    (:class:`realtime_uploads.push.layers.RedisPubSubLoopLayer`). A full database
    queue (:class:`~realtime_uploads.exceptions.Overloaded`) is waited out, not
    given up on; database errors are retried with backoff for
    :data:`GIVE_UP_AFTER` seconds.
    """
    ids = [uid for group in layer.local_groups() if group.startswith(GROUP_PREFIX)
           if (uid := parse_upload_id(group[len(GROUP_PREFIX):])) is not None]
    read = 0
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        events = await _read(batch)
        if events is None:
            logger.error("Gave up re-sending snapshots after %.0f s of database errors; %d upload(s) not re-sent.",
                         GIVE_UP_AFTER, len(ids) - start)
            break
        for event in events.values():
            layer.deliver_local(f"{GROUP_PREFIX}{event['id']}", event)
        read += len(events)
    return read


async def _read(batch: list) -> dict[str, dict[str, Any]] | None:
    """The batch's snapshots; waits out a full queue and retries database errors (a kept connection that
    died in the same outage, a database restarting) with backoff for GIVE_UP_AFTER seconds, then None."""
    loop = asyncio.get_running_loop()
    give_up, delay = loop.time() + GIVE_UP_AFTER, 0.5
    while True:
        try:
            found = await run(read_snapshots, batch)
            return {str(uid): snap.event for uid, snap in found.items()}
        except Overloaded as exc:
            await asyncio.sleep(exc.retry_after)
        except DatabaseError as exc:
            if loop.time() + delay > give_up:
                return None
            logger.warning("Re-sending snapshots: database error (%r); retrying in %.1f s.", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


async def on_reconnect(layer: Any) -> None:
    """The ``on_reconnect`` hook of :class:`realtime_uploads.push.layers.RedisPubSubChannelLayer`."""
    count = await resync(layer)
    logger.info("Channel layer reconnected: re-sent the snapshots of %d upload(s) to local subscribers.", count)
