"""REST endpoints of the contract (README, "API"): presign (one or a batch), history, callback, status.

Each view validates with an input serializer, calls a service or selector,
and answers with the event (:func:`realtime_uploads.events.upload_event`).

Presign is a DRF view, so projects choose who may presign with DRF's
permission classes and throttles. The callback and the status GET are the
push path: plain async Django views over :mod:`realtime_uploads.api.push`,
whose database work runs on the bounded executor of
:mod:`realtime_uploads.database` (no connection held while waiting, 503 with
``Retry-After`` at once when the process is saturated, which the processor's
retry honours). :mod:`realtime_uploads.asgi` serves the same endpoints ahead
of Django's middleware when the project's ``asgi.py`` installs it.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import status as http
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import services
from ..backends import get_backend
from ..conf import uploads_settings
from ..events import upload_event
from ..selectors import parse_upload_id, session_hash, uploads_history
from ..signing import SIGNATURE_HEADER, check_subscribe_token, make_subscribe_token
from . import push, throttling
from .serializers import BatchPresignInputSerializer, PresignInputSerializer, batch_size


def presigned(request, upload) -> dict:
    """The presign answer of one upload: ``{id, status, upload: {url, fields}, subscribe: {url, token},
    status_url, expires_at}`` (README, "API")."""
    scheme = "wss" if request.is_secure() else "ws"
    return {
        "id": str(upload.id),
        "status": upload.status,
        "upload": get_backend().presign(upload, request=request),
        "subscribe": {
            "url": f"{scheme}://{request.get_host()}/ws/uploads/{upload.id}/",
            "token": make_subscribe_token(str(upload.id)),
        },
        "status_url": f"/api/uploads/{upload.id}/",
        "expires_at": upload.expires_at.isoformat().replace("+00:00", "Z"),
    }


class HistoryPagination(CursorPagination):
    """Newest first; ``?cursor=`` from ``next``/``previous``, ``?limit=`` up to ``HISTORY_PAGE_SIZE``."""

    ordering = "-created_at"
    page_size_query_param = "limit"

    def get_page_size(self, request):
        self.max_page_size = uploads_settings.HISTORY_PAGE_SIZE
        self.page_size = uploads_settings.HISTORY_PAGE_SIZE
        return super().get_page_size(request)


class UploadCreateApi(APIView):
    """``POST /api/uploads/``: create an upload and presign its POST; ``GET``: the history (:meth:`get`).

    Permission classes are the project's DRF defaults. Throttles are the
    project's (scope ``realtime_uploads.presign`` for ``ScopedRateThrottle``)
    followed by :class:`~.throttling.PresignRateThrottle` (``PRESIGN_RATE`` /
    ``PRESIGN_USER_RATE``); then at most ``MAX_PENDING_PER_CLIENT`` uploads
    pending per client. Either limit answers 429 with ``Retry-After`` and a
    body naming it (``code`` ``throttled`` / ``too_many_pending``).
    """

    throttle_scope = "realtime_uploads.presign"

    def get_throttles(self):
        if self.request.method == "GET":  # the history is a read, not a presign
            return []
        return [*super().get_throttles(), throttling.PresignRateThrottle()]

    def check_throttles(self, request):
        """Refuse at the first throttle that says no: ours with a body naming the rate, the project's as DRF does."""
        for throttle in self.get_throttles():
            if throttle.allow_request(request, self):
                continue
            if not isinstance(throttle, throttling.PresignRateThrottle):
                self.throttled(request, throttle.wait())
            raise throttling.rate_exceeded(throttle)

    def post(self, request):
        data = PresignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pending = throttling.pending_check(request)
        upload = services.upload_create(**data.validated_data, owner=request.user,
                                        session_hash=session_hash(request, create=True))
        throttling.pending_record(request, pending, upload.id)
        return Response(presigned(request, upload), status=http.HTTP_201_CREATED)

    def get(self, request):
        """``GET /api/uploads/``: the requester's uploads, newest first, a page at a time.

        ``{"next": url|null, "previous": url|null, "results": [item, …]}``, each
        item the event (:func:`~realtime_uploads.events.upload_event`, as the
        socket sends it) plus ``filename``, ``created_at`` and ``token`` (a fresh
        subscribe token, to follow it again). A signed-in user gets the uploads
        they own. An anonymous upload has no owner, so presign records an HMAC
        of the anonymous session's key on it (starting a session if the
        browser had none): the demo page, used without signing in, must find
        its uploads again after a reload, and a session is what Django already
        keeps per browser; a hash, so the table never holds a usable session
        key. Without a session (another browser, cookies cleared, or the
        session rotated at sign-in) the list is empty. 404 for a bad ``cursor``.
        """
        paginator = HistoryPagination()
        page = paginator.paginate_queryset(
            uploads_history(user=request.user, session_hash=session_hash(request, create=False)), request, self)
        return paginator.get_paginated_response([
            {**upload_event(upload), "filename": upload.filename,
             "created_at": upload.created_at.isoformat().replace("+00:00", "Z"),
             "token": make_subscribe_token(str(upload.id))}
            for upload in page
        ])


