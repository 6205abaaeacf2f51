"""Presign throttles: a rate per client across every process, and a cap on uploads pending per client.

The client is the signed-in user, else the IP address of
:func:`realtime_uploads.clients.client_ip` (``X-Forwarded-For`` believed
only from ``TRUSTED_PROXIES``; an IPv6 client counts as its /64). Counts
live in the Django cache ``THROTTLE_CACHE``: with a shared cache (Redis)
the limits hold across processes and hosts; with a per-process cache
(LocMem) each process counts alone.

- :class:`PresignRateThrottle`: ``PRESIGN_RATE`` per anonymous IP,
  ``PRESIGN_USER_RATE`` per user (``"<n>/<s|sec|m|min|h|hour|d|day>"``, None
  = no limit). A fixed window counted with the cache's atomic ``incr``
  (Redis ``INCR``), so concurrent requests in several processes cannot both
  take the last slot; a burst at a window's edge may see up to twice the
  rate over one window's length. If the cache cannot be reached the request
  is let through and the failure logged: a throttle must not take presign
  down with Redis.
- :class:`PendingUploadsCap`: at most ``MAX_PENDING_PER_CLIENT`` uploads
  ``pending`` per client (None = no cap). A user's are counted in the
  database (``owner``); anonymous uploads record no owner, so each IP's
  recent upload ids are kept in the cache and those still pending counted.

Both refuse with 429 (RFC 6585 section 4), a ``Retry-After`` header and a
body ``{"detail": …, "code": "throttled" | "too_many_pending", "limit": …}``.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from django.core.cache import caches
from rest_framework.exceptions import APIException
from rest_framework.throttling import BaseThrottle

from ..clients import client_ip, parse_networks, rate_key
from ..conf import uploads_settings

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}
#: The settings this module reads (validated by :func:`validate_setting`).
SETTINGS = ("TRUSTED_PROXIES", "PRESIGN_RATE", "PRESIGN_USER_RATE", "MAX_PENDING_PER_CLIENT", "THROTTLE_CACHE")


def parse_rate(rate: str, *, key: str = "PRESIGN_RATE") -> tuple[int, int]:
    """``"60/min"`` → ``(60, 60)``: requests allowed and the window in seconds. Raises ValueError naming ``key``."""
    try:
        count, period = str(rate).split("/")
        number = int(count)
        seconds = PERIODS[period.strip().lower()[:1]]
    except (ValueError, KeyError, IndexError):
        raise ValueError(f"{key} must look like '60/min' (a count per s, min, hour or day), got {rate!r}.") from None
    if number < 1:
        raise ValueError(f"{key} must allow at least one request, got {rate!r}.")
    return number, seconds


def validate_setting(key: str, value: Any) -> Any:
    """Check one of :data:`SETTINGS`; the value to use. Raises ValueError naming the key."""
    if key == "TRUSTED_PROXIES":
        return tuple(str(n) for n in parse_networks(value, key=key))
    if key in ("PRESIGN_RATE", "PRESIGN_USER_RATE"):
        if value is not None:
            parse_rate(value, key=key)
        return value
    if key == "MAX_PENDING_PER_CLIENT":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{key} must be a positive whole number or None, got {value!r}.")
        return value
    if key == "THROTTLE_CACHE":
        from django.conf import settings

        if not isinstance(value, str) or value not in getattr(settings, "CACHES", {"default": None}):
            raise ValueError(f"{key} must name one of the project's CACHES, got {value!r}.")
        return value
    raise KeyError(key)


def client_key(request: Any) -> tuple[str, bool]:
    """``("user:<pk>", True)`` for a signed-in user, else ``("ip:<address or /64>", False)``."""
    user = getattr(request, "user", None)
    if getattr(user, "is_authenticated", False):
        return f"user:{user.pk}", True
    return f"ip:{rate_key(client_ip(request))}", False


def _cache():
    return caches[uploads_settings.THROTTLE_CACHE]


class PresignRateThrottle(BaseThrottle):
    """``PRESIGN_RATE`` per anonymous client IP, ``PRESIGN_USER_RATE`` per user, counted in ``THROTTLE_CACHE``."""

    def __init__(self, cost: int = 1) -> None:
        self.retry_after: float | None = None
        self.rate: str | None = None
        #: How many presigns this request is (a batch of N counts N); refused whole if they do not all fit.
        self.cost = cost

    def allow_request(self, request: Any, view: Any) -> bool:
        key, is_user = client_key(request)
        self.rate = uploads_settings.PRESIGN_USER_RATE if is_user else uploads_settings.PRESIGN_RATE
        if self.rate is None:
            return True
        allowed, window = parse_rate(self.rate)
        now = time.time()
        slot = int(now // window)
        counter = f"realtime_uploads:presign:{key}:{window}:{slot}"
        try:
            cache = _cache()
            cache.add(counter, 0, timeout=window + 1)
            try:
                count = cache.incr(counter, self.cost)
            except ValueError:  # expired between add and incr
                cache.add(counter, 0, timeout=window + 1)
                count = cache.incr(counter, self.cost)
        except Exception:  # noqa: BLE001 - any cache failure: let the request through, loudly
            logger.warning("Presign throttle: the %r cache failed; request allowed.",
                           uploads_settings.THROTTLE_CACHE, exc_info=True)
            return True
        if count <= allowed:
            return True
        self.retry_after = (slot + 1) * window - now
        return False

    def wait(self) -> float | None:
        """Seconds until the window ends."""
        return self.retry_after

    def describe(self) -> str:
        """The limit in words, for the 429 body."""
        allowed, window = parse_rate(self.rate or "1/s")
        unit = next(_UNITS[p] for p, s in PERIODS.items() if s == window)
        return f"{allowed} presigns per {unit}"


class LimitExceeded(APIException):
    """429 with ``Retry-After: <wait>`` (whole seconds, at least 1) and ``body`` as the JSON answer."""

    status_code = 429
    default_code = "throttled"

    def __init__(self, body: dict[str, Any], wait: float | None):
        super().__init__()
        self.detail = body  # as given: DRF would turn the numbers into strings
        self.wait = max(1, math.ceil(wait)) if wait is not None else None


def rate_exceeded(throttle: PresignRateThrottle) -> LimitExceeded:
    """The 429 of :class:`PresignRateThrottle`, naming its rate."""
    wait, limit = throttle.wait(), throttle.describe()
    retry = f" Try again in {max(1, math.ceil(wait))} s." if wait is not None else ""
    return LimitExceeded({"detail": f"Too many presigns: at most {limit} per client.{retry}",
                          "code": "throttled", "limit": limit}, wait)


class TooManyPending(LimitExceeded):
    """429: the client has ``limit`` uploads pending already."""

    def __init__(self, limit: int, wait: float, *, already: int | None = None, asked: int = 1):
        if asked == 1:
            detail = (f"You already have {limit} uploads pending, the most allowed per client "
                      f"(MAX_PENDING_PER_CLIENT = {limit}). Finish one, or wait for one to expire, "
                      "before presigning another.")
        else:
            detail = (f"You have {already} uploads pending and asked for {asked} more; at most {limit} may be "
                      f"pending per client (MAX_PENDING_PER_CLIENT = {limit}). Nothing was presigned: send "
                      "fewer files, or wait for some to finish.")
        super().__init__(wait=wait, body={
            "detail": detail,
            "code": "too_many_pending",
            "limit": limit,
        })


def _pending_ids_key(key: str) -> str:
    return f"realtime_uploads:pending:{key}"


def pending_check(request: Any, count: int = 1) -> list[str]:
    """Refuse (raise :class:`TooManyPending`) if ``count`` more uploads would put the client past
    ``MAX_PENDING_PER_CLIENT`` pending (a batch is refused whole).

    Returns an anonymous client's pending upload ids (for :func:`pending_record`), else ``[]``.
    """
    from ..models import Status, Upload

    limit = uploads_settings.MAX_PENDING_PER_CLIENT
    if limit is None:
        return []
    key, is_user = client_key(request)
    wait = min(60, uploads_settings.PRESIGN_EXPIRES)
    if is_user:
        pending: list[str] = []
        already = Upload.objects.filter(owner_id=request.user.pk, status=Status.PENDING).count()
    else:
        ids = _recent_ids(key)
        pending = [str(pk) for pk in Upload.objects.filter(pk__in=ids, status=Status.PENDING)
                   .values_list("pk", flat=True)] if ids else []
        already = len(pending)
    if already + count > limit:
        raise TooManyPending(limit, wait, already=already, asked=count)
    return pending


def _recent_ids(key: str) -> list[str]:
    try:
        return list(_cache().get(_pending_ids_key(key)) or [])[-1000:]
    except Exception:  # noqa: BLE001 - a cache failure must not take presign down
        logger.warning("Pending cap: the %r cache failed; not counted.", uploads_settings.THROTTLE_CACHE,
                       exc_info=True)
        return []


def pending_record(request: Any, pending: list[str], upload_id: Any) -> None:
    """Remember an anonymous client's new upload (or list of them, a batch) with its others still ``pending``
    (users are counted by owner).

    Kept in ``THROTTLE_CACHE`` for as long as a presign lives plus its grace
    period. Two presigns of one client racing in two processes may each
    write their list, so the count can lag by the few in flight; the rate
    throttle bounds those.
    """
    key, is_user = client_key(request)
    if uploads_settings.MAX_PENDING_PER_CLIENT is None or is_user:
        return
    ttl = uploads_settings.PRESIGN_EXPIRES + uploads_settings.EXPIRE_GRACE
    try:
        new = [str(one) for one in upload_id] if isinstance(upload_id, list) else [str(upload_id)]
        _cache().set(_pending_ids_key(key), [*pending, *new], timeout=math.ceil(ttl))
    except Exception:  # noqa: BLE001
        logger.warning("Pending cap: the %r cache failed; upload not recorded.", uploads_settings.THROTTLE_CACHE,
                       exc_info=True)
