"""The app's settings: one ``REALTIME_UPLOADS`` dict, read through ``uploads_settings``.

Every key has a documented default in :data:`DEFAULTS`; a project overrides
only what it needs::

    REALTIME_UPLOADS = {
        "BACKEND": "s3",
        "CALLBACK_SECRETS": [env("CALLBACK_SECRET")],
        "VARIANTS": {"thumb": {"width": 320, "height": 320, "format": "WEBP"}},
    }

Unknown keys and bad values raise ``ImproperlyConfigured`` naming the key, the
first time any setting is read. The validated values are cached and the cache
is cleared on Django's ``setting_changed`` signal (``override_settings``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from .processing.config import PROCESSOR_DEFAULTS
from .processing.image import FORMAT_CONTENT_TYPES, OUTPUT_FORMATS, VariantSpec

BACKENDS = ("local", "s3")
ADDRESSING_STYLES = ("auto", "path", "virtual")

DEFAULTS: dict[str, Any] = {
    # "local": the embedded default. Presigned POST emulated by Django into
    # default storage, processed in-process. "s3": any S3-compatible store.
    "BACKEND": "local",
    # The processor's settings, shared with Lambda and the SQS worker
    # (realtime_uploads.processing.config): KEY_PREFIX ("uploads/"; originals at
    # <KEY_PREFIX><id>/<sanitised filename>), VARIANT_PREFIX ("variants/";
    # <VARIANT_PREFIX><id>/<name>.<ext>), MAX_SIZE (10 MiB, bytes),
    # ALLOWED_CONTENT_TYPES (JPEG, PNG, WebP, GIF), MAX_PIXELS (width x height),
    # CALLBACK_URL, CALLBACK_ATTEMPTS / _TIMEOUT (s) / _BACKOFF (s), VARIANTS.
    **PROCESSOR_DEFAULTS,
    # Lifetime of a presigned POST, seconds.
    "PRESIGN_EXPIRES": 600,
    # How long after PRESIGN_EXPIRES a pending upload waits before `expire_uploads`
    # marks it expired, seconds (an upload started at the last moment may still land).
    "EXPIRE_GRACE": 300,
    # Lifetime of a subscribe token, seconds from presign. Must outlast
    # PRESIGN_EXPIRES so a browser can follow processing to the end.
    "SUBSCRIBE_TOKEN_MAX_AGE": 3600,
    # Callback HMAC secrets: the first signs, all verify (rotation).
    "CALLBACK_SECRETS": [],
    # Largest accepted |now - t| of a callback signature, seconds.
    "CALLBACK_TOLERANCE": 300,
    # Longest ?wait= a status GET may long-poll, seconds (the contract caps it at 30).
    "LONG_POLL_MAX_WAIT": 30,
    # Long-polls one process lets wait at once; past it the status GET answers 503 + Retry-After.
    "LONG_POLL_MAX_WAITERS": 1000,
    # An upload `processing` for longer than this (seconds) becomes `failed` with code `timeout`
    # (expire_uploads, and the local backend's sweep); one whose file arrived but was never
    # picked up is failed the same way when it expires, never called "No file arrived".
    "PROCESSING_TIMEOUT": 900,
    # Database work of the async paths (callbacks, sockets, long-polls) per process: threads
    # (= most connections they hold) and calls that may wait for one; past that 503 / close 4503.
    # The queue bounds how late an event can be: 32 callbacks are ~100 ms of one core's work here.
    "DB_THREADS": 4,
    "DB_MAX_QUEUED": 32,
    # Threads of the in-process processor used by the local backend.
    "LOCAL_PROCESSOR_THREADS": 2,
    # Objects that may wait for those threads; past it new ones wait for the sweep instead.
    "LOCAL_MAX_QUEUED": 100,
    # The local backend's sweep (every third of this, seconds) re-dispatches an upload whose file
    # is stored but which is still `pending`, or `processing` without news, this long after its
    # last change: what a killed or restarted process left unfinished (at-least-once).
    "LOCAL_RETRY_AFTER": 30,
    # On shutdown, how long running local jobs may take to stop, seconds.
    "LOCAL_SHUTDOWN_TIMEOUT": 10,
    # Run that sweep in this process when start_backend() is called. Turn it off where another
    # process sweeps (or cron runs expire_uploads), and in test processes that import asgi.py.
    "LOCAL_SWEEP": True,
    # s3 backend: bucket (required), region and endpoint (None: boto3's own
    # configuration, e.g. AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3), addressing
    # style ("path" for most S3-compatible servers).
    "BUCKET": None,
    "REGION": None,
    "ENDPOINT_URL": None,
    "ADDRESSING_STYLE": "auto",
    # Variant URLs: presigned GETs valid this long (seconds), unless
    # PUBLIC_BASE_URL (a CDN or public bucket URL) is set: then <base><key>.
    "VARIANT_URL_EXPIRES": 3600,
    "PUBLIC_BASE_URL": None,
}

_CONTENT_TYPES = set(FORMAT_CONTENT_TYPES.values())


def _positive_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ImproperlyConfigured(
            f"REALTIME_UPLOADS[{key!r}] must be a positive whole number, got {value!r}."
        )
    return value


def _positive_number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ImproperlyConfigured(f"REALTIME_UPLOADS[{key!r}] must be a positive number, got {value!r}.")
    return float(value)


def _prefix(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.endswith("/") or value.startswith("/") or ".." in value:
        raise ImproperlyConfigured(
            f"REALTIME_UPLOADS[{key!r}] must be a relative prefix ending in '/', such as 'uploads/'; "
            f"got {value!r}."
        )
    return value


def _variants(value: Any) -> tuple[VariantSpec, ...]:
    if not isinstance(value, dict) or not value:
        raise ImproperlyConfigured(
            "REALTIME_UPLOADS['VARIANTS'] must be a non-empty dict of name -> "
            "{'width', 'height', 'format'[, 'quality']}."
        )
    specs = []
    for name, spec in value.items():
        where = f"REALTIME_UPLOADS['VARIANTS'][{name!r}]"
        if not isinstance(name, str) or not name.isidentifier():
            raise ImproperlyConfigured(f"{where}: variant names must be identifiers such as 'thumb'.")
        if not isinstance(spec, dict):
            raise ImproperlyConfigured(f"{where} must be a dict, got {spec!r}.")
        unknown = set(spec) - {"width", "height", "format", "quality"}
        if unknown:
            raise ImproperlyConfigured(f"{where} has unknown keys {sorted(unknown)}.")
        fmt = str(spec.get("format", "")).upper()
        if fmt not in OUTPUT_FORMATS:
            raise ImproperlyConfigured(
                f"{where}['format'] must be one of {sorted(OUTPUT_FORMATS)}, got {spec.get('format')!r}."
            )
        quality = spec.get("quality", 85)
        if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
            raise ImproperlyConfigured(f"{where}['quality'] must be a whole number 1..100, got {quality!r}.")
        specs.append(
            VariantSpec(
                name=name,
                width=_positive_int(f"VARIANTS'][{name!r}]['width", spec.get("width")),
                height=_positive_int(f"VARIANTS'][{name!r}]['height", spec.get("height")),
                format=fmt,
                quality=quality,
            )
        )
    return tuple(specs)


def _validate(key: str, value: Any) -> Any:  # noqa: C901 - one branch per key reads best
    if key == "BACKEND":
        if value not in BACKENDS:
            raise ImproperlyConfigured(
                f"REALTIME_UPLOADS['BACKEND'] must be one of {list(BACKENDS)}, got {value!r}."
            )
        return value
    if key in ("KEY_PREFIX", "VARIANT_PREFIX"):
        return _prefix(key, value)
    if key == "LONG_POLL_MAX_WAIT":
        if _positive_int(key, value) > 30:
            raise ImproperlyConfigured(
                f"REALTIME_UPLOADS['LONG_POLL_MAX_WAIT'] is at most 30 seconds (the API contract), got {value!r}."
            )
        return value
    if key in ("MAX_SIZE", "MAX_PIXELS", "PRESIGN_EXPIRES", "SUBSCRIBE_TOKEN_MAX_AGE",
               "CALLBACK_TOLERANCE", "CALLBACK_ATTEMPTS", "LONG_POLL_MAX_WAITERS", "PROCESSING_TIMEOUT",
               "DB_THREADS", "LOCAL_PROCESSOR_THREADS", "LOCAL_RETRY_AFTER", "LOCAL_SHUTDOWN_TIMEOUT",
               "VARIANT_URL_EXPIRES"):
        return _positive_int(key, value)
    if key in ("DB_MAX_QUEUED", "LOCAL_MAX_QUEUED"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ImproperlyConfigured(f"REALTIME_UPLOADS[{key!r}] must be a whole number >= 0, got {value!r}.")
        return value
    if key == "LOCAL_SWEEP":
        if not isinstance(value, bool):
            raise ImproperlyConfigured(f"REALTIME_UPLOADS['LOCAL_SWEEP'] must be True or False, got {value!r}.")
        return value
    if key == "EXPIRE_GRACE":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ImproperlyConfigured(f"REALTIME_UPLOADS['EXPIRE_GRACE'] must be a whole number >= 0, got {value!r}.")
        return value
    if key in ("CALLBACK_TIMEOUT", "CALLBACK_BACKOFF"):
        return _positive_number(key, value)
    if key == "ALLOWED_CONTENT_TYPES":
        if isinstance(value, str) or not value or not set(value) <= _CONTENT_TYPES:
            raise ImproperlyConfigured(
                "REALTIME_UPLOADS['ALLOWED_CONTENT_TYPES'] must be a non-empty list drawn from "
                f"{sorted(_CONTENT_TYPES)}, got {value!r}."
            )
        return tuple(value)
    if key == "CALLBACK_SECRETS":
        if isinstance(value, str):
            raise ImproperlyConfigured(
                "REALTIME_UPLOADS['CALLBACK_SECRETS'] must be a list of secrets, even if there is only one."
            )
        if not all(isinstance(s, str) and s for s in value):
            raise ImproperlyConfigured("REALTIME_UPLOADS['CALLBACK_SECRETS'] must hold non-empty strings.")
        return tuple(value)
    if key == "CALLBACK_URL":
        if not isinstance(value, str) or "{id}" not in value or not value.startswith(("http://", "https://")):
            raise ImproperlyConfigured(
                "REALTIME_UPLOADS['CALLBACK_URL'] must be an http(s) URL template containing '{id}', "
                f"got {value!r}."
            )
        return value
    if key == "VARIANTS":
        return _variants(value)
    if key in ("BUCKET", "REGION", "ENDPOINT_URL", "PUBLIC_BASE_URL"):
        if value is not None and (not isinstance(value, str) or not value):
            raise ImproperlyConfigured(f"REALTIME_UPLOADS[{key!r}] must be a non-empty string or None, got {value!r}.")
        if key in ("ENDPOINT_URL", "PUBLIC_BASE_URL") and value and not value.startswith(("http://", "https://")):
            raise ImproperlyConfigured(f"REALTIME_UPLOADS[{key!r}] must be an http(s) URL, got {value!r}.")
        return value
    if key == "ADDRESSING_STYLE":
        if value not in ADDRESSING_STYLES:
            raise ImproperlyConfigured(
                f"REALTIME_UPLOADS['ADDRESSING_STYLE'] must be one of {list(ADDRESSING_STYLES)}, got {value!r}."
            )
        return value
    if key in ("MAX_ASPECT_RATIO", "IMAGE_CPU_SECONDS"):  # wt-image; the shared validator supersedes
        return _positive_number(key, value)
    if key == "MAX_DECODE_BYTES":
        return _positive_int(key, value)
    raise AssertionError(key)  # pragma: no cover - every DEFAULTS key is handled above


class UploadsSettings:
    """Attribute access to the validated ``REALTIME_UPLOADS`` settings.

    ``uploads_settings.MAX_SIZE`` gives the project's value or the default.
    ``VARIANTS`` is a tuple of :class:`~realtime_uploads.processing.image.VariantSpec`.
    """

    def __init__(self) -> None:
        self._cache: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        from django.conf import settings

        user = getattr(settings, "REALTIME_UPLOADS", {})
        if not isinstance(user, dict):
            raise ImproperlyConfigured("REALTIME_UPLOADS must be a dict.")
        unknown = set(user) - set(DEFAULTS)
        if unknown:
            raise ImproperlyConfigured(
                f"Unknown REALTIME_UPLOADS key(s) {sorted(unknown)}; the known keys are {sorted(DEFAULTS)}."
            )
        values = {key: _validate(key, user.get(key, default)) for key, default in DEFAULTS.items()}
        if values["SUBSCRIBE_TOKEN_MAX_AGE"] <= values["PRESIGN_EXPIRES"]:
            raise ImproperlyConfigured(
                "REALTIME_UPLOADS['SUBSCRIBE_TOKEN_MAX_AGE'] must be longer than PRESIGN_EXPIRES, "
                "or a browser could lose its subscription before its upload is processed."
            )
        if values["BACKEND"] == "s3" and not values["BUCKET"]:
            raise ImproperlyConfigured(
                "REALTIME_UPLOADS['BUCKET'] is required with the s3 backend "
                "(REALTIME_UPLOADS_BUCKET in the demo project)."
            )
        if values["LOCAL_RETRY_AFTER"] >= values["PROCESSING_TIMEOUT"]:
            raise ImproperlyConfigured(
                "REALTIME_UPLOADS['LOCAL_RETRY_AFTER'] must be shorter than PROCESSING_TIMEOUT, "
                "or unfinished local jobs would time out before they are retried."
            )
        key_prefix, variant_prefix = values["KEY_PREFIX"], values["VARIANT_PREFIX"]
        if key_prefix.startswith(variant_prefix) or variant_prefix.startswith(key_prefix):
            raise ImproperlyConfigured(
                "REALTIME_UPLOADS['VARIANT_PREFIX'] and KEY_PREFIX must not contain one another, "
                "or stored variants would be taken for new uploads and processed."
            )
        return values

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Invalid REALTIME_UPLOADS setting: {name!r}")
        if self._cache is None:
            self._cache = self._load()
        return self._cache[name]

    def reload(self) -> None:
        """Forget the cached values; the next read validates the settings again."""
        self._cache = None


uploads_settings = UploadsSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "REALTIME_UPLOADS":
        uploads_settings.reload()


setting_changed.connect(_reload)