class UploadBatchCreateApi(UploadCreateApi):
    """``POST /api/uploads/batch/``: presign ``{"files": [...]}`` (1 to ``MAX_BATCH_FILES``) all or nothing.

    201 ``{"uploads": [<the single presign answer>, …]}`` in the order sent;
    400 ``{"files": [{}, {"size": ["…"]}, …]}`` (per item, ``{}`` for a valid
    one) and nothing created if any item is invalid. The throttles count a
    batch of N as N presigns and N pending; one that would pass either limit
    is refused whole with the single presign's 429.
    """

    def get_throttles(self):
        throttles = super().get_throttles()
        for throttle in throttles:
            if isinstance(throttle, throttling.PresignRateThrottle):
                throttle.cost = batch_size(self.request.data)
        return throttles

    http_method_names = ["post", "options"]

    def post(self, request):
        data = BatchPresignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        files = data.validated_data["files"]
        pending = throttling.pending_check(request, len(files))
        uploads = services.uploads_create(files=files, owner=request.user,
                                          session_hash=session_hash(request, create=True))
        throttling.pending_record(request, pending, [upload.id for upload in uploads])
        return Response({"uploads": [presigned(request, upload) for upload in uploads]},
                        status=http.HTTP_201_CREATED)


def _json(answer: push.Answer) -> JsonResponse:
    response = JsonResponse(answer.body, status=answer.status, safe=False)
    for name, value in answer.headers.items():
        response[name] = value
    return response


@csrf_exempt  # authorised by the HMAC signature, not by a session
async def upload_callback(request: HttpRequest, upload_id: str) -> JsonResponse:
    """``POST /api/uploads/<id>/callback/``: the processor reports progress (:func:`push.callback`).

    401 missing/invalid/stale signature (checked before anything else), 404
    unknown id, 400 bad body naming the field, 409 illegal transition or
    another object version, 503 + ``Retry-After`` when saturated, else 200
    with the snapshot (idempotent repeats included).
    """
    if request.method != "POST":
        return _json(push.Answer(405, {"detail": f'Method "{request.method}" not allowed.'}, {"Allow": "POST"}))
    return _json(await push.callback(upload_id, request.body, request.headers.get(SIGNATURE_HEADER)))


async def upload_status(request: HttpRequest, upload_id: str) -> JsonResponse:
    """``GET /api/uploads/<id>/``: the snapshot, or a long-poll with ``since`` and ``wait`` (:func:`push.status`).

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
        return _json(push.Answer(404, {"detail": push.NOT_FOUND}))
    query, invalid = push.status_query(request.GET.dict())
    if invalid is not None:
        return _json(invalid)
    token_ok = check_subscribe_token(query.get("token"), str(uid))
    user = None
    if not token_ok:  # the session is read in this request's thread: give its connection back before waiting
        user = await request.auser()
        await sync_to_async(connections.close_all)()
    return _json(await push.status(upload_id, query, token_ok=token_ok, user=user))
