"""The status GET's Django view: ``GET /api/uploads/<id>/`` (the work is :func:`.status.status`)."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db import connections
from django.http import HttpRequest, JsonResponse

from realtime_uploads.push.status import status, status_query
from realtime_uploads.runtime.answers import json_response, not_found
from realtime_uploads.state.access import check_subscribe_token
from realtime_uploads.state.selectors import parse_upload_id


async def upload_status(request: HttpRequest, upload_id: str) -> JsonResponse:
    """``GET /api/uploads/<id>/``: the snapshot, or a long-poll with ``since`` and ``wait``.

    Authorised for the owner's session or ``?token=``. With ``since`` (a seq)
    and ``wait`` (seconds, at most ``LONG_POLL_MAX_WAIT``) it answers as soon
    as the upload's seq exceeds ``since`` (or it is terminal), else after
    ``wait`` with the current snapshot. A waiting long-poll holds no database
    connection; past ``LONG_POLL_MAX_WAITERS`` per process, or with the
    database queue full, it is 503 + ``Retry-After``. 400 bad query, 403 not
    authorised, 404 unknown id.
    """
    uid = parse_upload_id(upload_id)
    if uid is None:
        return json_response(not_found())
    query, invalid = status_query(request.GET.dict())
    if invalid is not None:
        return json_response(invalid)
    token_ok = check_subscribe_token(query.get("token"), uid)
    user = None
    if not token_ok:  # the session is read in this request's thread: give its connection back before waiting
        user = await request.auser()
        await sync_to_async(connections.close_all)()
    return json_response(await status(upload_id, query, token_ok=token_ok, user=user))
