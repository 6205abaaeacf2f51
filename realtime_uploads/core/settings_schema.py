"""Every ``REALTIME_UPLOADS`` key in one table, and the one validator both sides use.

:data:`SETTINGS` gives each key its kind (:mod:`.setting_kinds`: type, range
or choices, environment parser), default and meaning. :func:`validate` checks
a settings dict against it and raises :class:`SettingError` naming the key;
the Django side (``realtime_uploads.conf``) turns that into
``ImproperlyConfigured``, the processor (:mod:`realtime_uploads.core.environment`) into ``ConfigError``
naming the environment variable too. ``conf.DEFAULTS`` and
``config.PROCESSOR_DEFAULTS`` are derived from the table. No Django import:
this module ships to AWS Lambda with the processor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from realtime_uploads.core.errors import Invalid, SettingError
from realtime_uploads.core.setting_kinds import (
    GIB,
    KIB,
    MIB,
    Choice,
    ClassPaths,
    ContentTypes,
    Flag,
    Folder,
    ImportPath,
    Kind,
    Networks,
    Number,
    Optional,
    Origins,
    Prefix,
    Rate,
    Secrets,
    Text,
    Url,
    Variants,
    Whole,
)

#: S3 accepts at most 5 GB in one POST (AWS S3 User Guide, "Uploading objects").
S3_POST_MAX_BYTES = 5 * GIB
#: SigV4 presigned URLs live at most 7 days (AWS S3 User Guide, "Sharing objects with presigned URLs").
PRESIGN_MAX_SECONDS = 7 * 24 * 3600
#: What MAX_BODY_SIZE = None adds to MAX_SIZE: the form fields of a presigned POST.
BODY_OVERHEAD = 64 * KIB
#: The processor's limits (``processing.image.limits`` and ``.animation`` read them from here).
DEFAULT_MAX_ASPECT_RATIO = 50.0
DEFAULT_MAX_DECODE_BYTES = 256 * MIB
DEFAULT_IMAGE_CPU_SECONDS = 10.0
DEFAULT_MAX_ANIMATION_FRAMES = 200
DEFAULT_MAX_ANIMATION_PIXELS = 50_000_000


@dataclass(frozen=True)
class Setting:
    """One key: its kind, its default, what it means; ``processor``: the processor reads it too."""

    kind: Kind
    default: Any
    meaning: str
    processor: bool = False
    #: How the reference shows the default, where its value would not read well.
    shown: str = ""

    @property
    def secret(self) -> bool:
        return getattr(self.kind, "secret", False)


_S = Setting
#: The short names of the storage backends this package ships (``BACKEND: "s3"``).
BACKENDS = {"local": "realtime_uploads.storage.local.LocalBackend", "s3": "realtime_uploads.storage.s3.S3Backend"}
_P = {"processor": True}

SETTINGS: dict[str, Setting] = {
    "BACKEND": _S(ImportPath(BACKENDS, "a StorageBackend subclass"), "local",
       "`\"local\"` (embedded: Django emulates S3's POST into its own folder, `LOCAL_ROOT`, the processor runs "
       "in-process), `\"s3\"` (any S3-compatible store; the processor is Lambda or the SQS worker), or the "
       "dotted path of a `realtime_uploads.storage.base.StorageBackend` subclass of your own"),
    "KEY_PREFIX": _S(Prefix(), "uploads/",
       "originals at `<KEY_PREFIX><id>/<sanitised filename>`; relative, ends in `/`, S3's safe "
       "characters only",
       **_P),
    "VARIANT_PREFIX": _S(Prefix(), "variants/",
       "variants at `<VARIANT_PREFIX><id>/<name>.<ext>`",
       **_P),
    "MAX_SIZE": _S(Whole(1, S3_POST_MAX_BYTES, "bytes"), 10 * MIB,
       "largest upload, bytes (the largest `size` presign accepts; each policy's `content-length-range` "
       "is exactly its declared `size`); at most 5 GiB (S3's single POST)",
       **_P),
    "ALLOWED_CONTENT_TYPES": _S(ContentTypes(), ["image/jpeg", "image/png", "image/webp", "image/gif"],
       "accepted `content_type`s; the processor also checks the bytes. Opt in to `image/avif` (Pillow's "
       "libavif), `image/heic` and `image/heif` (iPhone photos; pi-heif, installed with the app); the "
       "demo project allows all seven",
       shown="JPEG, PNG, WebP, GIF", **_P),
    "MAX_PIXELS": _S(Whole(1, unit="pixels"), 50_000_000,
       "largest original, width × height (decompression bombs → `too_many_pixels`); Pillow's own "
       "`Image.MAX_IMAGE_PIXELS` (about 89 M) still caps it, so raise that too for larger photos",
       **_P),
    "MAX_ASPECT_RATIO": _S(Number(1.0), DEFAULT_MAX_ASPECT_RATIO,
       "longer side / shorter side of an original; above it → `aspect_ratio`, from the header (a 1 × 49 "
       "000 000 PNG is under `MAX_PIXELS`)",
       **_P),
    "MAX_DECODE_BYTES": _S(Whole(MIB, unit="bytes"), DEFAULT_MAX_DECODE_BYTES,
       "memory one image's decode may take, bytes, estimated from the header before decoding (width × "
       "height × bytes per pixel of the mode after any JPEG draft, times the decoder's buffers: three "
       "frames for WebP, HEIF and AVIF, plus a copy where the mode must be converted); above it → "
       "`too_large_to_decode`. The render process of the local backend and the SQS worker is also "
       "refused address space beyond 2 × this + 64 MiB",
       **_P),
    "IMAGE_CPU_SECONDS": _S(Number(0.0, "seconds"), DEFAULT_IMAGE_CPU_SECONDS,
       "CPU time one image may use, seconds; above it → `time_limit`. Enforced by the local backend and "
       "the SQS worker, which render each image in a child process the kernel stops (Lambda renders "
       "in-process, bounded by the function's timeout)",
       **_P),
    "CALLBACK_URL": _S(Url(template=True), "http://127.0.0.1:8000/api/uploads/{id}/callback/",
       "where the processor reports. Left out of `REALTIME_UPLOADS` (development), Django uses the callback "
       "route on the address its server listens on, learnt from the first HTTP request (no callback is sent "
       "before it); `check --deploy` asks production to set it (`realtime_uploads.E111`)",
       **_P),
    "CALLBACK_ATTEMPTS": _S(Whole(1, 100), 5,
       "callback attempts in all, on network errors and 5xx answers (exponential backoff with full "
       "jitter, at least a 503's `Retry-After`)",
       **_P),
    "CALLBACK_TIMEOUT": _S(Number(0.0, "seconds"), 10.0,
       "seconds one callback attempt may take",
       **_P),
    "CALLBACK_BACKOFF": _S(Number(0.0, "seconds"), 0.5,
       "the first backoff between callback attempts, seconds; each retry waits a random time up to twice "
       "the last",
       **_P),
    "VARIANTS": _S(Variants(), {
        "thumb": {"width": 320, "height": 320, "format": ["AVIF", "WEBP"], "quality": {"AVIF": 60, "WEBP": 80}},
        "large": {"width": 1280, "height": 1280, "format": ["AVIF", "JPEG"], "quality": {"AVIF": 60, "JPEG": 85}},
    },
       "name → `{width, height, format, quality, animated}`: a bounding box, never upscaled; `format` "
       "one of JPEG, PNG, WEBP, AVIF or a list of them in order of preference with the fallback last "
       "(every format of a variant has the same pixels; see [Processing](processing.md)); `quality` 1–100 for all, or "
       "per format (`{\"AVIF\": 55, \"WEBP\": 80}`; defaults AVIF 60, WebP 80, JPEG 85); `animated: true` "
       "(needs WEBP among the formats) keeps an animated GIF/WebP animated, as WebP only",
       shown="`thumb` 320 px AVIF q60 + WebP q80, `large` 1280 px AVIF q60 + JPEG q85", **_P),
    "MAX_ANIMATION_FRAMES": _S(Whole(1), DEFAULT_MAX_ANIMATION_FRAMES,
       "frames an animated variant may hold; an animation with more renders still (its first frame)",
       **_P),
    "MAX_ANIMATION_PIXELS": _S(Whole(1, unit="pixels"), DEFAULT_MAX_ANIMATION_PIXELS,
       "frames × width × height of the original an animation may decode (its decoding time); past it the "
       "variant renders still. The rendered frames must also fit `MAX_DECODE_BYTES`",
       **_P),
    "MAX_BODY_SIZE": _S(Optional(Whole(1, unit="bytes")), None,
       "largest request body `realtime-uploads-daphne` accepts, bytes; a larger one gets `413` (`\"code\": "
       "\"body_too_large\"`) before it is read",
       shown="`None` (`MAX_SIZE` + 64 KiB)"),
    "PRESIGN_EXPIRES": _S(Whole(1, PRESIGN_MAX_SECONDS, "seconds"), 600,
       "presigned POST lifetime, seconds; at most 7 days (SigV4)"),
    "EXPIRE_GRACE": _S(Whole(0, unit="seconds"), 300,
       "seconds after expiry before a pending upload is ended"),
    "SUBSCRIBE_TOKEN_MAX_AGE": _S(Whole(1, unit="seconds"), 3600,
       "subscribe token lifetime, seconds (must exceed `PRESIGN_EXPIRES`)"),
    "CALLBACK_SECRETS": _S(Secrets(), [],
       "HMAC secrets: first signs, all verify. Left out of `REALTIME_UPLOADS` (development), Django uses one "
       "derived from `SECRET_KEY` (HMAC-SHA256 with a salt of its own), which only the local backend's "
       "in-process processor knows; `check --deploy` asks production to set it (`realtime_uploads.E110`)"),
    "CALLBACK_TOLERANCE": _S(Whole(1, unit="seconds"), 300,
       "largest clock skew / replay window for a callback, seconds"),
    "LONG_POLL_MAX_WAIT": _S(Whole(1, 30, "seconds; the API contract caps it at 30"), 30,
       "largest `?wait=`, seconds; at most 30 (the contract)"),
    "LONG_POLL_MAX_WAITERS": _S(Whole(1), 1000,
       "long-polls one process lets wait at once; past it 503 + `Retry-After`"),
    "LONG_POLL_MAX_PER_CLIENT": _S(Whole(1), 20,
       "long-polls one process lets one client address wait at once (`TRUSTED_PROXIES` as for presign); "
       "past it 429 + `Retry-After` with code `too_many_long_polls`, so one client cannot take every slot. "
       "The default matches `MAX_PENDING_PER_CLIENT`: one long-poll per unfinished upload"),
    "PROCESSING_TIMEOUT": _S(Whole(1, unit="seconds"), 900,
       "an upload `processing` for longer, seconds, becomes `failed` with code `timeout` (pushed); a "
       "pending one whose file did arrive is ended the same way at expiry"),
    "RETAIN_UNFINISHED": _S(Optional(Whole(1, unit="seconds")), 86400,
       "uploads that ended without a result (`failed`, `expired`, `cancelled`) are deleted, row and stored "
       "files, this many seconds after they ended, by `manage.py cleanup_uploads` (which the local backend's "
       "sweep runs); None keeps them"),
    "RETAIN_UNREFERENCED": _S(Optional(Whole(1, unit="seconds")), None,
       "opt-in: a `completed` upload that no model field points to (`UploadReferenceField`, "
       "`UploadReferencesField`, any foreign key to `Upload`) is deleted this many seconds after it "
       "completed, by the same command; None (the default) keeps every completed upload"),
    "DB_THREADS": _S(Whole(1), 4,
       "threads doing the database work of callbacks, sockets and long-polls in each process; each keeps "
       "one connection, so at most this many"),
    "DB_MAX_QUEUED": _S(Whole(0), 32,
       "such calls that may wait for a thread; past it 503 + `Retry-After` (HTTP) or close 4503 "
       "(WebSocket) at once. It bounds how far behind a saturated process can fall: 32 callbacks are "
       "about 100 ms of one core's work here"),
    "LOCAL_PROCESSOR_THREADS": _S(Whole(1), 2,
       "threads of the in-process processor (local backend)"),
    "LOCAL_MAX_QUEUED": _S(Whole(0), 100,
       "stored objects that may wait for them; past it the sweep picks them up later"),
    "LOCAL_RETRY_AFTER": _S(Whole(1, unit="seconds"), 30,
       "the local sweep (at start, then every third of this) re-dispatches uploads `processing` without "
       "news, or `pending` with their file stored, this many seconds after their last change; must be "
       "below `PROCESSING_TIMEOUT`"),
    "LOCAL_SHUTDOWN_TIMEOUT": _S(Whole(1, unit="seconds"), 10,
       "seconds running local jobs get to stop at shutdown"),
    "LOCAL_ROOT": _S(Optional(Folder()), None,
       "local backend: the folder holding its files, originals under `KEY_PREFIX` and variants under "
       "`VARIANT_PREFIX`; `None` = `.realtime_uploads` in the project's `BASE_DIR` (else in the working "
       "directory). Keep it out of `MEDIA_ROOT` and `STATIC_ROOT`: the app serves only the variants from it "
       "(check `realtime_uploads.E020`/`W020`)",
       shown="`None` (`<BASE_DIR>/.realtime_uploads`)"),
    "LOCAL_SWEEP": _S(Flag(), True,
       "run that sweep in this process (`realtime_uploads.local.start()`); off where another process "
       "sweeps, or in tests"),
    "MAX_SOCKETS_PER_UPLOAD": _S(Whole(1), 20,
       "WebSockets one process holds for one upload; past it a new one closes with 4429"),
    "MAX_SOCKETS_PER_CLIENT": _S(Whole(1), 200,
       "WebSockets one process holds for one client address; past it 4429. Per process: N processes "
       "behind a balancer allow N times these"),
    "MAX_UNAUTHORISED_SOCKETS_PER_CLIENT": _S(Whole(1), 20,
       "sockets of `/ws/uploads/<id>/` without a valid `?token=` one process holds for one client address "
       "while their session is checked, or after a refusal until they are gone; past it 4429 at once. Only "
       "authorised sockets count against `MAX_SOCKETS_PER_UPLOAD`"),
    "ALLOWED_ORIGINS": _S(Origins(), [],
       "origins (`\"https://app.example.com\"`: scheme, host, port) whose pages may open the sockets, "
       "besides the server's own origin and Django's `CSRF_TRUSTED_ORIGINS`; any other `Origin` is refused "
       "(403 at the handshake) by `realtime_uploads.push.origins.OriginValidator`"),
    "MAX_SUBSCRIPTIONS_PER_SOCKET": _S(Whole(1), 100,
       "uploads one socket of `/ws/uploads/` may follow at once; past it the `subscribe` gets an `error` "
       "message (`too_many_subscriptions`) naming the id, and the socket stays open"),
    "MAX_BATCH_FILES": _S(Whole(1), 20,
       "files one `POST /api/uploads/batch/` may presign; more is a 400 naming the limit. At most "
       "`MAX_PENDING_PER_CLIENT`, or a full batch could never be presigned (check `realtime_uploads.E030`)"),
    "DOWNLOAD_URL_EXPIRES": _S(Whole(1, PRESIGN_MAX_SECONDS, "seconds"), 300,
       "lifetime of the link `GET /api/uploads/<id>/download/` redirects the owner to (a presigned GET "
       "on S3, a signed URL on the local backend), seconds; at most 7 days (SigV4)"),
    "HISTORY_PAGE_SIZE": _S(Whole(1, 100), 20,
       "uploads per page of `GET /api/uploads/` (1–100; `?limit=` may ask for fewer)"),
    "MAX_MESSAGE_SIZE": _S(Whole(256, unit="characters"), 4096,
       "largest message a socket reads, characters; past it an `error` message (`message_too_large`) and "
       "close 4413"),
    "TRUSTED_PROXIES": _S(Networks(), [],
       "CIDR strings of your reverse proxies; `X-Forwarded-For` is believed only from them (walked right "
       "to left, skipping trusted hops), else the client is the peer address (see [Deploying](deploying.md))"),
    "PERMISSION_CLASSES": _S(ClassPaths("DRF permission classes"), ["rest_framework.permissions.IsAuthenticated"],
       "who may presign and list their history (`POST /api/uploads/`, `POST /api/uploads/batch/`, `GET "
       "/api/uploads/`): DRF permission classes, whatever `REST_FRAMEWORK[\"DEFAULT_PERMISSION_CLASSES\"]` "
       "says. Signed-in users by default; `[\"rest_framework.permissions.AllowAny\"]` opts into anonymous "
       "uploads (the demo does). Refused: 403 (401 with an authentication that asks for credentials), "
       "code `not_authenticated` / `permission_denied`",
       shown="`[\"rest_framework.permissions.IsAuthenticated\"]`"),
    "PRESIGN_RATE": _S(Optional(Rate()), "60/min",
       "presigns per anonymous client IP (an IPv6 client counts as its /64), `<n>/<s\\|min\\|hour\\|day>`; "
       "`None` = no limit; past it 429 + `Retry-After`"),
    "PRESIGN_USER_RATE": _S(Optional(Rate()), "120/min",
       "presigns per signed-in user, wherever they come from; `None` = no limit"),
    "MAX_PENDING_PER_CLIENT": _S(Optional(Whole(1)), 20,
       "uploads one client (user, else IP) may have `pending`; past it presign answers 429 with code "
       "`too_many_pending`; `None` = no cap"),
    "THROTTLE_CACHE": _S(Text(), "default",
       "Django cache alias holding those counts; use a shared one (Redis) so the limits hold across "
       "processes (the demo does when `REDIS_URL` is set)"),
    "BUCKET": _S(Optional(Text()), None,
       "s3: the bucket (required with `s3`)"),
    "REGION": _S(Optional(Text()), None,
       "s3: the bucket's region; `None` leaves it to boto3 (`AWS_DEFAULT_REGION`)"),
    "ENDPOINT_URL": _S(Optional(Url()), None,
       "s3: the S3 endpoint; `None` leaves it to boto3 (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`)"),
    "ADDRESSING_STYLE": _S(Choice("auto", "path", "virtual"), "auto",
       "s3: `auto`, `path` (most S3-compatible servers: MinIO, moto) or `virtual`"),
    "VARIANT_URL_EXPIRES": _S(Whole(1, PRESIGN_MAX_SECONDS, "seconds"), 3600,
       "s3: lifetime of the presigned GET URLs of variants, seconds"),
    "PUBLIC_BASE_URL": _S(Optional(Url()), None,
       "s3: a CDN or public prefix; variant URLs become `<base>/<key>` instead of presigned GETs"),
}

#: Every key's default (values are shared: copy before changing one).
DEFAULTS: dict[str, Any] = {key: setting.default for key, setting in SETTINGS.items()}
#: The defaults of the keys the processor reads.
PROCESSOR_KEYS = tuple(key for key, setting in SETTINGS.items() if setting.processor)


def setting_error(key: str, problem: str, value: Any, **kwargs: Any) -> SettingError:
    """A SettingError about ``key``'s ``value``, which it does not repeat if the key is a secret."""
    return SettingError(key, problem, value, secret=key in SETTINGS and SETTINGS[key].secret, **kwargs)


