"""Every ``REALTIME_UPLOADS`` key in one table, and the one validator both sides use.

:data:`SETTINGS` gives each key its kind (:mod:`.setting_kinds`: type, range
or choices, environment parser), default and meaning. :func:`validate` checks
a settings dict against it and raises :class:`SettingError` naming the key;
the Django side (``realtime_uploads.conf``) turns that into
``ImproperlyConfigured``, the processor (:mod:`.config`) into ``ConfigError``
naming the environment variable too. ``conf.DEFAULTS`` and
``config.PROCESSOR_DEFAULTS`` are derived from the table. No Django import:
this module ships to AWS Lambda with the processor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .animation import DEFAULT_MAX_FRAMES
from .animation import DEFAULT_MAX_PIXELS as DEFAULT_MAX_ANIMATION_PIXELS
from .limits import DEFAULT_IMAGE_CPU_SECONDS, DEFAULT_MAX_ASPECT_RATIO, DEFAULT_MAX_DECODE_BYTES
from .setting_kinds import (
    GIB,
    KIB,
    MIB,
    Choice,
    ContentTypes,
    Flag,
    Invalid,
    Kind,
    Networks,
    Number,
    Optional,
    Prefix,
    Rate,
    Secrets,
    Text,
    Url,
    Variants,
    Whole,
)

_NOTHING = object()
#: S3 accepts at most 5 GB in one POST (AWS S3 User Guide, "Uploading objects").
S3_POST_MAX_BYTES = 5 * GIB
#: SigV4 presigned URLs live at most 7 days (AWS S3 User Guide, "Sharing objects with presigned URLs").
PRESIGN_MAX_SECONDS = 7 * 24 * 3600
#: What MAX_BODY_SIZE = None adds to MAX_SIZE: the form fields of a presigned POST.
BODY_OVERHEAD = 64 * KIB


class SettingError(ValueError):
    """A setting has a bad value; ``key`` names it ("" for the dict itself), ``also`` the other keys it
    contradicts; ``str()`` says what it must be and what it got (never the value of a secret)."""

    def __init__(self, key: str, problem: str, value: Any = _NOTHING, *, also: tuple[str, ...] = ()):
        self.key, self.problem, self.value, self.also = key, problem, value, also
        got = "" if value is _NOTHING or SETTINGS.get(key, _UNKNOWN).secret else f", got {value!r}"
        where = f"REALTIME_UPLOADS[{key!r}]" if key else "REALTIME_UPLOADS"
        super().__init__(f"{where}{'' if problem.startswith('[') else ' '}{problem}{got}.")


@dataclass(frozen=True)
class Setting:
    """One key: its kind, its default, what it means; ``processor``: the processor reads it too."""

    kind: Kind
    default: Any
    meaning: str
    processor: bool = False

    @property
    def secret(self) -> bool:
        return getattr(self.kind, "secret", False)


_UNKNOWN = Setting(Kind(), None, "")
_S = Setting
_P = {"processor": True}

SETTINGS: dict[str, Setting] = {
    "BACKEND": _S(Choice("local", "s3"), "local", "local (embedded) or s3 (any S3-compatible store)"),
    # The processor's own settings, shared with Lambda and the SQS worker.
    "KEY_PREFIX": _S(Prefix(), "uploads/", "originals at <KEY_PREFIX><id>/<sanitised filename>", **_P),
    "VARIANT_PREFIX": _S(Prefix(), "variants/", "variants at <VARIANT_PREFIX><id>/<name>.<ext>", **_P),
    "MAX_SIZE": _S(Whole(1, S3_POST_MAX_BYTES, "bytes"), 10 * MIB, "largest upload, bytes", **_P),
    "ALLOWED_CONTENT_TYPES": _S(ContentTypes(), ["image/jpeg", "image/png", "image/webp", "image/gif"],
                                "accepted content types (image/avif, image/heic, image/heif: opt in)", **_P),
    "MAX_PIXELS": _S(Whole(1, unit="pixels"), 50_000_000, "largest original, width x height", **_P),
    "MAX_ASPECT_RATIO": _S(Number(1.0), DEFAULT_MAX_ASPECT_RATIO,
                           "longest side / shortest side beyond which an image is refused", **_P),
    "MAX_DECODE_BYTES": _S(Whole(MIB, unit="bytes"), DEFAULT_MAX_DECODE_BYTES,
                           "peak memory of decoding one image, bytes", **_P),
    "IMAGE_CPU_SECONDS": _S(Number(0.0, "seconds"), DEFAULT_IMAGE_CPU_SECONDS,
                            "CPU time one image may take, seconds", **_P),
    "CALLBACK_URL": _S(Url(template=True), "http://127.0.0.1:8000/api/uploads/{id}/callback/",
                       "where the processor reports", **_P),
    "CALLBACK_ATTEMPTS": _S(Whole(1, 100), 5, "callback attempts on network errors and 5xx", **_P),
    "CALLBACK_TIMEOUT": _S(Number(0.0, "seconds"), 10.0, "seconds per callback attempt", **_P),
    "CALLBACK_BACKOFF": _S(Number(0.0, "seconds"), 0.5, "first backoff between attempts, seconds", **_P),
    "VARIANTS": _S(Variants(), {
        "thumb": {"width": 320, "height": 320, "format": ["AVIF", "WEBP"], "quality": {"AVIF": 60, "WEBP": 80}},
        "large": {"width": 1280, "height": 1280, "format": ["AVIF", "JPEG"], "quality": {"AVIF": 60, "JPEG": 85}},
    }, "name -> {width, height, format (one or a list, fallback last), quality, animated}", **_P),
    "MAX_ANIMATION_FRAMES": _S(Whole(1), DEFAULT_MAX_FRAMES,
                               "frames an animated variant may have; more renders still", **_P),
    "MAX_ANIMATION_PIXELS": _S(Whole(1, unit="pixels"), DEFAULT_MAX_ANIMATION_PIXELS,
                               "frames x width x height an animation may decode; more renders still", **_P),
    # The web process.
    "MAX_BODY_SIZE": _S(Optional(Whole(1, unit="bytes")), None,
                        "largest request body, bytes; None: MAX_SIZE + 64 KiB"),
    "PRESIGN_EXPIRES": _S(Whole(1, PRESIGN_MAX_SECONDS, "seconds"), 600, "presigned POST lifetime, seconds"),
    "EXPIRE_GRACE": _S(Whole(0, unit="seconds"), 300, "seconds after expiry before a pending upload ends"),
    "SUBSCRIBE_TOKEN_MAX_AGE": _S(Whole(1, unit="seconds"), 3600, "subscribe token lifetime, seconds"),
    "CALLBACK_SECRETS": _S(Secrets(), [], "HMAC secrets: the first signs, all verify"),
    "CALLBACK_TOLERANCE": _S(Whole(1, unit="seconds"), 300, "largest callback clock skew, seconds"),
    "LONG_POLL_MAX_WAIT": _S(Whole(1, 30, "seconds; the API contract caps it at 30"), 30,
                             "largest ?wait=, seconds"),
    "LONG_POLL_MAX_WAITERS": _S(Whole(1), 1000, "long-polls one process lets wait at once"),
    "PROCESSING_TIMEOUT": _S(Whole(1, unit="seconds"), 900, "processing longer than this fails, seconds"),
    "DB_THREADS": _S(Whole(1), 4, "database threads of the async paths per process"),
    "DB_MAX_QUEUED": _S(Whole(0), 32, "database calls that may wait for a thread"),
    "LOCAL_PROCESSOR_THREADS": _S(Whole(1), 2, "threads of the in-process processor"),
    "LOCAL_MAX_QUEUED": _S(Whole(0), 100, "objects that may wait for those threads"),
    "LOCAL_RETRY_AFTER": _S(Whole(1, unit="seconds"), 30, "the local sweep re-dispatches after this, seconds"),
    "LOCAL_SHUTDOWN_TIMEOUT": _S(Whole(1, unit="seconds"), 10, "seconds running local jobs get at shutdown"),
    "LOCAL_SWEEP": _S(Flag(), True, "run the local sweep in this process"),
    "MAX_SOCKETS_PER_UPLOAD": _S(Whole(1), 20, "sockets subscribed to one upload"),
    "MAX_SOCKETS_PER_CLIENT": _S(Whole(1), 200, "sockets one client may hold open"),
    "MAX_SUBSCRIPTIONS_PER_SOCKET": _S(Whole(1), 100, "uploads one socket of /ws/uploads/ may follow"),
    "MAX_BATCH_FILES": _S(Whole(1), 50, "files one batch presign may ask for"),
    "HISTORY_PAGE_SIZE": _S(Whole(1, 100), 20, "uploads per page of the history GET"),
    "MAX_MESSAGE_SIZE": _S(Whole(256, unit="characters"), 4096, "largest WebSocket message accepted, characters"),
    "TRUSTED_PROXIES": _S(Networks(), [], "proxies whose X-Forwarded-For is believed (CIDR networks)"),
    "PRESIGN_RATE": _S(Optional(Rate()), "60/min", "presigns per client; None: no limit"),
    "PRESIGN_USER_RATE": _S(Optional(Rate()), "120/min", "presigns per authenticated user; None: no limit"),
    "MAX_PENDING_PER_CLIENT": _S(Optional(Whole(1)), 20, "uploads one client may have pending; None: no cap"),
    "THROTTLE_CACHE": _S(Text(), "default", "the Django CACHES alias the throttles count in"),
    # The s3 backend.
    "BUCKET": _S(Optional(Text()), None, "s3: the bucket (required with s3)"),
    "REGION": _S(Optional(Text()), None, "s3: region; None leaves it to boto3"),
    "ENDPOINT_URL": _S(Optional(Url()), None, "s3: endpoint; None leaves it to boto3"),
    "ADDRESSING_STYLE": _S(Choice("auto", "path", "virtual"), "auto", "s3: auto, path or virtual"),
    "VARIANT_URL_EXPIRES": _S(Whole(1, PRESIGN_MAX_SECONDS, "seconds"), 3600,
                              "s3: presigned variant GET lifetime, seconds"),
    "PUBLIC_BASE_URL": _S(Optional(Url()), None, "s3: a CDN or public prefix for variant URLs"),
}

#: Every key's default (values are shared: copy before changing one).
DEFAULTS: dict[str, Any] = {key: setting.default for key, setting in SETTINGS.items()}
#: The defaults of the keys the processor reads.
PROCESSOR_KEYS = tuple(key for key, setting in SETTINGS.items() if setting.processor)


def check_value(key: str, value: Any) -> Any:
    """One key's value, normalised (tuples, VariantSpecs, floats). Raises SettingError naming ``key``."""
    if key not in SETTINGS:
        raise SettingError(key, f"is not a setting; the known keys are {sorted(SETTINGS)}")
    try:
        return SETTINGS[key].kind.check(value)
    except Invalid as exc:
        raise SettingError(key, str(exc), value) from exc


