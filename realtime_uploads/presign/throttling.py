"""Presign limits: a rate per client across every process, and a cap on uploads pending per client.

The client is the signed-in user, else the IP address of
:func:`realtime_uploads.presign.identity.client_ip` (``X-Forwarded-For``
believed only from ``TRUSTED_PROXIES``; an IPv6 client counts as its /64).
Counts live in the Django cache ``THROTTLE_CACHE``: with a shared cache
(Redis) the limits hold across processes and hosts; with a per-process cache
(LocMem) each process counts alone.

- :class:`PresignRateThrottle`: ``PRESIGN_RATE`` per anonymous IP,
  ``PRESIGN_USER_RATE`` per user (DRF's rate syntax, parsed once by
  :func:`realtime_uploads.core.setting_kinds.parse_rate`; None = no limit).
  DRF's ``SimpleRateThrottle``, with the rate chosen per request (user or
  address) and counted differently (:meth:`~PresignRateThrottle.allow_request`):
  a fixed window counted with the cache's atomic ``incr`` (Redis ``INCR``), so
  concurrent requests in several processes cannot both take the last slot,
  where DRF's keeps a list of timestamps that two processes overwrite. A
  burst at a window's edge may see up to twice the rate over one window's
  length. If the cache cannot be reached the request is let through and the
  failure logged: a throttle must not take presign down with Redis.
- :class:`PendingCap`: at most ``MAX_PENDING_PER_CLIENT`` uploads ``pending``
  per client (None = no cap), checked by the presign service before it
  creates anything. A user's are counted in the database (by owner);
  anonymous uploads record no owner, so each IP's recent upload ids are kept
  in the cache and those still pending counted.

Both refuse with :class:`~realtime_uploads.exceptions.LimitExceeded`: 429
(RFC 6585 section 4), a ``Retry-After`` header and a body
``{"detail": …, "code": "throttled" | "too_many_pending", "limit": …}``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator
from typing import Any

from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle

from realtime_uploads.conf import uploads_settings
from realtime_uploads.core.setting_kinds import PERIODS, parse_rate
from realtime_uploads.exceptions import LimitExceeded, TooManyPending
from realtime_uploads.presign.identity import client_key
from realtime_uploads.state.selectors import pending_among, pending_count

logger = logging.getLogger(__name__)

_UNITS = {seconds: unit for unit, seconds in zip(("second", "minute", "hour", "day"), PERIODS.values(), strict=True)}


def _cache():
    return caches[uploads_settings.THROTTLE_CACHE]


class PresignRateThrottle(SimpleRateThrottle):
    """``PRESIGN_RATE`` per anonymous client IP, ``PRESIGN_USER_RATE`` per user, counted in ``THROTTLE_CACHE``.

    ``cost``: how many presigns this request is (a batch of N counts N); it is
    refused whole if they do not all fit.
    """

    cache_format = "realtime_uploads:presign:%(ident)s:%(window)s:%(slot)s"

    def __init__(self, cost: int = 1) -> None:  # no super().__init__(): the rate depends on who asks
        self.cost = cost
        self.rate: str | None = None
        self.num_requests: int | None = None
        self.duration: int | None = None
        self.retry_after: float | None = None

    def get_rate(self) -> str | None:
        """The rate is chosen per request (:meth:`allow_request`), not per scope."""
        return self.rate

    def parse_rate(self, rate: str | None) -> tuple[int | None, int | None]:
        """``(requests, window seconds)`` of the setting's rate (validated when the settings were loaded)."""
        return (None, None) if rate is None else parse_rate(rate)

    def allow_request(self, request: Any, view: Any) -> bool:
        """Count this request (``cost`` of them) in the client's current window; False once past the rate."""
        key, is_user = client_key(request)
        self.rate = uploads_settings.PRESIGN_USER_RATE if is_user else uploads_settings.PRESIGN_RATE
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.rate is None:
            return True
        now = time.time()
        slot = int(now // self.duration)
        counter = self.cache_format % {"ident": key, "window": self.duration, "slot": slot}
        try:
            cache = _cache()
            cache.add(counter, 0, timeout=self.duration + 1)
            try:
                count = cache.incr(counter, self.cost)
            except ValueError:  # expired between add and incr
                cache.add(counter, 0, timeout=self.duration + 1)
                count = cache.incr(counter, self.cost)
        except Exception:  # noqa: BLE001 - any cache failure: let the request through, loudly
            logger.warning("Presign throttle: the %r cache failed; request allowed.",
                           uploads_settings.THROTTLE_CACHE, exc_info=True)
            return True
        if count <= self.num_requests:
            return True
        self.retry_after = (slot + 1) * self.duration - now
        return False

    def wait(self) -> float | None:
        """Seconds until the window ends."""
        return self.retry_after

    def describe(self) -> str:
        """The limit in words, for the 429 body ("60 presigns per minute")."""
        return f"{self.num_requests} presigns per {_UNITS[self.duration]}"

    def refusal(self) -> LimitExceeded:
        """The 429 of this throttle, naming its rate."""
        wait, limit = self.wait(), self.describe()
        retry = f" Try again in {max(1, math.ceil(wait))} s." if wait is not None else ""
        return LimitExceeded({"detail": f"Too many presigns: at most {limit} per client.{retry}",
                              "code": "throttled", "limit": limit}, wait)


def _pending_ids_key(key: str) -> str:
    return f"realtime_uploads:pending:{key}"


#: How long one client's presign holds its pending-cap lock at most, seconds (the cache expires it after).
LOCK_SECONDS = 10
#: How long a presign waits for the lock of its client's other presign, seconds; then it goes on uncounted.
LOCK_WAIT = 5.0


class PendingCap:
    """``MAX_PENDING_PER_CLIENT`` for one request: :meth:`check` before creating uploads, :meth:`record` after,
    both inside :meth:`held`, so two presigns of one client cannot both take the last slots.
    """

    def __init__(self, request: Any):
        self.key, self.is_user = client_key(request)
        self.user_id = getattr(getattr(request, "user", None), "pk", None)
        self.limit = uploads_settings.MAX_PENDING_PER_CLIENT
        self.pending: list[str] = []

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold this client's pending-cap lock (``cache.add``: Redis ``SET NX``, atomic across processes)
        around the check, the new rows and :meth:`record`. Without it, presigns of one client in flight at
        once each counted the others' uploads as not there yet: 26 concurrent anonymous presigns all got
        201 under a cap of 20. A presign waits at most :data:`LOCK_WAIT` seconds for its client's other one
        (then goes on uncounted, logged: the rate throttle still bounds it); the lock expires by itself after
        :data:`LOCK_SECONDS` should its holder die. No cap, or a cache that fails: no lock."""
        if self.limit is None:
            yield
            return
        lock, deadline, pause = f"realtime_uploads:pending-lock:{self.key}", time.monotonic() + LOCK_WAIT, 0.005
        taken = False
        try:
            while not (taken := _cache().add(lock, 1, timeout=LOCK_SECONDS)):
                if time.monotonic() >= deadline:
                    logger.warning("Pending cap: %s's other presign held the lock for %s s; not counted.",
                                   self.key, LOCK_WAIT)
                    break
                time.sleep(pause)
                pause = min(pause * 2, 0.1)
        except Exception:  # noqa: BLE001 - a cache failure must not take presign down
            logger.warning("Pending cap: the %r cache failed; not locked.", uploads_settings.THROTTLE_CACHE,
                           exc_info=True)
        try:
            yield
        finally:
            if taken:
                with contextlib.suppress(Exception):
                    _cache().delete(lock)

    def check(self, count: int = 1) -> None:
        """Raise :class:`~realtime_uploads.exceptions.TooManyPending` if ``count`` more uploads would put the
        client past the cap (a batch is refused whole); else remember an anonymous client's pending ids."""
        if self.limit is None:
            return
        if self.is_user:
            already = pending_count(owner_id=self.user_id)
        else:
            self.pending = pending_among(self._recent_ids())
            already = len(self.pending)
        if already + count > self.limit:
            raise TooManyPending(self.limit, min(60, uploads_settings.PRESIGN_EXPIRES), already=already, asked=count)

    def _recent_ids(self) -> list[str]:
        try:
            return list(_cache().get(_pending_ids_key(self.key)) or [])[-1000:]
        except Exception:  # noqa: BLE001 - a cache failure must not take presign down
            logger.warning("Pending cap: the %r cache failed; not counted.", uploads_settings.THROTTLE_CACHE,
                           exc_info=True)
            return []

    def record(self, upload_ids: list[Any]) -> None:
        """Remember an anonymous client's new uploads with its others still ``pending`` (users are counted
        by owner), for as long as a presign lives plus its grace period.

        Called inside :meth:`held`, so no other presign of this client reads
        the list between the check and this write.
        """
        if self.limit is None or self.is_user:
            return
        ttl = uploads_settings.PRESIGN_EXPIRES + uploads_settings.EXPIRE_GRACE
        try:
            _cache().set(_pending_ids_key(self.key), [*self.pending, *map(str, upload_ids)], timeout=math.ceil(ttl))
        except Exception:  # noqa: BLE001
            logger.warning("Pending cap: the %r cache failed; upload not recorded.", uploads_settings.THROTTLE_CACHE,
                           exc_info=True)
