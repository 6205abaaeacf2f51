"""Presign's REST endpoints (``docs/contract.md``, "REST"): one file, a batch, and the history.

Each view validates with an input serializer, calls
:func:`~realtime_uploads.presign.service.uploads_presign` (or a selector) and
answers. The answer's HTTP URLs come from ``reverse()``, so they follow where
the project mounts the API; the socket's comes from the WebSocket routes
(:func:`realtime_uploads.consumers.routing.socket_path`). They are DRF views:
who may use them is ``PERMISSION_CLASSES`` (signed-in users by default), the
body is JSON only (:class:`JsonBodyParser`: a cross-site page cannot send it
without a CORS preflight), and the throttles count a request before its body
is read.
"""

from __future__ import annotations

import logging
from datetime import UTC

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string
from django.utils.timezone import is_aware
from rest_framework import status as http
from rest_framework.exceptions import (
    APIException,
    NotAuthenticated,
    NotFound,
    ParseError,
    Throttled,
    UnsupportedMediaType,
)
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from realtime_uploads.conf import uploads_settings
from realtime_uploads.consumers.routing import socket_path
from realtime_uploads.exceptions import LimitExceeded, StorageError
from realtime_uploads.presign.identity import session_hash
from realtime_uploads.presign.serializers import BatchPresignInputSerializer, PresignInputSerializer, batch_size
from realtime_uploads.presign.service import Presigned, uploads_presign
from realtime_uploads.presign.throttling import PresignRateThrottle
from realtime_uploads.state.access import make_subscribe_token
from realtime_uploads.state.events import upload_event
from realtime_uploads.state.selectors import uploads_history

logger = logging.getLogger(__name__)


class _Refused(Throttled):
    """DRF's form of a :class:`~realtime_uploads.exceptions.LimitExceeded`, so the project's exception handler
    sees a ``Throttled``: the limit's body as the ``detail`` (kept as given: DRF would turn the numbers into
    strings) and its ``wait``, from which DRF's handler sets ``Retry-After``."""

    def __init__(self, limit: LimitExceeded):
        super().__init__(wait=limit.wait)
        self.detail = limit.body


class JsonBodyParser(JSONParser):
    """DRF's JSON parser whose every failure is a 400 naming the body: also JSON nested deeper than Python's
    parser goes (``RecursionError``), which DRF's would let through as a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except ParseError as exc:
            raise ParseError(f"The request body is not valid JSON ({exc.detail}).") from exc
        except RecursionError as exc:
            raise ParseError("The request body is not valid JSON: it is nested too deeply.") from exc


def permission_classes() -> list[type]:
    """The classes of ``PERMISSION_CLASSES``, imported. Raises ``ImproperlyConfigured`` naming the setting for
    one that does not import (check ``realtime_uploads.E031`` says so at start-up)."""
    classes = []
    for path in uploads_settings.PERMISSION_CLASSES:
        try:
            classes.append(import_string(path))
        except ImportError as exc:
            raise ImproperlyConfigured(f"REALTIME_UPLOADS['PERMISSION_CLASSES'] names {path!r}, which does not "
                                       f"import: {exc}") from exc
    return classes


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


class _StorageUnavailable(APIException):
    """503 ``{"detail", "code": "storage_unavailable"}``: the storage backend could not presign (its
    configuration, logged at ERROR; nothing was created)."""

    status_code = 503

    def __init__(self):
        super().__init__({"detail": "Uploads are unavailable: the storage service could not sign the upload. "
                                    "Try again later.", "code": "storage_unavailable"})


class HistoryPagination(CursorPagination):
    """Newest first; ``?cursor=`` from ``next``/``previous``, ``?limit=`` up to ``HISTORY_PAGE_SIZE``."""

    ordering = "-created_at"
    page_size_query_param = "limit"

    def get_page_size(self, request):
        self.max_page_size = uploads_settings.HISTORY_PAGE_SIZE
        self.page_size = uploads_settings.HISTORY_PAGE_SIZE
        return super().get_page_size(request)

    def decode_cursor(self, request):
        """DRF's cursor, whose position must also be a timestamp (``created_at``): a tampered one (``p=not-a-date``)
        is the 404 of any bad cursor (``docs/contract.md``), not a 500 when the database compares it."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                position = parse_datetime(cursor.position)
                if position is not None and is_aware(position) != settings.USE_TZ:
                    position = None  # the server writes aware ones under USE_TZ, naive ones without
                elif position is not None and is_aware(position):  # compared in UTC: year 1 at +05:00 overflows
                    position = position.astimezone(UTC)
            except (ValueError, OverflowError):  # well formed, out of range: "2026-13-45 25:00"
                position = None
            if position is None:
                raise NotFound(self.invalid_cursor_message)
            # The database gets the parsed value, normalised, never the client's text: PostgreSQL refuses
            # offsets Python accepts ("-23:59"), and that was a 500.
            cursor = cursor._replace(position=position.isoformat())
        return cursor


