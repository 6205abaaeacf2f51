"""The callback's Django view: ``POST /api/uploads/<id>/callback/`` (the work is :func:`.endpoint.callback`)."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from realtime_uploads.callback.endpoint import callback
from realtime_uploads.core.signing import SIGNATURE_HEADER
from realtime_uploads.runtime.answers import Answer, json_response


@transaction.non_atomic_requests  # async: ATOMIC_REQUESTS would refuse it (its writes take their own)
@csrf_exempt  # authorised by the HMAC signature, not by a session
async def upload_callback(request: HttpRequest, upload_id: str) -> JsonResponse:
    """``POST /api/uploads/<id>/callback/``: the processor reports progress (:func:`.endpoint.callback`).

    401 missing/invalid/stale signature (checked before anything else), 404
    unknown id, 400 bad body naming the field, 409 illegal transition or
    another object version, 503 + ``Retry-After`` when saturated, else 200
    with the snapshot (idempotent repeats included).
    """
    if request.method != "POST":
        return json_response(Answer(405, {"detail": f'Method "{request.method}" not allowed.'}, {"Allow": "POST"}))
    return json_response(await callback(upload_id, request.body, request.headers.get(SIGNATURE_HEADER)))
