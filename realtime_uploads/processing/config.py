"""The processor's settings: shared defaults, and the environment of Lambda, workers and compose.

The names are those of ``REALTIME_UPLOADS`` with a ``REALTIME_UPLOADS_``
prefix (``REALTIME_UPLOADS_MAX_SIZE``); the exception is the secret list,
``REALTIME_UPLOADS_CALLBACK_SECRET`` (comma-separated, first signs).
``REALTIME_UPLOADS_VARIANTS`` is JSON. Instead of the plain secret, a deploy may name where it is kept:
``REALTIME_UPLOADS_CALLBACK_SECRET_ARN`` (AWS Secrets Manager) or
``REALTIME_UPLOADS_CALLBACK_SECRET_PARAMETER`` (SSM Parameter Store,
SecureString). The Django project reads the same variables
(``config/settings.py`` calls :func:`settings_from_env`), and both validate
with the one table of :mod:`.settings_schema`, so the web process and the
processor cannot drift apart. No Django import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .animation import AnimationBudget
from .callback import CallbackClient
from .limits import ImageLimits
from .pipeline import ProcessorConfig
from .setting_kinds import Invalid, Variants
from .settings_schema import DEFAULTS as ALL_DEFAULTS
from .settings_schema import PROCESSOR_KEYS, SETTINGS, SettingError, check_value, validate
from .variants import VariantSpec

ENV_PREFIX = "REALTIME_UPLOADS_"

#: Defaults shared by the Django settings object and the processor (from settings_schema.SETTINGS).
PROCESSOR_DEFAULTS: dict[str, Any] = {key: ALL_DEFAULTS[key] for key in PROCESSOR_KEYS}


class ConfigError(ValueError):
    """A processor setting is missing or malformed; the message names the variable and the key."""


def _csv(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_name(key: str) -> str:
    """The environment variable of a setting: ``MAX_SIZE`` → ``REALTIME_UPLOADS_MAX_SIZE``."""
    return ENV_PREFIX + ("CALLBACK_SECRET" if key == "CALLBACK_SECRETS" else key)


def _env_error(exc: SettingError, environ: Mapping[str, str]) -> ConfigError:
    """``exc`` naming the variables too: those of its keys that are set (with their values), else its own."""
    keys = [key for key in (exc.key, *exc.also) if env_name(key) in environ] or [exc.key]
    named = ", ".join(env_name(key) + ("" if env_name(key) not in environ or SETTINGS[key].secret
                                       else f"={environ[env_name(key)]!r}") for key in keys)
    return ConfigError(f"{named}: {exc}")


def settings_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings given in ``environ`` (every key, as ``REALTIME_UPLOADS_<KEY>``), parsed; absent ones omitted.

    Values are parsed (ints, floats, comma-separated lists, ``VARIANTS`` as
    JSON, ``none`` for an optional value) and each is checked on its own
    (settings_schema.check_value); they are returned as parsed, not
    normalised, so a project may still edit them. Raises ConfigError naming
    the variable and the key whose value does not parse or is out of range.
    """
    values: dict[str, Any] = {}
    for key, setting in SETTINGS.items():
        name = env_name(key)
        raw = environ.get(name)
        if raw is None or raw == "":
            continue
        try:
            value = setting.kind.parse(raw)
        except ValueError as exc:
            shown = "" if setting.secret else f"={raw!r}"
            raise ConfigError(f"{name}{shown} (REALTIME_UPLOADS[{key!r}]) does not parse: {exc}") from exc
        try:
            check_value(key, value)
        except SettingError as exc:
            raise _env_error(exc, environ) from exc
        values[key] = value
    return values


def variant_specs(variants: Mapping[str, Mapping[str, Any]]) -> tuple[VariantSpec, ...]:
    """``{name: {width, height, format, quality?, animated?}}`` → VariantSpecs; ConfigError names the variable."""
    try:
        return Variants().check(variants)
    except Invalid as exc:
        raise ConfigError(f"{env_name('VARIANTS')}: REALTIME_UPLOADS['VARIANTS'] {exc}.") from exc


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
    """A ProcessorConfig from the environment (default ``os.environ``), every value validated.

    Raises ConfigError naming the variable and the key: a value that does not
    parse or is out of range (settings_schema), values that contradict each
    other, or no callback secret.
    """
    environ = os.environ if environ is None else environ
    try:
        values = validate(settings_from_env(environ))
    except SettingError as exc:
        raise _env_error(exc, environ) from exc
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
        animation=AnimationBudget(
            max_frames=values.get("MAX_ANIMATION_FRAMES", PROCESSOR_DEFAULTS["MAX_ANIMATION_FRAMES"]),
            max_pixels=values.get("MAX_ANIMATION_PIXELS", PROCESSOR_DEFAULTS["MAX_ANIMATION_PIXELS"]),
        ),
    )