class UploadCreateApi(APIView):
    """``POST /api/uploads/``: create an upload and presign its POST; ``GET``: the history (:meth:`get`).

    Who may: ``PERMISSION_CLASSES`` (not the project's DRF defaults); a
    refusal is 403 (401 where the first authentication class asks for
    credentials) whose ``detail`` names the setting. The body must be
    ``application/json`` (else 415; JSON that does not parse, however deep,
    is a 400 naming the body). Throttles are the project's (scope
    ``realtime_uploads.presign`` for ``ScopedRateThrottle``) followed by
    :class:`~.throttling.PresignRateThrottle` (``PRESIGN_RATE`` /
    ``PRESIGN_USER_RATE``), counted before the body is read; then at most
    ``MAX_PENDING_PER_CLIENT`` uploads pending per client. Either limit
    answers 429 with ``Retry-After`` and a body naming it (``code``
    ``throttled`` / ``too_many_pending``).
    """

    throttle_scope = "realtime_uploads.presign"
    parser_classes = [JsonBodyParser]

    def get_permissions(self):
        return [permission() for permission in permission_classes()]

    def permission_denied(self, request, message=None, code=None):
        """DRF's refusal (401/403), its ``detail`` also naming the setting that decides."""
        if request.authenticators and not request.successful_authenticator:
            raise NotAuthenticated(f"Authentication credentials were not provided: REALTIME_UPLOADS"
                                   f"['PERMISSION_CLASSES'] ({', '.join(uploads_settings.PERMISSION_CLASSES)}) "
                                   "refused this anonymous request.")
        super().permission_denied(request, message=message, code=code)

    def get_throttles(self):
        if self.request.method == "GET":  # the history is a read, not a presign
            return []
        return [*super().get_throttles(), PresignRateThrottle(cost=self.cost())]

    def cost(self) -> int:
        """How many presigns the throttles count before the body is read: one (:meth:`charge` adds a batch's
        others once it is parsed), so bodies that never parse are counted too."""
        return 1

    def charge(self, more: int) -> None:
        """Count ``more`` presigns of this request against :class:`~.throttling.PresignRateThrottle`, in the
        window it was counted in; raises :class:`~realtime_uploads.exceptions.LimitExceeded` (429) past it."""
        if more > 0:
            throttle = PresignRateThrottle(cost=more)
            if not throttle.allow_request(self.request, self):
                raise throttle.refusal()

    def check_throttles(self, request):
        """Refuse at the first throttle that says no: ours with a body naming the rate, the project's as DRF does.

        A POST whose ``Content-Type`` is not JSON is refused (415) first, uncounted: the requests a
        third-party page can send with a visitor's address (no CORS preflight) cannot use up their rate.
        """
        if request.method == "POST" and self.get_content_negotiator().select_parser(
                request, self.get_parsers()) is None:
            raise UnsupportedMediaType(request.content_type)
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
        elif isinstance(exc, StorageError):  # the backend could not presign (S3 without credentials): say so
            logger.error("Presign failed: %s", exc)
            exc = _StorageUnavailable()
        elif isinstance(exc, UnsupportedMediaType):
            given = f"{self.request.content_type!r}" if self.request.content_type else "none"
            exc = UnsupportedMediaType(self.request.content_type, detail=(
                f"Unsupported media type {given}: send the body as application/json."))
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
    batch of N as N presigns (one before the body is read, the others once it
    is parsed) and N pending; one that would pass either limit is refused
    whole with the single presign's 429.
    """

    http_method_names = ["post", "options"]

    def post(self, request):
        self.charge(batch_size(request.data) - 1)  # the first was counted before the body was read
        data = BatchPresignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        presigned = uploads_presign(request=request, files=data.validated_data["files"])
        return Response({"uploads": [presign_answer(request, one) for one in presigned]},
                        status=http.HTTP_201_CREATED)