def check_value(key: str, value: Any) -> Any:
    """One key's value, normalised (tuples, VariantSpecs, floats). Raises SettingError naming ``key``."""
    if key not in SETTINGS:
        raise SettingError(key, f"is not a setting; the known keys are {sorted(SETTINGS)}")
    try:
        return SETTINGS[key].kind.check(value)
    except Invalid as exc:
        raise setting_error(key, str(exc), value) from exc


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
        raise setting_error("SUBSCRIBE_TOKEN_MAX_AGE", f"must be longer than {_key('PRESIGN_EXPIRES')} "
                           f"({v['PRESIGN_EXPIRES']} s), or a browser could lose its subscription before its "
                           "upload is processed", v["SUBSCRIBE_TOKEN_MAX_AGE"], also=("PRESIGN_EXPIRES",))
    if SETTINGS["BACKEND"].kind.resolve(v["BACKEND"]) == BACKENDS["s3"] and not v["BUCKET"]:
        raise SettingError("BUCKET", f"is required when {_key('BACKEND')} is 's3'", also=("BACKEND",))
    if v["LOCAL_RETRY_AFTER"] >= v["PROCESSING_TIMEOUT"]:
        raise setting_error("LOCAL_RETRY_AFTER", f"must be shorter than {_key('PROCESSING_TIMEOUT')} "
                           f"({v['PROCESSING_TIMEOUT']} s), or unfinished local jobs would time out before they "
                           "are retried", v["LOCAL_RETRY_AFTER"], also=("PROCESSING_TIMEOUT",))
    key_prefix, variant_prefix = v["KEY_PREFIX"], v["VARIANT_PREFIX"]
    if key_prefix.startswith(variant_prefix) or variant_prefix.startswith(key_prefix):
        raise setting_error("VARIANT_PREFIX", f"and {_key('KEY_PREFIX')} ({key_prefix!r}) must not contain one "
                           "another, or stored variants would be taken for new uploads and processed",
                           variant_prefix, also=("KEY_PREFIX",))
    if v["MAX_BODY_SIZE"] is not None and v["MAX_BODY_SIZE"] < v["MAX_SIZE"]:
        raise setting_error("MAX_BODY_SIZE", f"must be at least {_key('MAX_SIZE')} ({v['MAX_SIZE']} bytes), or None "
                           "for MAX_SIZE + 64 KiB, or the largest allowed upload would be refused",
                           v["MAX_BODY_SIZE"], also=("MAX_SIZE",))


def max_body_size(values: Mapping[str, Any]) -> int:
    """The largest request body the web process takes, bytes: MAX_BODY_SIZE, or MAX_SIZE + 64 KiB when None."""
    explicit = values.get("MAX_BODY_SIZE")
    return explicit if explicit is not None else values.get("MAX_SIZE", DEFAULTS["MAX_SIZE"]) + BODY_OVERHEAD
