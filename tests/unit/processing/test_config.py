"""The processor's environment: parsing, shared defaults, secrets from Secrets Manager / SSM (moto)."""

from __future__ import annotations

import json

import boto3
import pytest

from realtime_uploads.conf import DEFAULTS
from realtime_uploads.core.environment import settings_from_env
from realtime_uploads.core.errors import ConfigError
from realtime_uploads.processing.config import PROCESSOR_DEFAULTS, config_from_env, load_secrets

BASE = {"REALTIME_UPLOADS_CALLBACK_SECRET": "s1,s2"}


def test_defaults_are_the_django_settings_defaults():
    config = config_from_env(BASE)
    assert all(DEFAULTS[key] == value for key, value in PROCESSOR_DEFAULTS.items())
    assert config.max_size == DEFAULTS["MAX_SIZE"] and config.key_prefix == "uploads/"
    assert [v.name for v in config.variants] == ["thumb", "large"]
    assert config.callback.secret == "s1"  # the first secret signs


def test_variables_override_and_parse():
    env = {**BASE, "REALTIME_UPLOADS_MAX_SIZE": "2048", "REALTIME_UPLOADS_CALLBACK_TIMEOUT": "2.5",
           "REALTIME_UPLOADS_ALLOWED_CONTENT_TYPES": "image/png, image/gif",
           "REALTIME_UPLOADS_VARIANTS": json.dumps({"tiny": {"width": 10, "height": 10, "format": "png"}}),
           "REALTIME_UPLOADS_BUCKET": "b"}
    config = config_from_env(env)
    assert (config.max_size, config.callback.timeout, config.bucket) == (2048, 2.5, "b")
    assert set(config.allowed_formats) == {"PNG", "GIF"}
    assert [(v.name, v.format) for v in config.variants] == [("tiny", "PNG")]


@pytest.mark.parametrize(
    ("name", "value"),
    [("REALTIME_UPLOADS_MAX_SIZE", "ten"), ("REALTIME_UPLOADS_VARIANTS", "{not json"),
     ("REALTIME_UPLOADS_VARIANTS", json.dumps({"t": {"width": 1, "height": 1, "format": "BMP"}})),
     ("REALTIME_UPLOADS_CALLBACK_URL", "http://x/callback/")],
)
def test_bad_values_raise_config_error_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        config_from_env({**BASE, name: value})


def test_missing_secret_is_a_config_error():
    with pytest.raises(ConfigError, match="REALTIME_UPLOADS_CALLBACK_SECRET"):
        config_from_env({})


def test_empty_variables_are_ignored():
    assert settings_from_env({"REALTIME_UPLOADS_MAX_SIZE": ""}) == {}


def test_secret_from_secrets_manager(aws):
    arn = boto3.client("secretsmanager").create_secret(Name="cb", SecretString="from-sm,older")["ARN"]
    assert load_secrets({"REALTIME_UPLOADS_CALLBACK_SECRET_ARN": arn}) == ["from-sm", "older"]


def test_secret_from_ssm_parameter_store(aws):
    boto3.client("ssm").put_parameter(Name="/ru/cb", Value="from-ssm", Type="SecureString")
    assert load_secrets({"REALTIME_UPLOADS_CALLBACK_SECRET_PARAMETER": "/ru/cb"}) == ["from-ssm"]


def test_demo_project_reads_the_same_variables(monkeypatch):
    import importlib

    import config.settings as project

    monkeypatch.setenv("REALTIME_UPLOADS_MAX_SIZE", "4096")
    monkeypatch.setenv("REALTIME_UPLOADS_CALLBACK_SECRET", "a,b")
    try:
        reloaded = importlib.reload(project)
        assert reloaded.REALTIME_UPLOADS["MAX_SIZE"] == 4096
        assert reloaded.REALTIME_UPLOADS["CALLBACK_SECRETS"] == ["a", "b"]
    finally:
        monkeypatch.undo()
        importlib.reload(project)
