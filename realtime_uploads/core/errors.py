"""The base of every error this package raises, the processor's errors, and the stable failure codes.

:class:`RealtimeUploadsError` is the one base: catch it to catch anything
``realtime_uploads`` raises on purpose. This module holds it and the errors of
the Django-free code (the processor, the settings schema, callback signing),
so that Lambda and the SQS worker can use them without Django;
:mod:`realtime_uploads.exceptions` re-exports all of them beside the web
app's own. Where an error was a ``ValueError`` before (a bad setting, a bad
event), it still is one too.

The codes are part of the public contract (``docs/contract.md``, "Failure
codes"): a ``failed`` event carries one, clients show them, so they never
change meaning.
"""

from __future__ import annotations

from typing import Any

NOT_AN_IMAGE = "not_an_image"
TOO_MANY_PIXELS = "too_many_pixels"
UNSUPPORTED_FORMAT = "unsupported_format"
CORRUPT_IMAGE = "corrupt_image"
STORAGE_ERROR = "storage_error"
#: Extension of the contract: the stored object is larger than MAX_SIZE (it
#: bypassed the presigned POST's content-length-range); refused before reading.
TOO_LARGE = "too_large"
#: Extension: the pipeline failed in a way it does not know (a bug, a decoder crash). Logged with
#: its traceback where it happened; the user is told to try again or try another file.
INTERNAL_ERROR = "internal_error"
#: Extension: set by Django, not the processor: no result arrived within PROCESSING_TIMEOUT, or the
#: file arrived but was never picked up before the upload expired.
TIMEOUT = "timeout"
#: Extension: one side of the image is more than MAX_ASPECT_RATIO times the other (a 1 x 49 000 000
#: PNG); refused from the header, before decoding.
ASPECT_RATIO = "aspect_ratio"
#: Extension: decoding would need more than MAX_DECODE_BYTES of memory (estimated from the header,
#: or the decoder ran out of the memory the sandbox allows); refused before or instead of decoding.
TOO_LARGE_TO_DECODE = "too_large_to_decode"
#: Extension: decoding and rendering the image used more than IMAGE_CPU_SECONDS of CPU time.
TIME_LIMIT = "time_limit"

ERROR_CODES = frozenset(
    {NOT_AN_IMAGE, TOO_MANY_PIXELS, UNSUPPORTED_FORMAT, CORRUPT_IMAGE, STORAGE_ERROR, TOO_LARGE, INTERNAL_ERROR,
     TIMEOUT, ASPECT_RATIO, TOO_LARGE_TO_DECODE, TIME_LIMIT}
)

_NOTHING = object()


class RealtimeUploadsError(Exception):
    """Base of every error ``realtime_uploads`` raises on purpose (web app and processor alike).

    ``str(error)`` is a sentence that says what was wrong and, where it can,
    what to do. Subclasses add what a caller needs to act on it (``code``,
    ``status``, ``retry_after`` …).
    """


# --- Settings and configuration --------------------------------------------------------------------------


class SettingError(RealtimeUploadsError, ValueError):
    """A ``REALTIME_UPLOADS`` value is wrong. ``key`` names it ("" for the dict itself), ``also`` the other
    keys it contradicts; ``str()`` says what it must be and what it got (never the value of a ``secret``)."""

    def __init__(self, key: str, problem: str, value: Any = _NOTHING, *, also: tuple[str, ...] = (),
                 secret: bool = False):
        self.key, self.problem, self.value, self.also = key, problem, value, also
        got = "" if value is _NOTHING or secret else f", got {value!r}"
        where = f"REALTIME_UPLOADS[{key!r}]" if key else "REALTIME_UPLOADS"
        super().__init__(f"{where}{'' if problem.startswith('[') else ' '}{problem}{got}.")


class Invalid(RealtimeUploadsError, ValueError):
    """A value is not of its setting's kind; the message says what it must be. The settings schema turns it
    into a :class:`SettingError` naming the key before it reaches a caller."""


class ConfigError(RealtimeUploadsError, ValueError):
    """A processor setting is missing or malformed; the message names the environment variable and the key."""


class CodecMissing(RealtimeUploadsError, ValueError):
    """A format was asked for whose codec this installation lacks; the message says what to install."""


class StateSecretError(RealtimeUploadsError, RuntimeError):
    """A secret file in the state folder is unsafe (readable by others) or unreadable; the message says
    what to do."""


# --- Callbacks ----------------------------------------------------------------------------------------------


class SignatureError(RealtimeUploadsError):
    """A callback signature is missing, malformed, stale or wrong.

    ``code`` is stable: ``missing_signature``, ``malformed_signature``,
    ``stale_signature`` or ``invalid_signature``.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class CallbackError(RealtimeUploadsError):
    """The callback could not be delivered after every attempt (network or 5xx), or was cancelled."""


class CallbackRejected(CallbackError):
    """Django answered the callback with a 4xx; retrying would not help.

    ``status`` is the HTTP status (401 bad secret, 404 unknown upload, 409
    illegal transition, 400 bad body); ``body`` the decoded JSON answer or {}.
    """

    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(f"Callback rejected with HTTP {status}: {body}")
        self.status = status
        self.body = body


# --- Processing ---------------------------------------------------------------------------------------------


class ProcessingError(RealtimeUploadsError):
    """An upload that cannot be turned into variants, for a stated reason.

    ``code`` is one of :data:`ERROR_CODES`; ``message`` is a sentence a person
    can read. The pipeline turns this into a ``failed`` callback carrying
    ``{"code": code, "message": message}``.
    """

    def __init__(self, code: str, message: str):
        if code not in ERROR_CODES:
            raise ValueError(f"Unknown processing error code {code!r}; use one of {sorted(ERROR_CODES)}.")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class StorageError(RealtimeUploadsError):
    """The object store failed (missing object, permission, outage).

    ``retryable`` is True for failures that may pass (5xx, throttling,
    network): the pipeline then raises instead of reporting ``failed``, so
    an at-least-once caller (SQS, Lambda) tries the object again.
    """

    def __init__(self, message: str, *, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


class EventError(RealtimeUploadsError, ValueError):
    """A message that is not an S3 event notification (permanent: retrying will not help)."""


class RendererCrashed(RealtimeUploadsError):
    """The child process rendering an image died without an answer, or raised an error of its own
    (not a :class:`ProcessingError`): a decoder crash or a bug; the pipeline reports ``internal_error``."""
