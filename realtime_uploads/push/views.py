"""The views of ``/api/uploads/<id>/``: the status GET (the work is :func:`.status.status`) and the DELETE."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db import connections, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from realtime_uploads.exceptions import Overloaded, UploadInUse, UploadNotFound
from realtime_uploads.push.longpoll import request_client
from realtime_uploads.push.status import status, status_query
from realtime_uploads.runtime.answers import busy, error, json_response, not_found
from realtime_uploads.state.access import check_subscribe_token, is_owner
from realtime_uploads.state.outbox import run_and_publish
from realtime_uploads.state.selectors import parse_upload_id
from realtime_uploads.state.services import upload_remove

#: ``DELETE`` answered 403 for a session without a valid CSRF token: this ``code``.
CSRF_FAILED = "csrf_failed"


class _CsrfCheck(CsrfViewMiddleware):
    """Django's CSRF check, answering the reason instead of its HTML page (as DRF's ``CSRFCheck`` does)."""

    def _reject(self, request, reason):
        return reason


def csrf_refusal(request: HttpRequest) -> str | None:
    """Why ``request`` fails Django's CSRF check (its ``REASON_*`` text), or None when it passes. Sync: it may
    read the session (``CSRF_USE_SESSIONS``)."""
    check = _CsrfCheck(lambda req: None)
    check.process_request(request)
    return check.process_view(request, None, (), {})


@transaction.non_atomic_requests  # async: ATOMIC_REQUESTS would refuse it (its writes take their own)
@csrf_exempt  # checked below for session users only: a subscribe token is not ambient, so it needs none
async def upload_detail(request: HttpRequest, upload_id: str) -> HttpResponse:
    """``/api/uploads/<id>/``: GET (and HEAD) is :func:`upload_status`, DELETE :func:`upload_delete`; others 405."""
    if request.method == "DELETE":
        return await upload_delete(request, upload_id)
    if request.method not in ("GET", "HEAD"):
        response = json_response(error(405, f"Method {request.method} is not allowed here: GET or DELETE."))
        response["Allow"] = "GET, HEAD, DELETE"
        return response
    return await upload_status(request, upload_id)


async def upload_delete(request: HttpRequest, upload_id: str) -> HttpResponse:
    """``DELETE /api/uploads/<id>/[?token=…]``: cancel an unfinished upload, delete a finished one.

    Authorised for the holder of the upload's subscribe token (``?token=``,
    no CSRF: a token is never sent by the browser on its own) or its owner's
    session (which needs Django's CSRF token, the ``X-CSRFToken`` header: 403
    ``{"detail", "code": "csrf_failed"}`` without it). ``pending`` or
    ``processing``: 200 with the ``cancelled`` event (pushed to followers).
    ``completed``, ``failed``, ``expired``, ``cancelled``: 204, the row deleted,
    its followers sent a last ``deleted`` event and its stored objects deleted
    after commit, off the request (:mod:`realtime_uploads.state.purge`).
    Repeating it is harmless: a cancelled upload is deleted (204), and a valid
    token for an upload already gone answers 204 again; without a token an
    unknown id is 404. 403 not authorised, 503 + ``Retry-After`` when busy.
    """
    uid = parse_upload_id(upload_id)
    if uid is None:
        return json_response(not_found())
    token_ok = check_subscribe_token(request.GET.get("token"), uid)
    user = None
    if not token_ok:
        user = await request.auser()
        if getattr(user, "is_authenticated", False):
            reason = await sync_to_async(csrf_refusal)(request)
            if reason is not None:
                return json_response(error(403, f"CSRF check failed: {reason} Send the csrftoken cookie's value "
                                                "in the X-CSRFToken header, or use the upload's ?token=.",
                                           code=CSRF_FAILED))

    def allowed(upload) -> bool:
        return token_ok or is_owner(user, upload.owner_id)

    try:
        removal = await run_and_publish(upload_remove, upload_id=uid, allowed=allowed)
    except Overloaded as exc:
        return json_response(busy(exc))
    except UploadNotFound:
        return HttpResponse(status=204) if token_ok else json_response(not_found())
    except PermissionError:
        return json_response(error(403, "Not authorised to delete this upload."))
    except UploadInUse:
        return json_response(error(409, "This upload is in use: a saved object points to it. Remove it from that "
                                        "object (or delete the object) first.", code="upload_in_use"))
    if removal.deleted:
        return HttpResponse(status=204)
    return JsonResponse(removal.event, status=200)


async def upload_status(request: HttpRequest, upload_id: str) -> JsonResponse:
    """``GET /api/uploads/<id>/``: the snapshot, or a long-poll with ``since`` and ``wait``.

    Authorised for the owner's session or ``?token=``. With ``since`` (a seq)
    and ``wait`` (seconds, at most ``LONG_POLL_MAX_WAIT``) it answers as soon
    as the upload's seq exceeds ``since`` (or it is terminal), else after
    ``wait`` with the current snapshot. A waiting long-poll holds no database
    connection; past ``LONG_POLL_MAX_WAITERS`` per process, or with the
    database queue full, it is 503 + ``Retry-After``; past
    ``LONG_POLL_MAX_PER_CLIENT`` of this client's, 429 + ``Retry-After``
    (``too_many_long_polls``). 400 bad query, 403 not authorised, 404 unknown id.
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
    return json_response(await status(upload_id, query, token_ok=token_ok, user=user,
                                      client=request_client(request.META)))
