"""The processor's settings: shared defaults, and the environment of Lambda, workers and compose.

The names are those of ``REALTIME_UPLOADS`` with a ``REALTIME_UPLOADS_``
prefix (``REALTIME_UPLOADS_MAX_SIZE``); the exception is the secret list,
``REALTIME_UPLOADS_CALLBACK_SECRET`` (comma-separated, first signs).
``REALTIME_UPLOADS_VARIANTS`` is JSON. Instead of the plain secret, a deploy may name where it is kept:
``REALTIME_UPLOADS_CALLBACK_SECRET_ARN`` (AWS Secrets Manager) or
``REALTIME_UPLOADS_CALLBACK_SECRET_PARAMETER`` (SSM Parameter Store,
SecureString). The Django project reads the same variables
(``config/settings.py`` calls :func:`settings_from_env`), so the web process
and the processor cannot drift apart. No Django import.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from .callback import CallbackClient
from .image import VariantSpec
from .limits import DEFAULT_IMAGE_CPU_SECONDS, DEFAULT_MAX_ASPECT_RATIO, DEFAULT_MAX_DECODE_BYTES, ImageLimits
from .pipeline import ProcessorConfig

MIB = 1024 * 1024
ENV_PREFIX = "REALTIME_UPLOADS_"

#: Defaults shared by the Django settings object and the processor.
PROCESSOR_DEFAULTS: dict[str, Any] = {
    "KEY_PREFIX": "uploads/",
    "VARIANT_PREFIX": "variants/",
    "MAX_SIZE": 10 * MIB,
    "ALLOWED_CONTENT_TYPES": ["image/jpeg", "image/png", "image/webp", "image/gif"],
    "MAX_PIXELS": 50_000_000,
    "CALLBACK_URL": "http://127.0.0.1:8000/api/uploads/{id}/callback/",
    "CALLBACK_ATTEMPTS": 5,
    "CALLBACK_TIMEOUT": 10.0,
    "CALLBACK_BACKOFF": 0.5,
    "VARIANTS": {
        "thumb": {"width": 320, "height": 320, "format": "WEBP", "quality": 80},
        "large": {"width": 1280, "height": 1280, "format": "JPEG", "quality": 85},
    },
    # Per image (processing/limits.py): longer side / shorter side; estimated decode memory, bytes;
    # CPU time, seconds (enforced where the image is rendered in a child process: the local backend).
    "MAX_ASPECT_RATIO": DEFAULT_MAX_ASPECT_RATIO,
    "MAX_DECODE_BYTES": DEFAULT_MAX_DECODE_BYTES,
    "IMAGE_CPU_SECONDS": DEFAULT_IMAGE_CPU_SECONDS,
}


class ConfigError(ValueError):
    """A processor setting is missing or malformed; the message names the variable."""


def _csv(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


_PARSERS: dict[str, Callable[[str], Any]] = {
    "BACKEND": str,
    "BUCKET": str,
    "ADDRESSING_STYLE": str,
    "KEY_PREFIX": str,
    "VARIANT_PREFIX": str,
    "MAX_SIZE": int,
    "MAX_PIXELS": int,
    "ALLOWED_CONTENT_TYPES": _csv,
    "VARIANTS": json.loads,
    "CALLBACK_URL": str,
    "CALLBACK_SECRETS": _csv,
    "CALLBACK_ATTEMPTS": int,
    "CALLBACK_TIMEOUT": float,
    "CALLBACK_BACKOFF": float,
    "MAX_ASPECT_RATIO": float,
    "MAX_DECODE_BYTES": int,
    "IMAGE_CPU_SECONDS": float,
    # The web process's own settings (realtime_uploads.conf), read by the demo project.
    "PRESIGN_EXPIRES": int,
    "EXPIRE_GRACE": int,
    "PROCESSING_TIMEOUT": int,
    "LONG_POLL_MAX_WAIT": int,
    "LONG_POLL_MAX_WAITERS": int,
    "DB_THREADS": int,
    "DB_MAX_QUEUED": int,
    "LOCAL_PROCESSOR_THREADS": int,
    "LOCAL_MAX_QUEUED": int,
    "LOCAL_RETRY_AFTER": int,
    "LOCAL_SHUTDOWN_TIMEOUT": int,
    "LOCAL_SWEEP": lambda raw: raw.strip().lower() in ("1", "true", "yes", "on"),
}


def env_name(key: str) -> str:
    """The environment variable of a setting: ``MAX_SIZE`` → ``REALTIME_UPLOADS_MAX_SIZE``."""
    return ENV_PREFIX + ("CALLBACK_SECRET" if key == "CALLBACK_SECRETS" else key)


def settings_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings given in ``environ``, parsed (ints, floats, lists, JSON); absent ones omitted.

    Raises ConfigError naming the variable whose value does not parse.
    """
    values: dict[str, Any] = {}
    for key, parse in _PARSERS.items():
        name = env_name(key)
        raw = environ.get(name)
        if raw is None or raw == "":
            continue
        try:
            values[key] = parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{name}={raw!r} does not parse: {exc}") from exc
    return values


