"""Every error ``realtime_uploads`` raises on purpose, under one base: :class:`RealtimeUploadsError`.

Catch the base to catch any of them; catch a subclass to act on one::

    from realtime_uploads.exceptions import IllegalTransition, RealtimeUploadsError
    from realtime_uploads.state import services

    try:
        services.upload_mark_failed(upload_id=upload_id, error_code="not_an_image")
    except IllegalTransition:
        ...  # it finished meanwhile
    except RealtimeUploadsError:
        ...

The Django-free errors (settings, callback signing, the processor's) are
defined in :mod:`realtime_uploads.core.errors`, so Lambda and the SQS worker
use them without Django, and are re-exported here: there is one hierarchy,
not two. None of these is an error of the caller's code: each says what was
wrong with the input, the state or the load, in words a person can act on.

A project's configuration mistakes found while Django reads its settings are
Django's own ``ImproperlyConfigured`` (a bad ``REALTIME_UPLOADS`` value carries
the :class:`SettingError` as its cause), as Django and its other apps raise
them; the system checks report them by id (``realtime_uploads.E001``…).
"""

from __future__ import annotations

import math
from typing import Any

from realtime_uploads.core.errors import (
    CallbackError,
    CallbackRejected,
    CodecMissing,
    ConfigError,
    EventError,
    Invalid,
    ProcessingError,
    RealtimeUploadsError,
    RendererCrashed,
    SettingError,
    SignatureError,
    StateSecretError,
    StorageError,
)

__all__ = [
    "BodyError", "CallbackError", "CallbackRejected", "CodecMissing", "ConfigError", "DatabaseQueueFull",
    "EventError", "IllegalTransition", "Invalid", "LimitExceeded", "ObjectMismatch", "Overloaded", "PolicyError",
    "ProcessingError", "RealtimeUploadsError", "RendererCrashed", "SettingError", "SignatureError",
    "StateSecretError", "StorageError", "SubscriptionRefused", "TooManyLongPolls", "TooManyPending", "TooManyWaiters",
    "UploadInUse", "UploadNotFound",
]


# --- Upload state ------------------------------------------------------------------------------------------


class UploadNotFound(RealtimeUploadsError):
    """No upload has that id (HTTP 404, WebSocket close 4404)."""


class UploadInUse(RealtimeUploadsError):
    """A finished upload a model still points to (an ``UploadReferenceField``, a gallery, any foreign key or
    one-to-one field to ``Upload``) cannot be deleted through the API (HTTP 409 ``upload_in_use``): delete or
    change the referencing row first."""


class IllegalTransition(RealtimeUploadsError):
    """The requested status cannot follow the upload's current one (HTTP 409). ``current`` and ``requested``
    are the two statuses."""

    def __init__(self, current: str, requested: str, message: str = ""):
        super().__init__(message or f"An upload that is {current} cannot become {requested}.")
        self.current = current
        self.requested = requested


class ObjectMismatch(IllegalTransition):
    """The report is about another version of the object than the one being processed (HTTP 409)."""


# --- Load ----------------------------------------------------------------------------------------------------


class Overloaded(RealtimeUploadsError):
    """This process sheds load instead of queueing it: try again after ``retry_after`` seconds.

    HTTP answers 503 with ``Retry-After`` (RFC 9110 section 10.2.3) and
    ``{"code": "overloaded"}``; a WebSocket closes with 4503 or refuses the
    subscription with ``try_again``.
    """

    code = "overloaded"
    #: Seconds a client should wait before trying again.
    retry_after: int = 1


class DatabaseQueueFull(Overloaded):
    """More database calls wait for a thread than ``DB_MAX_QUEUED`` (:mod:`realtime_uploads.runtime.executor`)."""

    def __init__(self, waiting: int):
        super().__init__(f"{waiting} database calls are already waiting; try again shortly.")
        self.waiting = waiting


class TooManyWaiters(Overloaded):
    """This process already has ``LONG_POLL_MAX_WAITERS`` long-polls waiting."""


# --- Requests ----------------------------------------------------------------------------------------------


class PolicyError(RealtimeUploadsError):
    """A POST that S3 would refuse; the local backend answers it as S3 does. ``code`` and ``status`` are S3's.

    Codes: ``AccessDenied`` (403), ``SignatureDoesNotMatch`` (403),
    ``EntityTooLarge`` (400), ``EntityTooSmall`` (400),
    ``IncorrectNumberOfFilesInPostRequest`` (400), ``InvalidPolicyDocument`` (400),
    ``InvalidArgument`` (400), ``MalformedPOSTRequest`` (400),
    ``MaxPostPreDataLengthExceeded`` (400), ``InternalError`` (500).
    """

    def __init__(self, code: str, message: str, status: int):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class BodyError(RealtimeUploadsError):
    """A callback body that is not valid (HTTP 400); ``errors`` is ``{field: [message, ...]}``, DRF's shape."""

    def __init__(self, errors: dict[str, Any]):
        super().__init__(errors)
        self.errors = errors


class SubscriptionRefused(RealtimeUploadsError):
    """A subscription that cannot be honoured. ``code`` is stable: ``malformed_id``, ``forbidden``,
    ``not_found``, ``too_many_subscriptions``, ``too_many_subscribers`` or ``try_again``."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class LimitExceeded(RealtimeUploadsError):
    """A presign refused by a limit: HTTP 429 (RFC 6585 section 4), ``Retry-After: <wait>`` (whole seconds, at
    least 1; None for no header) and ``body`` as the JSON answer (``{"detail", "code", "limit"}``)."""

    status = 429

    def __init__(self, body: dict[str, Any], wait: float | None):
        super().__init__(body["detail"])
        self.body = body
        self.wait = max(1, math.ceil(wait)) if wait is not None else None


class TooManyPending(LimitExceeded):
    """429 ``too_many_pending``: the client would have more than ``MAX_PENDING_PER_CLIENT`` uploads pending."""

    def __init__(self, limit: int, wait: float, *, already: int | None = None, asked: int = 1):
        if asked == 1:
            detail = (f"You already have {limit} uploads pending, the most allowed per client "
                      f"(MAX_PENDING_PER_CLIENT = {limit}). Finish one, or wait for one to expire, "
                      "before presigning another.")
        else:
            detail = (f"You have {already} uploads pending and asked for {asked} more; at most {limit} may be "
                      f"pending per client (MAX_PENDING_PER_CLIENT = {limit}). Nothing was presigned: send "
                      "fewer files, or wait for some to finish.")
        super().__init__({"detail": detail, "code": "too_many_pending", "limit": limit}, wait)


class TooManyLongPolls(LimitExceeded):
    """429 ``too_many_long_polls``: the client already has ``LONG_POLL_MAX_PER_CLIENT`` long-polls waiting in this
    process (``limit``); ``wait`` seconds for ``Retry-After``."""

    def __init__(self, limit: int, wait: float):
        detail = (f"You already have {limit} long-polls waiting here, the most allowed per client "
                  f"(LONG_POLL_MAX_PER_CLIENT = {limit}). Wait for one to be answered, or follow uploads over "
                  "the WebSocket.")
        super().__init__({"detail": detail, "code": "too_many_long_polls", "limit": limit}, wait)
