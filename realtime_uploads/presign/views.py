"""Presign's REST endpoints (``docs/contract.md``, "REST"): one file, a batch, and the history.

Each view validates with an input serializer, calls
:func:`~realtime_uploads.presign.service.uploads_presign` (or a selector) and
answers. The answer's HTTP URLs come from ``reverse()``, so they follow where
the project mounts the API; the socket's comes from the WebSocket routes
(:func:`realtime_uploads.consumers.routing.socket_path`). They are DRF views, so
projects choose who may presign with DRF's permission classes and throttles.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse
from rest_framework import status as http
from rest_framework.exceptions import Throttled
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from realtime_uploads.conf import uploads_settings
from realtime_uploads.consumers.routing import socket_path
from realtime_uploads.exceptions import LimitExceeded
from realtime_uploads.presign.identity import session_hash
from realtime_uploads.presign.serializers import BatchPresignInputSerializer, PresignInputSerializer, batch_size
from realtime_uploads.presign.service import Presigned, uploads_presign
from realtime_uploads.presign.throttling import PresignRateThrottle
from realtime_uploads.state.access import make_subscribe_token
from realtime_uploads.state.events import upload_event
from realtime_uploads.state.selectors import uploads_history


class _Refused(Throttled):
    """DRF's form of a :class:`~realtime_uploads.exceptions.LimitExceeded`, so the project's exception handler
    sees a ``Throttled``: the limit's body as the ``detail`` (kept as given: DRF would turn the numbers into
    strings) and its ``wait``, from which DRF's handler sets ``Retry-After``."""

    def __init__(self, limit: LimitExceeded):
        super().__init__(wait=limit.wait)
        self.detail = limit.body


def _reverse(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch as exc:
        raise ImproperlyConfigured(f"The presign answer links {name}, which the URLconf does not name: include "
                                   "the app's URLs, path('api/', include('realtime_uploads.urls')).") from exc


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def presign_answer(request, presigned: Presigned) -> dict:
    """The presign answer of one upload: ``{id, status, upload: {url, fields}, subscribe: {url, token},
    status_url, expires_at}`` (``docs/contract.md``, "REST")."""
    upload = presigned.upload
    scheme = "wss" if request.is_secure() else "ws"
    return {
        "id": str(upload.id),
        "status": upload.status,
        "upload": presigned.post,
        "subscribe": {"url": f"{scheme}://{request.get_host()}{socket_path(upload.id)}", "token": presigned.token},
        "status_url": _reverse("realtime_uploads:upload-status", upload.id),
        "expires_at": _iso(upload.expires_at),
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
        return [*super().get_throttles(), PresignRateThrottle(cost=self.cost())]

    def cost(self) -> int:
        """How many presigns this request is, for the rate throttle."""
        return 1

    def check_throttles(self, request):
        """Refuse at the first throttle that says no: ours with a body naming the rate, the project's as DRF does."""
        for throttle in self.get_throttles():
            if throttle.allow_request(request, self):
                continue
            if not isinstance(throttle, PresignRateThrottle):
                self.throttled(request, throttle.wait())
            raise throttle.refusal()

    def handle_exception(self, exc):
        """A :class:`~realtime_uploads.exceptions.LimitExceeded` goes through the project's DRF exception
        handler as a 429 whose body is the limit's and whose ``wait`` gives ``Retry-After``."""
        if isinstance(exc, LimitExceeded):
            exc = _Refused(exc)
        return super().handle_exception(exc)

    def post(self, request):
        data = PresignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        [presigned] = uploads_presign(request=request, files=[data.validated_data])
        return Response(presign_answer(request, presigned), status=http.HTTP_201_CREATED)

    def get(self, request):
        """``GET /api/uploads/``: the requester's uploads, newest first, a page at a time.

        ``{"next": url|null, "previous": url|null, "results": [item, …]}``, each
        item the event (:func:`~realtime_uploads.state.events.upload_event`, as the
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
            {**upload_event(upload), "filename": upload.filename, "created_at": _iso(upload.created_at),
             "token": make_subscribe_token(upload.id)}
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

    http_method_names = ["post", "options"]

    def cost(self) -> int:
        return batch_size(self.request.data)

    def post(self, request):
        data = BatchPresignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        presigned = uploads_presign(request=request, files=data.validated_data["files"])
        return Response({"uploads": [presign_answer(request, one) for one in presigned]},
                        status=http.HTTP_201_CREATED)