def variant_specs(variants: Mapping[str, Mapping[str, Any]]) -> tuple[VariantSpec, ...]:
    """``{name: {width, height, format, quality?}}`` → VariantSpecs. Raises ConfigError."""
    if not isinstance(variants, Mapping) or not variants:
        raise ConfigError(f"{env_name('VARIANTS')} must be a non-empty JSON object of name -> spec.")
    try:
        return tuple(VariantSpec(name=name, **dict(spec)) for name, spec in variants.items())
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{env_name('VARIANTS')}: {exc}") from exc


def load_secrets(environ: Mapping[str, str], session: Any = None) -> list[str]:
    """The callback secrets: plain, from Secrets Manager, or from SSM Parameter Store.

    A Secrets Manager or SSM value may itself be comma-separated (rotation).
    Raises ConfigError when none is configured.
    """
    plain = _csv(environ.get(env_name("CALLBACK_SECRETS"), ""))
    if plain:
        return plain
    arn = environ.get(ENV_PREFIX + "CALLBACK_SECRET_ARN")
    parameter = environ.get(ENV_PREFIX + "CALLBACK_SECRET_PARAMETER")
    if not (arn or parameter):
        raise ConfigError(
            "No callback secret: set REALTIME_UPLOADS_CALLBACK_SECRET, "
            "REALTIME_UPLOADS_CALLBACK_SECRET_ARN or REALTIME_UPLOADS_CALLBACK_SECRET_PARAMETER."
        )
    import boto3

    session = session or boto3.session.Session()
    if arn:
        value = session.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    else:
        value = session.client("ssm").get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
    secrets = _csv(value)
    if not secrets:
        raise ConfigError(f"The callback secret at {arn or parameter} is empty.")
    return secrets


def s3_client_from_env(environ: Mapping[str, str] | None = None):
    """The process's S3 client, addressed as ``REALTIME_UPLOADS_ADDRESSING_STYLE`` says.

    Region and endpoint are boto3's own variables (``AWS_DEFAULT_REGION``,
    ``AWS_ENDPOINT_URL_S3``).
    """
    from .s3 import s3_client

    environ = os.environ if environ is None else environ
    return s3_client(addressing_style=environ.get(env_name("ADDRESSING_STYLE")) or "auto")


def config_from_env(environ: Mapping[str, str] | None = None) -> ProcessorConfig:
    """A ProcessorConfig from the environment (default ``os.environ``). Raises ConfigError."""
    environ = os.environ if environ is None else environ
    values = {**PROCESSOR_DEFAULTS, **settings_from_env(environ)}
    if "{id}" not in values["CALLBACK_URL"]:
        raise ConfigError(f"{env_name('CALLBACK_URL')} must contain '{{id}}'.")
    return build_config(values, secret=load_secrets(environ)[0])


def build_config(values: Mapping[str, Any], *, secret: str) -> ProcessorConfig:
    """A ProcessorConfig from settings-shaped ``values`` (``REALTIME_UPLOADS`` keys).

    ``VARIANTS`` may be the settings dict or already-built VariantSpecs;
    ``secret`` signs the callbacks. Used for the environment and for Django's settings.
    """
    variants = values["VARIANTS"]
    return ProcessorConfig(
        key_prefix=values["KEY_PREFIX"],
        variant_prefix=values["VARIANT_PREFIX"],
        variants=variant_specs(variants) if isinstance(variants, Mapping) else tuple(variants),
        max_size=values["MAX_SIZE"],
        max_pixels=values["MAX_PIXELS"],
        allowed_formats=ProcessorConfig.formats_for(values["ALLOWED_CONTENT_TYPES"]),
        callback=CallbackClient(
            url_template=values["CALLBACK_URL"],
            secret=secret,
            attempts=values["CALLBACK_ATTEMPTS"],
            timeout=values["CALLBACK_TIMEOUT"],
            backoff=values["CALLBACK_BACKOFF"],
        ),
        bucket=values.get("BUCKET"),
        limits=ImageLimits.from_settings(values),
    )
