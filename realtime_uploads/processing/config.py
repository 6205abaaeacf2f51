"""The processor's configuration: from Django's settings (the local backend) or from the environment.

Lambda, the SQS worker and compose configure the processor with
``REALTIME_UPLOADS_<KEY>`` variables (:mod:`realtime_uploads.core.environment`
parses them against the one settings table, so the web process and the
processor cannot drift apart). Instead of the plain secret, a deploy may name
where it is kept: ``REALTIME_UPLOADS_CALLBACK_SECRET_ARN`` (AWS Secrets
Manager) or ``REALTIME_UPLOADS_CALLBACK_SECRET_PARAMETER`` (SSM Parameter
Store, SecureString). No Django import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from realtime_uploads.core.environment import ENV_PREFIX, env_error, env_name, settings_from_env
from realtime_uploads.core.errors import ConfigError, Invalid, SettingError
from realtime_uploads.core.setting_kinds import Variants, csv
from realtime_uploads.core.settings_schema import DEFAULTS as ALL_DEFAULTS
from realtime_uploads.core.settings_schema import PROCESSOR_KEYS, validate
from realtime_uploads.core.variants import VariantSpec
from realtime_uploads.processing.callback_client import CallbackClient
from realtime_uploads.processing.image.animation import AnimationBudget
from realtime_uploads.processing.image.limits import ImageLimits
from realtime_uploads.processing.pipeline import ProcessorConfig

#: Defaults shared by the Django settings object and the processor (from settings_schema.SETTINGS).
PROCESSOR_DEFAULTS: dict[str, Any] = {key: ALL_DEFAULTS[key] for key in PROCESSOR_KEYS}


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
    plain = csv(environ.get(env_name("CALLBACK_SECRETS"), ""))
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
    secrets = csv(value)
    if not secrets:
        raise ConfigError(f"The callback secret at {arn or parameter} is empty.")
    return secrets


def s3_client_from_env(environ: Mapping[str, str] | None = None):
    """The process's S3 client, addressed as ``REALTIME_UPLOADS_ADDRESSING_STYLE`` says.

    Region and endpoint are boto3's own variables (``AWS_DEFAULT_REGION``,
    ``AWS_ENDPOINT_URL_S3``).
    """
    from realtime_uploads.core.s3_client import s3_client  # boto3 is imported where S3 is used, not before

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
        raise env_error(exc, environ) from exc
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