def validate(values: Mapping[str, Any]) -> dict[str, Any]:
    """Every key: the value in ``values`` or its default, normalised, then checked against the others.

    Raises SettingError naming the key, for an unknown key, a bad value or two
    values that contradict each other (the later key in the table is named).
    """
    if not isinstance(values, Mapping):
        raise SettingError("", "must be a dict", values)
    unknown = sorted(set(values) - set(SETTINGS))
    if unknown:
        raise SettingError(unknown[0], f"is not a setting; the known keys are {sorted(SETTINGS)}")
    checked = {key: check_value(key, values.get(key, setting.default)) for key, setting in SETTINGS.items()}
    _check_together(checked)
    return checked


def _key(key: str) -> str:
    return f"REALTIME_UPLOADS[{key!r}]"


def _check_together(v: Mapping[str, Any]) -> None:
    if v["SUBSCRIBE_TOKEN_MAX_AGE"] <= v["PRESIGN_EXPIRES"]:
        raise SettingError("SUBSCRIBE_TOKEN_MAX_AGE", f"must be longer than {_key('PRESIGN_EXPIRES')} "
                           f"({v['PRESIGN_EXPIRES']} s), or a browser could lose its subscription before its "
                           "upload is processed", v["SUBSCRIBE_TOKEN_MAX_AGE"], also=("PRESIGN_EXPIRES",))
    if v["BACKEND"] == "s3" and not v["BUCKET"]:
        raise SettingError("BUCKET", f"is required when {_key('BACKEND')} is 's3'", also=("BACKEND",))
    if v["LOCAL_RETRY_AFTER"] >= v["PROCESSING_TIMEOUT"]:
        raise SettingError("LOCAL_RETRY_AFTER", f"must be shorter than {_key('PROCESSING_TIMEOUT')} "
                           f"({v['PROCESSING_TIMEOUT']} s), or unfinished local jobs would time out before they "
                           "are retried", v["LOCAL_RETRY_AFTER"], also=("PROCESSING_TIMEOUT",))
    key_prefix, variant_prefix = v["KEY_PREFIX"], v["VARIANT_PREFIX"]
    if key_prefix.startswith(variant_prefix) or variant_prefix.startswith(key_prefix):
        raise SettingError("VARIANT_PREFIX", f"and {_key('KEY_PREFIX')} ({key_prefix!r}) must not contain one "
                           "another, or stored variants would be taken for new uploads and processed",
                           variant_prefix, also=("KEY_PREFIX",))
    if v["MAX_BODY_SIZE"] is not None and v["MAX_BODY_SIZE"] < v["MAX_SIZE"]:
        raise SettingError("MAX_BODY_SIZE", f"must be at least {_key('MAX_SIZE')} ({v['MAX_SIZE']} bytes), or None "
                           "for MAX_SIZE + 64 KiB, or the largest allowed upload would be refused",
                           v["MAX_BODY_SIZE"], also=("MAX_SIZE",))


def max_body_size(values: Mapping[str, Any]) -> int:
    """The largest request body the web process takes, bytes: MAX_BODY_SIZE, or MAX_SIZE + 64 KiB when None."""
    explicit = values.get("MAX_BODY_SIZE")
    return explicit if explicit is not None else values.get("MAX_SIZE", DEFAULTS["MAX_SIZE"]) + BODY_OVERHEAD
