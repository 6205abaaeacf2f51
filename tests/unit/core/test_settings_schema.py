"""One table of settings, one validator: every bad value of every key is refused naming the key,
through REALTIME_UPLOADS (ImproperlyConfigured) and through the environment (ConfigError)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from realtime_uploads.conf import DEFAULTS, uploads_settings
from realtime_uploads.core.environment import env_name, settings_from_env
from realtime_uploads.core.errors import ConfigError, SettingError
from realtime_uploads.core.settings_schema import SETTINGS, max_body_size, validate
from realtime_uploads.processing.config import PROCESSOR_DEFAULTS, config_from_env

ROOT = Path(__file__).resolve().parents[3]
SECRET = {"REALTIME_UPLOADS_CALLBACK_SECRET": "s" * 40}
JPEG_VARIANT = {"width": 10, "height": 10, "format": "JPEG"}

#: Bad Python values per key, as a project could write them in REALTIME_UPLOADS.
BAD_VALUES: dict[str, list] = {
    "BACKEND": ["ftp", None, ""],
    "KEY_PREFIX": ["/", "/abs/", "no-slash", "", "a/../b/", "a//", "up loads/", None],
    "VARIANT_PREFIX": ["/", "v", "./", 3],
    "MAX_SIZE": [-5, 0, "10MB", True, 1.5, 6 * 1024**3],
    "ALLOWED_CONTENT_TYPES": [["text/html"], "image/jpeg", [], None, ["image/svg+xml"]],
    "MAX_PIXELS": [0, -1, "many", None],
    "MAX_ASPECT_RATIO": [1, 0.5, -3, "wide", float("inf"), float("nan"), True],
    "MAX_DECODE_BYTES": [1024, 0, 1024 * 1024 - 1, 2.5e8, None],
    "IMAGE_CPU_SECONDS": [0, -1, float("inf"), "10", None],
    "CALLBACK_URL": ["http://x/callback/", "ftp://x/{id}/", "/api/{id}/", "http://x/{id}/{other}/",
                     "http://x/{id}/{", "http:///{id}", None],
    "CALLBACK_ATTEMPTS": [0, -1, 101, 2.0],
    "CALLBACK_TIMEOUT": [0, -1, float("inf"), None],
    "CALLBACK_BACKOFF": [0, -0.5, "fast"],
    "VARIANTS": [{}, None, [JPEG_VARIANT], {"t": {**JPEG_VARIANT, "format": "BMP"}},
                 {"t": {**JPEG_VARIANT, "width": 0}}, {"t": {**JPEG_VARIANT, "height": "10"}},
                 {"t": {**JPEG_VARIANT, "quality": 101}}, {"t": {**JPEG_VARIANT, "crop": True}},
                 {"bad name": JPEG_VARIANT}, {"t": "JPEG"}, {"t": {**JPEG_VARIANT, "format": []}},
                 {"t": {**JPEG_VARIANT, "format": ["AVIF", "avif"]}}, {"t": {**JPEG_VARIANT, "format": ["AVIF", 3]}},
                 {"t": {**JPEG_VARIANT, "format": ["AVIF", "WEBP", "JPEG", "PNG", "GIF"]}},
                 {"t": {**JPEG_VARIANT, "quality": {"WEBP": 80}}}, {"t": {**JPEG_VARIANT, "quality": {"JPEG": 0}}},
                 {"t": {**JPEG_VARIANT, "animated": True}}, {"t": {**JPEG_VARIANT, "animated": "yes"}}],
    "MAX_ANIMATION_FRAMES": [0, -1, 2.5, None],
    "MAX_ANIMATION_PIXELS": [0, "many", None],
    "MAX_BODY_SIZE": [0, -1, "1MB", 1000],  # 1000 < MAX_SIZE
    "PRESIGN_EXPIRES": [0, 8 * 24 * 3600, "600"],
    "EXPIRE_GRACE": [-1, None, 1.0],
    "SUBSCRIBE_TOKEN_MAX_AGE": [0, 100],  # 100 <= PRESIGN_EXPIRES
    "CALLBACK_SECRETS": [None, "one-secret", [""], [None], [" padded "], {"a": 1}],
    "CALLBACK_TOLERANCE": [0, -300, None],
    "LONG_POLL_MAX_WAIT": [0, 31],
    "LONG_POLL_MAX_WAITERS": [0, None],
    "LONG_POLL_MAX_PER_CLIENT": [0, "20", None],
    "MAX_UNAUTHORISED_SOCKETS_PER_CLIENT": [0, "20"],
    "ALLOWED_ORIGINS": ["https://example.com", ["https://example.com/path"], ["null"], ["ftp://example.com"],
                        [None], None],
    "PROCESSING_TIMEOUT": [0, 20],  # 20 <= LOCAL_RETRY_AFTER
    "RETAIN_UNFINISHED": [0, -1, "86400", 1.5],
    "RETAIN_UNREFERENCED": [0, "a day", True],
    "DB_THREADS": [0, "4"],
    "DB_MAX_QUEUED": [-1, None],
    "LOCAL_PROCESSOR_THREADS": [0, 1.5],
    "LOCAL_MAX_QUEUED": [-1, "many"],
    "LOCAL_RETRY_AFTER": [0, 900],  # 900 >= PROCESSING_TIMEOUT
    "LOCAL_SHUTDOWN_TIMEOUT": [0, None],
    "LOCAL_ROOT": ["", "  ", 5, "dir\x00name", ["a folder"]],
    "LOCAL_SWEEP": ["yes", 1, None],
    "MAX_SOCKETS_PER_UPLOAD": [0, -1, None],
    "MAX_SOCKETS_PER_CLIENT": [0, "200"],
    "MAX_MESSAGE_SIZE": [255, 0, None],
    "MAX_SUBSCRIPTIONS_PER_SOCKET": [0, "100", None],
    "MAX_BATCH_FILES": [0, "50", True],
    "DOWNLOAD_URL_EXPIRES": [0, 604801, "300"],
    "HISTORY_PAGE_SIZE": [0, 101, "20"],
    "TRUSTED_PROXIES": ["10.0.0.0/8", ["not-an-ip"], ["10.0.0.0/33"], [None], None],
    "PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny", ["AllowAny"], [3], None, ["a. b"]],
    "PRESIGN_RATE": ["60", "60/fortnight", "0/min", "-1/min", 60, ""],
    "PRESIGN_USER_RATE": ["many", "120/", 120],
    "MAX_PENDING_PER_CLIENT": [0, -1, "20"],
    "THROTTLE_CACHE": ["", None, "two words", "nonexistent"],  # not a CACHES alias
    "BUCKET": ["", "my bucket", 5],
    "REGION": ["", 1],
    "ENDPOINT_URL": ["localhost:9000", "", "s3://x"],
    "ADDRESSING_STYLE": ["dns", None],
    "VARIANT_URL_EXPIRES": [0, 8 * 24 * 3600],
    "PUBLIC_BASE_URL": ["cdn.example.com", ""],
}

#: Bad environment values per key (REALTIME_UPLOADS_<KEY>); a value that does not parse counts too.
BAD_ENV: dict[str, list[str]] = {
    "BACKEND": ["ftp"],
    "KEY_PREFIX": ["/", "no-slash", "../"],
    "VARIANT_PREFIX": ["/", "uploads/"],  # contains / is KEY_PREFIX
    "MAX_SIZE": ["-5", "0", "ten", "10MB", "6442450944"],
    "ALLOWED_CONTENT_TYPES": ["text/html", "image/jpeg,text/html", ","],
    "MAX_PIXELS": ["0", "1e6"],
    "MAX_ASPECT_RATIO": ["1", "0.5", "inf", "nan", "wide"],
    "MAX_DECODE_BYTES": ["1024", "-1", "lots"],
    "IMAGE_CPU_SECONDS": ["0", "-1", "inf"],
    "CALLBACK_URL": ["http://x/callback/", "ftp://x/{id}/", "http://x/{id}/{other}/"],
    "CALLBACK_ATTEMPTS": ["0", "-1", "2.5"],
    "CALLBACK_TIMEOUT": ["0", "-1", "soon"],
    "CALLBACK_BACKOFF": ["0", "-1"],
    "VARIANTS": ["{not json", "{}", "[]", json.dumps({"t": {"width": 1, "height": 1, "format": "BMP"}}),
                 json.dumps({"t": {"width": "1", "height": 1, "format": "JPEG"}}),
                 json.dumps({"t": {"width": 1, "height": 1, "format": ["JPEG", "AVIF"], "animated": True}})],
    "MAX_ANIMATION_FRAMES": ["0", "lots"],
    "MAX_ANIMATION_PIXELS": ["0", "1e8"],
    "MAX_BODY_SIZE": ["0", "1000", "big"],
    "PRESIGN_EXPIRES": ["0", "604801"],
    "EXPIRE_GRACE": ["-1"],
    "SUBSCRIBE_TOKEN_MAX_AGE": ["0", "600"],
    "CALLBACK_TOLERANCE": ["0"],
    "LONG_POLL_MAX_WAIT": ["0", "31"],
    "LONG_POLL_MAX_WAITERS": ["0"],
    "LONG_POLL_MAX_PER_CLIENT": ["0", "x"],
    "MAX_UNAUTHORISED_SOCKETS_PER_CLIENT": ["0"],
    "ALLOWED_ORIGINS": ["https://example.com/x", "https://a.example,null"],
    "PROCESSING_TIMEOUT": ["0", "30"],
    "DB_THREADS": ["0"],
    "DB_MAX_QUEUED": ["-1"],
    "LOCAL_PROCESSOR_THREADS": ["0"],
    "RETAIN_UNFINISHED": ["0", "a day"],
    "RETAIN_UNREFERENCED": ["-5"],
    "LOCAL_MAX_QUEUED": ["-1"],
    "LOCAL_RETRY_AFTER": ["0", "900"],
    "LOCAL_SHUTDOWN_TIMEOUT": ["0"],
    "LOCAL_ROOT": ["dir\x07name"],
    "LOCAL_SWEEP": ["maybe", "flase"],
    "MAX_SOCKETS_PER_UPLOAD": ["0"],
    "MAX_SOCKETS_PER_CLIENT": ["0", "-5"],
    "MAX_MESSAGE_SIZE": ["255"],
    "MAX_SUBSCRIPTIONS_PER_SOCKET": ["0", "many"],
    "MAX_BATCH_FILES": ["0", "-1"],
    "DOWNLOAD_URL_EXPIRES": ["0", "604801"],
    "HISTORY_PAGE_SIZE": ["0", "101"],
    "TRUSTED_PROXIES": ["not-an-ip", "10.0.0.0/33", "10.0.0.0/8,nope"],
    "PRESIGN_RATE": ["60", "60/fortnight"],
    "PRESIGN_USER_RATE": ["lots"],
    "MAX_PENDING_PER_CLIENT": ["0"],
    "PERMISSION_CLASSES": ["AllowAny", "rest_framework.permissions.AllowAny,not a path"],
    "THROTTLE_CACHE": ["two words"],
    "BUCKET": ["my bucket"],
    "REGION": ["us east"],
    "ENDPOINT_URL": ["localhost:9000"],
    "ADDRESSING_STYLE": ["dns"],
    "VARIANT_URL_EXPIRES": ["0", "604801"],
    "PUBLIC_BASE_URL": ["cdn.example.com"],
}
#: Keys no environment string can make invalid: the secret list drops empty items and surrounding spaces.
NO_BAD_ENV = {"CALLBACK_SECRETS"}


def _cases(table):
    return [pytest.param(key, value, id=f"{key}={value!r}"[:60]) for key, values in table.items() for value in values]


def test_every_key_has_bad_values_in_both_tables():
    assert set(BAD_VALUES) == set(SETTINGS)
    assert set(BAD_ENV) | NO_BAD_ENV == set(SETTINGS)


@pytest.mark.parametrize(("key", "value"), _cases(BAD_VALUES))
def test_bad_value_raises_improperly_configured_naming_the_key(settings, key, value):
    settings.REALTIME_UPLOADS = {key: value}
    with pytest.raises(ImproperlyConfigured, match=re.escape(f"REALTIME_UPLOADS[{key!r}]")):
        uploads_settings.MAX_SIZE  # noqa: B018 - reading validates


@pytest.mark.parametrize(("key", "value"), _cases(BAD_ENV))
def test_bad_variable_raises_config_error_naming_the_variable_and_the_key(key, value):
    with pytest.raises(ConfigError) as caught:
        config_from_env({**SECRET, env_name(key): value})
    assert env_name(key) in str(caught.value)
    assert f"REALTIME_UPLOADS[{key!r}]" in str(caught.value)


@pytest.mark.parametrize(("name", "value"), [
    ("MAX_SIZE", "-5"), ("KEY_PREFIX", "/"), ("CALLBACK_ATTEMPTS", "0"), ("ALLOWED_CONTENT_TYPES", "text/html"),
])
def test_the_processor_refuses_what_it_used_to_accept(name, value):
    with pytest.raises(ConfigError, match=f"REALTIME_UPLOADS_{name}={value!r}"):
        config_from_env({**SECRET, f"REALTIME_UPLOADS_{name}": value})


def test_none_secrets_are_improperly_configured_not_a_type_error(settings):
    settings.REALTIME_UPLOADS = {"CALLBACK_SECRETS": None}
    with pytest.raises(ImproperlyConfigured, match="CALLBACK_SECRETS"):
        uploads_settings.CALLBACK_SECRETS  # noqa: B018


def test_secrets_are_never_echoed_in_errors(settings):
    settings.REALTIME_UPLOADS = {"CALLBACK_SECRETS": ["fine-secret", " leaked-secret "]}
    with pytest.raises(ImproperlyConfigured) as caught:
        uploads_settings.CALLBACK_SECRETS  # noqa: B018
    assert "secret " not in str(caught.value) and "leaked" not in str(caught.value)


def test_the_demo_project_refuses_a_bad_variable_naming_it():
    with pytest.raises(ConfigError, match="REALTIME_UPLOADS_MAX_SOCKETS_PER_CLIENT='0'"):
        settings_from_env({"REALTIME_UPLOADS_MAX_SOCKETS_PER_CLIENT": "0"})


def test_defaults_come_from_the_one_table():
    assert DEFAULTS == {key: s.default for key, s in SETTINGS.items()}
    assert PROCESSOR_DEFAULTS == {key: s.default for key, s in SETTINGS.items() if s.processor}
    assert {"MAX_ASPECT_RATIO", "MAX_DECODE_BYTES", "IMAGE_CPU_SECONDS"} <= set(PROCESSOR_DEFAULTS)
    assert (DEFAULTS["MAX_SOCKETS_PER_UPLOAD"], DEFAULTS["MAX_SOCKETS_PER_CLIENT"], DEFAULTS["MAX_MESSAGE_SIZE"],
            DEFAULTS["TRUSTED_PROXIES"], DEFAULTS["PRESIGN_RATE"], DEFAULTS["PRESIGN_USER_RATE"],
            DEFAULTS["MAX_PENDING_PER_CLIENT"], DEFAULTS["THROTTLE_CACHE"], DEFAULTS["MAX_BODY_SIZE"]) == (
        20, 200, 4096, [], "60/min", "120/min", 20, "default", None)
    assert (DEFAULTS["MAX_ASPECT_RATIO"], DEFAULTS["MAX_DECODE_BYTES"], DEFAULTS["IMAGE_CPU_SECONDS"]) == (
        50.0, 256 * 1024 * 1024, 10.0)


def test_defaults_are_valid_and_validating_twice_changes_nothing():
    once = validate({})
    assert validate(once) == once


def test_good_values_are_normalised():
    values = validate({"TRUSTED_PROXIES": ["10.1.2.3/8", "::1"], "ALLOWED_CONTENT_TYPES": ["image/png"],
                       "MAX_ASPECT_RATIO": 20, "PRESIGN_RATE": None})
    assert values["TRUSTED_PROXIES"] == ("10.0.0.0/8", "::1/128")
    assert values["ALLOWED_CONTENT_TYPES"] == ("image/png",)
    assert values["MAX_ASPECT_RATIO"] == 20.0 and isinstance(values["MAX_ASPECT_RATIO"], float)
    assert values["PRESIGN_RATE"] is None


def test_environment_values_parse_for_the_new_keys():
    env = {"REALTIME_UPLOADS_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.0.0/16", "REALTIME_UPLOADS_PRESIGN_RATE": "none",
           "REALTIME_UPLOADS_MAX_BODY_SIZE": "20000000", "REALTIME_UPLOADS_IMAGE_CPU_SECONDS": "2.5",
           "REALTIME_UPLOADS_LOCAL_SWEEP": "off"}
    assert settings_from_env(env) == {"TRUSTED_PROXIES": ["10.0.0.0/8", "192.168.0.0/16"], "PRESIGN_RATE": None,
                                      "MAX_BODY_SIZE": 20_000_000, "IMAGE_CPU_SECONDS": 2.5, "LOCAL_SWEEP": False}


def test_max_body_size_defaults_to_max_size_plus_the_form_fields(settings):
    assert max_body_size(validate({"MAX_SIZE": 1000, "MAX_BODY_SIZE": None})) == 1000 + 64 * 1024
    assert max_body_size(validate({"MAX_BODY_SIZE": 20 * 1024 * 1024})) == 20 * 1024 * 1024
    settings.REALTIME_UPLOADS = {"MAX_SIZE": 2048}
    assert uploads_settings.max_body_size() == 2048 + 64 * 1024


def test_unknown_key_is_named():
    with pytest.raises(SettingError, match="MAX_SIZ'"):
        validate({"MAX_SIZ": 1})


def test_throttle_cache_must_be_a_caches_alias(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
                       "throttle": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.REALTIME_UPLOADS = {"THROTTLE_CACHE": "throttle"}
    assert uploads_settings.THROTTLE_CACHE == "throttle"


def test_the_settings_reference_lists_every_key():
    reference = (ROOT / "docs" / "settings.md").read_text()
    assert [key for key in SETTINGS if f"| `{key}` |" not in reference] == []
