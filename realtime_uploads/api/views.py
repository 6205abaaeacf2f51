"""REST endpoints of ``../shared/API.md``: presign, callback, status (with long-poll).

Each view validates with an input serializer, calls a service or selector,
and answers with the event (:func:`realtime_uploads.events.upload_event`).
"""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.http import HttpRequest, JsonResponse
from rest_framework import status as http
from rest_framework.exceptions import APIException, NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import services
from ..backends import get_backend
from ..conf import uploads_settings
from ..events import group_name, upload_event
from ..models import Upload
from ..selectors import parse_upload_id, upload_get, upload_is_viewable
from ..signing import SIGNATURE_HEADER, SignatureError, make_subscribe_token, verify_callback
from .serializers import CallbackInputSerializer, PresignInputSerializer, StatusQuerySerializer


class Conflict(APIException):
    status_code = http.HTTP_409_CONFLICT
    default_code = "illegal_transition"


class UploadCreateApi(APIView):
    """``POST /api/uploads/``: create an upload and presign its POST.

    Permission classes and throttles are the project's DRF defaults; the
    throttle scope is ``realtime_uploads.presign`` (for ``ScopedRateThrottle``).
    """

    throttle_scope = "realtime_uploads.presign"

    def post(self, request):
        data = PresignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = services.upload_create(**data.validated_data, owner=request.user)
        scheme = "wss" if request.is_secure() else "ws"
        return Response(
            {
                "id": str(upload.id),
                "status": upload.status,
                "upload": get_backend().presign(upload, request=request),
                "subscribe": {
                    "url": f"{scheme}://{request.get_host()}/ws/uploads/{upload.id}/",
                    "token": make_subscribe_token(str(upload.id)),
                },
                "status_url": f"/api/uploads/{upload.id}/",
                "expires_at": upload.expires_at.isoformat().replace("+00:00", "Z"),
            },
            status=http.HTTP_201_CREATED,
        )


class UploadCallbackApi(APIView):
    """``POST /api/uploads/<id>/callback/``: the processor reports progress.

    The ``X-Upload-Signature`` header is verified before the id or the body is
    looked at, so an unsigned caller learns nothing (401). Then: 404 unknown
    id, 400 bad body, 409 illegal transition, else 200 with the snapshot
    (also for a repeat of the status already reached: nothing is published).
    """

    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()

    def post(self, request, upload_id: str):
        try:
            verify_callback(
                request.body,
                request.headers.get(SIGNATURE_HEADER),
                uploads_settings.CALLBACK_SECRETS,
                tolerance=uploads_settings.CALLBACK_TOLERANCE,
            )
        except SignatureError as exc:
            return Response({"detail": exc.message, "code": exc.code}, status=http.HTTP_401_UNAUTHORIZED)
        uid = parse_upload_id(upload_id)
        if uid is None or not Upload.objects.filter(pk=uid).exists():
            raise NotFound("No upload has that id.")
        body = CallbackInputSerializer(data=request.data, context={"upload_id": uid})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        etag = data.get("object", {}).get("etag", "")
        try:
            if data["status"] == "processing":
                result = services.upload_mark_processing(upload_id=uid, object_etag=etag)
            elif data["status"] == "completed":
                result = services.upload_mark_completed(
                    upload_id=uid, original=data["original"], variants=data["variants"], object_etag=etag
                )
            else:
                result = services.upload_mark_failed(upload_id=uid, error_code=data["error"]["code"],
                                                     error_message=data["error"]["message"], object_etag=etag)
        except services.IllegalTransition as exc:
            raise Conflict(str(exc)) from exc
        except services.UploadNotFound as exc:
            raise NotFound("No upload has that id.") from exc
        return Response(upload_event(result.upload))


def _error(status: int, detail: str, **extra) -> JsonResponse:
    return JsonResponse({"detail": detail, **extra}, status=status)


def _snapshot(upload_id):
    upload = upload_get(upload_id)
    return None if upload is None else upload_event(upload)


async def upload_status(request: HttpRequest, upload_id: str) -> JsonResponse:
    """``GET /api/uploads/<id>/``: the snapshot, or a long-poll with ``since`` and ``wait``.

    Authorised for the owner's session or ``?token=``. With ``since`` (a seq)
    and ``wait`` (seconds, at most ``LONG_POLL_MAX_WAIT``) it answers as soon
    as the upload's seq exceeds ``since``, else after ``wait`` with the
    current snapshot. The wait listens on the upload's channel-layer group,
    so it answers within milliseconds of the change. 400 bad query, 403 not
    authorised, 404 unknown id. (An async Django view: a sync one would
    hold a worker thread for the whole wait.)
    """
    uid = parse_upload_id(upload_id)
    if uid is None:
        return _error(404, "No upload has that id.")
    query = StatusQuerySerializer(data=request.GET.dict())
    if not query.is_valid():
        return JsonResponse(query.errors, status=400)
    params = query.validated_data
    upload = await sync_to_async(upload_get)(uid)
    if upload is None:
        return _error(404, "No upload has that id.")
    user = await request.auser()
    if not await sync_to_async(upload_is_viewable)(upload, user=user, token=params.get("token")):
        return _error(403, "Not authorised to follow this upload.")
    event = await sync_to_async(upload_event)(upload)
    since, wait = params.get("since"), params.get("wait", 0)
    layer = get_channel_layer()
    if since is None or not wait or event["seq"] > since or upload.is_terminal or layer is None:
        return JsonResponse(event)
    channel = await layer.new_channel()
    await layer.group_add(group_name(uid), channel)
    try:
        event = await sync_to_async(_snapshot)(uid)  # a change may have landed before we joined
        if event is not None and event["seq"] <= since:
            try:
                await asyncio.wait_for(layer.receive(channel), timeout=wait)
            except TimeoutError:
                pass
            event = await sync_to_async(_snapshot)(uid)
    finally:
        await layer.group_discard(group_name(uid), channel)
    if event is None:  # deleted while we waited
        return _error(404, "No upload has that id.")
    return JsonResponse(event)

