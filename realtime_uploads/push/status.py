"""``GET /api/uploads/<id>/``: the snapshot, or a long-poll, whatever the transport.

:func:`status` returns an :class:`~realtime_uploads.runtime.answers.Answer`
that Django's view (:mod:`.views`) and the fast path ahead of Django's
middleware (:mod:`realtime_uploads.callback.fast_path`) both send. Its
database reads are batched snapshots (:mod:`realtime_uploads.state.snapshots`)
on the bounded executor; a waiting long-poll holds no database connection
(:mod:`.longpoll`).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from realtime_uploads.conf import uploads_settings
from realtime_uploads.exceptions import LimitExceeded, Overloaded
from realtime_uploads.push.longpoll import read_snapshot, wait_for_change
from realtime_uploads.runtime.answers import Answer, busy, error, not_found
from realtime_uploads.state.access import is_owner
from realtime_uploads.state.selectors import parse_upload_id
from realtime_uploads.state.snapshots import snapshot


class StatusQuerySerializer(serializers.Serializer):
    """Query of the status GET: ``token``, and for a long-poll ``since`` (seq) and ``wait`` (seconds)."""

    token = serializers.CharField(required=False, allow_blank=True)
    since = serializers.IntegerField(required=False, min_value=0)
    wait = serializers.FloatField(required=False, min_value=0)

    def validate_wait(self, value: float) -> float:
        maximum = uploads_settings.LONG_POLL_MAX_WAIT
        if value > maximum:
            raise serializers.ValidationError(f"wait is at most {maximum} seconds, got {value:g}.")
        return value


def status_query(params: dict[str, str]) -> tuple[dict[str, Any] | None, Answer | None]:
    """The validated status query (``token``, ``since``, ``wait``), or the 400 answer naming the field."""
    query = StatusQuerySerializer(data=params)
    if not query.is_valid():
        return None, Answer(400, query.errors)
    return query.validated_data, None


async def status(upload_id: str, query: dict[str, Any], *, token_ok: bool, user: Any = None,
                 client: str | None = None) -> Answer:
    """The snapshot, or a long-poll when ``query`` has ``since`` and ``wait``.

    ``query`` is validated (:func:`status_query`); ``token_ok`` says the
    ``token`` authorises this upload; otherwise ``user`` must be its owner
    (403). 404 unknown id; 429 + ``Retry-After`` (``too_many_long_polls``)
    when ``client`` already has ``LONG_POLL_MAX_PER_CLIENT`` long-polls
    waiting here; 503 + ``Retry-After`` when too many long-polls wait here or
    the database queue is full.
    """
    uid = parse_upload_id(upload_id)
    if uid is None:
        return not_found()
    since, wait = query.get("since"), query.get("wait", 0)
    try:
        if not token_ok:
            found = await snapshot(uid)
            if found is None:
                return not_found()
            if not is_owner(user, found.owner_id):
                return error(403, "Not authorised to follow this upload.")
        if since is None or not wait:
            event = await read_snapshot(uid)
        else:
            event = await wait_for_change(uid, since=since, wait=wait, client=client)
    except Overloaded as exc:  # the database queue, or too many long-polls waiting here
        return busy(exc)
    except LimitExceeded as exc:  # too many of this client's long-polls waiting here
        return Answer(exc.status, exc.body, {"Retry-After": str(exc.wait)})
    if event is None:  # no such upload, or deleted meanwhile
        return not_found()
    return Answer(200, event)
