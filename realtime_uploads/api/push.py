"""The push path's endpoints, independent of the transport that carries them.

:func:`callback` (``POST /api/uploads/<id>/callback/``) and :func:`status`
(``GET /api/uploads/<id>/``, with the long-poll) return an :class:`Answer`
(HTTP status, JSON body, extra headers). Django's views
(:mod:`realtime_uploads.api.views`) and the ASGI fast path ahead of Django's
middleware (:mod:`realtime_uploads.asgi`) both answer with them, so the two
cannot drift. Their database work runs on the bounded executor of
:mod:`realtime_uploads.database`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from .. import database, services
from ..conf import uploads_settings
from ..longpoll import TooManyWaiters, read_snapshot, wait_for_change
from ..models import Upload
from ..selectors import is_owner, parse_upload_id
from ..signing import SignatureError, verify_callback
from ..snapshots import snapshot
from .callback_body import BodyError, parse_callback_json
from .serializers import StatusQuerySerializer

NOT_FOUND = "No upload has that id."


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: ``status``, a JSON-able ``body`` and extra ``headers``."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        """The body as compact UTF-8 JSON."""
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")


def _error(status: int, detail: str, **extra: Any) -> Answer:
    return Answer(status, {"detail": detail, **extra})


def busy(exc: database.Overloaded | TooManyWaiters) -> Answer:
    """503 with ``Retry-After`` (RFC 9110 section 10.2.3): the process sheds load instead of queueing."""
    detail = f"The server is busy: {exc} Retry after {exc.retry_after} s."
    return Answer(503, {"detail": detail, "code": "overloaded"}, {"Retry-After": str(exc.retry_after)})


def apply_callback(upload_id: uuid.UUID, data: dict[str, Any]) -> dict[str, Any]:
    """Apply a validated callback body through the services; the event after it. Raises the services' errors."""
    etag = data.get("object", {}).get("etag", "")
    if data["status"] == "processing":
        result = services.upload_mark_processing(upload_id=upload_id, object_etag=etag)
    elif data["status"] == "completed":
        result = services.upload_mark_completed(
            upload_id=upload_id, original=data["original"], variants=data["variants"], object_etag=etag,
            placeholder=data.get("placeholder", ""), color=data.get("color", ""),
        )
    else:
        result = services.upload_mark_failed(upload_id=upload_id, error_code=data["error"]["code"],
                                             error_message=data["error"]["message"], object_etag=etag)
    return result.event


async def callback(upload_id: str, body: bytes, signature: str | None) -> Answer:
    """The processor's report: 401 bad signature (checked first), 404, 400 naming the field, 409, 503, or 200.

    ``body`` is the raw request body, ``signature`` the ``X-Upload-Signature``
    header. 200 carries the snapshot, also for an idempotent repeat (which
    publishes nothing). One executor call: lock, write, commit; the event is
    published on the event loop before this returns.
    """
    try:
        verify_callback(body, signature, uploads_settings.CALLBACK_SECRETS,
                        tolerance=uploads_settings.CALLBACK_TOLERANCE)
    except SignatureError as exc:
        return _error(401, exc.message, code=exc.code)
    uid = parse_upload_id(upload_id)
    if uid is None:
        return _error(404, NOT_FOUND)
    try:
        data = parse_callback_json(body, upload_id=uid, variant_prefix=uploads_settings.VARIANT_PREFIX)
    except BodyError as exc:
        return await _bad_body(uid, exc.errors)
    try:
        event = await database.run(apply_callback, uid, data)
    except database.Overloaded as exc:
        return busy(exc)
    except services.UploadNotFound:
        return _error(404, NOT_FOUND)
    except services.IllegalTransition as exc:
        return _error(409, str(exc), code="illegal_transition")
    return Answer(200, event)


async def _bad_body(uid: uuid.UUID, errors: Any) -> Answer:
    """400 naming what was wrong; but 404 if the upload does not exist (the contract's order)."""
    try:
        exists = await database.run(Upload.objects.filter(pk=uid).exists)
    except database.Overloaded as exc:
        return busy(exc)
    return Answer(400, errors) if exists else _error(404, NOT_FOUND)


def status_query(params: dict[str, str]) -> tuple[dict[str, Any] | None, Answer | None]:
    """The validated status query (``token``, ``since``, ``wait``), or the 400 answer naming the field."""
    query = StatusQuerySerializer(data=params)
    if not query.is_valid():
        return None, Answer(400, query.errors)
    return query.validated_data, None


async def status(upload_id: str, query: dict[str, Any], *, token_ok: bool, user: Any = None) -> Answer:
    """The snapshot, or a long-poll when ``query`` has ``since`` and ``wait``.

    ``query`` is validated (:func:`status_query`); ``token_ok`` says the
    ``token`` authorises this upload; otherwise ``user`` must be its owner
    (403). 404 unknown id; 503 + ``Retry-After`` when too many long-polls
    wait here or the database queue is full.
    """
    uid = parse_upload_id(upload_id)
    if uid is None:
        return _error(404, NOT_FOUND)
    since, wait = query.get("since"), query.get("wait", 0)
    try:
        if not token_ok:
            found = await snapshot(uid)
            if found is None:
                return _error(404, NOT_FOUND)
            if not is_owner(user, found.owner_id):
                return _error(403, "Not authorised to follow this upload.")
        if since is None or not wait:
            event = await read_snapshot(uid)
        else:
            event = await wait_for_change(uid, since=since, wait=wait)
    except (database.Overloaded, TooManyWaiters) as exc:
        return busy(exc)
    if event is None:  # no such upload, or deleted meanwhile
        return _error(404, NOT_FOUND)
    return Answer(200, event)
