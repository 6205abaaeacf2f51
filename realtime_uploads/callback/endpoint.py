"""``POST /api/uploads/<id>/callback/``: the processor's report, checked and applied, whatever the transport.

:func:`callback` returns an :class:`~realtime_uploads.runtime.answers.Answer`
that Django's view (:mod:`.views`) and the fast path ahead of Django's
middleware (:mod:`.fast_path`) both send. The order of the checks is the
contract's: the signature first (nothing else is said to a caller without
it), then the id, then the body, then the state change, in one call on the
database executor; the event of a change goes out on the event loop before
the answer does.
"""

from __future__ import annotations

import uuid
from typing import Any

from realtime_uploads.callback.body import parse_callback_json
from realtime_uploads.conf import uploads_settings
from realtime_uploads.core.signing import verify_callback
from realtime_uploads.exceptions import (
    BodyError,
    IllegalTransition,
    Overloaded,
    SignatureError,
    UploadNotFound,
)
from realtime_uploads.models import Status
from realtime_uploads.runtime.answers import Answer, busy, error, not_found
from realtime_uploads.runtime.executor import run
from realtime_uploads.state import outbox, services
from realtime_uploads.state.purge import purge_later
from realtime_uploads.state.selectors import parse_upload_id, upload_exists, upload_key

#: The 409's ``code`` for a report about an upload its owner cancelled (its object, and any variants the
#: report names, are deleted: the processor skips it).
UPLOAD_CANCELLED = "upload_cancelled"


def apply_callback(upload_id: uuid.UUID, data: dict[str, Any]) -> dict[str, Any]:
    """Apply a validated callback body through the services; the event after it. Raises the services' errors.

    A report about a ``cancelled`` upload raises IllegalTransition after
    queueing its original's key and the variant keys the report names for
    deletion (:func:`~realtime_uploads.state.purge.purge_later`): the file that
    arrived after the cancel, and what was rendered of it, are not kept; a
    report about an upload deleted meanwhile (UploadNotFound) queues the
    variant keys it names the same way.
    """
    try:
        return _apply(upload_id, data)
    except IllegalTransition as exc:
        if exc.current == Status.CANCELLED:
            purge_later([upload_key(upload_id), *_variant_keys(data)])
        raise
    except UploadNotFound:
        # Deleted while it was processed (a DELETE after the cancel, or retention): what the processor stored
        # since has no row to be deleted with, so it goes now. The parser allowed only keys under
        # <VARIANT_PREFIX><this id>/, and the report is signed.
        purge_later(_variant_keys(data))
        raise


def _variant_keys(data: dict[str, Any]) -> list[str]:
    """Every file key of every variant a validated report names."""
    return [f["key"] for v in data.get("variants", ()) for f in v.get("formats") or [v]]


def _apply(upload_id: uuid.UUID, data: dict[str, Any]) -> dict[str, Any]:
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
        return error(401, exc.message, code=exc.code)
    uid = parse_upload_id(upload_id)
    if uid is None:
        return not_found()
    try:
        data = parse_callback_json(body, upload_id=uid, variant_prefix=uploads_settings.VARIANT_PREFIX)
    except BodyError as exc:
        return await _bad_body(uid, exc.errors)
    try:
        event = await outbox.run_and_publish(apply_callback, uid, data)
    except Overloaded as exc:
        return busy(exc)
    except UploadNotFound:
        return not_found()
    except IllegalTransition as exc:
        if exc.current == Status.CANCELLED:
            return error(409, "The upload was cancelled; its object is being deleted.", code=UPLOAD_CANCELLED)
        return error(409, str(exc), code="illegal_transition")
    return Answer(200, event)


async def _bad_body(uid: uuid.UUID, errors: Any) -> Answer:
    """400 naming what was wrong; but 404 if the upload does not exist (the contract's order)."""
    try:
        exists = await run(upload_exists, uid)
    except Overloaded as exc:
        return busy(exc)
    return Answer(400, errors) if exists else not_found()
