"""REALTIME_UPLOADS: defaults, validation naming the key, cache cleared on change; system checks."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from realtime_uploads.checks import check_settings
from realtime_uploads.checks.deploy import check_deploy
from realtime_uploads.conf import DEFAULTS, uploads_settings
from realtime_uploads.push.layer_settings import channel_layer_settings


def use(settings, **values):
    settings.REALTIME_UPLOADS = values
    # A shared throttle cache (W006 is tested on its own); the checks read the configuration only.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:6379/0"}}


def test_defaults_apply_when_the_project_sets_nothing(settings):
    use(settings)
    assert uploads_settings.MAX_SIZE == 10 * 1024 * 1024
    assert uploads_settings.PRESIGN_EXPIRES == 600
    assert uploads_settings.KEY_PREFIX == "uploads/"
    assert [v.name for v in uploads_settings.VARIANTS] == ["thumb", "large"]
    assert uploads_settings.VARIANTS[0].format == "WEBP"


def test_override_settings_clears_the_cache(settings):
    use(settings, MAX_SIZE=123)
    assert uploads_settings.MAX_SIZE == 123
    use(settings, MAX_SIZE=456)
    assert uploads_settings.MAX_SIZE == 456


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"NOT_A_KEY": 1}, "NOT_A_KEY"),
        ({"BACKEND": "ftp"}, "BACKEND"),
        ({"MAX_SIZE": 0}, "MAX_SIZE"),
        ({"MAX_SIZE": "10MB"}, "MAX_SIZE"),
        ({"PRESIGN_EXPIRES": True}, "PRESIGN_EXPIRES"),
        ({"KEY_PREFIX": "/abs/"}, "KEY_PREFIX"),
        ({"KEY_PREFIX": "no-slash"}, "KEY_PREFIX"),
        ({"VARIANT_PREFIX": "uploads/"}, "VARIANT_PREFIX"),
        ({"ALLOWED_CONTENT_TYPES": ["image/svg+xml"]}, "ALLOWED_CONTENT_TYPES"),
        ({"ALLOWED_CONTENT_TYPES": "image/jpeg"}, "ALLOWED_CONTENT_TYPES"),
        ({"CALLBACK_SECRETS": "one-secret"}, "even if there is only one"),
        ({"CALLBACK_URL": "http://x/callback/"}, "CALLBACK_URL"),
        ({"CALLBACK_TIMEOUT": -1}, "CALLBACK_TIMEOUT"),
        ({"VARIANTS": {}}, "VARIANTS"),
        ({"VARIANTS": {"t": {"width": 10, "height": 10, "format": "BMP"}}}, "format"),
        ({"VARIANTS": {"t": {"width": 0, "height": 10, "format": "JPEG"}}}, "width"),
        ({"VARIANTS": {"t": {"width": 10, "height": 10, "format": "JPEG", "quality": 101}}}, "quality"),
        ({"VARIANTS": {"t": {"width": 10, "height": 10, "format": "JPEG", "crop": True}}}, "crop"),
        ({"VARIANTS": {"bad name": {"width": 10, "height": 10, "format": "JPEG"}}}, "bad name"),
        ({"SUBSCRIBE_TOKEN_MAX_AGE": 100}, "SUBSCRIBE_TOKEN_MAX_AGE"),
        ({"LONG_POLL_MAX_WAIT": 31}, "LONG_POLL_MAX_WAIT'] must be a whole number 1..30"),
        ({"LONG_POLL_MAX_WAITERS": 0}, "LONG_POLL_MAX_WAITERS"),
        ({"DB_THREADS": 0}, "DB_THREADS"),
        ({"DB_MAX_QUEUED": -1}, "DB_MAX_QUEUED"),
        ({"LOCAL_MAX_QUEUED": "many"}, "LOCAL_MAX_QUEUED"),
        ({"PROCESSING_TIMEOUT": 20, "LOCAL_RETRY_AFTER": 30}, "LOCAL_RETRY_AFTER"),
    ],
)
def test_bad_settings_raise_improperly_configured_naming_the_key(settings, values, named):
    use(settings, **values)
    with pytest.raises(ImproperlyConfigured, match=named.replace("[", r"\[")):
        uploads_settings.MAX_SIZE  # noqa: B018 - reading validates


def test_every_default_is_itself_valid(settings):
    use(settings, **DEFAULTS)
    assert uploads_settings.MAX_PIXELS == DEFAULTS["MAX_PIXELS"]


def test_check_reports_invalid_settings_and_missing_secret(settings):
    use(settings, MAX_SIZE=-5)
    assert [e.id for e in check_settings(None)] == ["realtime_uploads.E001"]
    use(settings, CALLBACK_SECRETS=[])  # left out, it is derived from SECRET_KEY (tests/unit/test_integration.py)
    assert [e.id for e in check_settings(None)] == ["realtime_uploads.E002"]


def test_check_requires_a_channel_layer(settings):
    use(settings, CALLBACK_SECRETS=["x" * 40])
    settings.CHANNEL_LAYERS = {}
    assert [e.id for e in check_settings(None)] == ["realtime_uploads.E003"]


@pytest.fixture
def sqlite_database(settings, monkeypatch):
    """The deploy checks read DATABASES; pin it to SQLite so the PostgreSQL pass expects the same warnings."""
    monkeypatch.setitem(settings.DATABASES, "default", {"ENGINE": "django.db.backends.sqlite3"})


def test_deploy_check_flags_the_in_memory_layer(settings, sqlite_database):
    use(settings, CALLBACK_SECRETS=["k" * 48])
    assert {w.id for w in check_deploy(None)} == {"realtime_uploads.W002"}
    settings.CHANNEL_LAYERS = {"default": channel_layer_settings("redis://127.0.0.1:6379/0")}
    assert check_deploy(None) == []


@pytest.mark.parametrize(("layer", "warning"), [
    ({"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://x"]}}, "W003"),
    ({"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": ["redis://x"]}}, "W004"),
])
def test_deploy_check_flags_channel_layers_that_lose_events(settings, sqlite_database, layer, warning):
    use(settings, CALLBACK_SECRETS=["k" * 48])
    settings.CHANNEL_LAYERS = {"default": layer}
    assert [w.id for w in check_deploy(None)] == [f"realtime_uploads.{warning}"]
    settings.CHANNEL_LAYERS = {"default": channel_layer_settings("redis://x:6379/0", layer="core")}
    assert check_deploy(None) == []  # capacity and group_expiry set for bursts


def test_deploy_check_flags_postgresql_connecting_afresh_per_request(settings, monkeypatch):
    use(settings, CALLBACK_SECRETS=["k" * 48])
    settings.CHANNEL_LAYERS = {"default": channel_layer_settings("redis://127.0.0.1:6379/0")}
    database = {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 0, "OPTIONS": {}}
    monkeypatch.setitem(settings.DATABASES, "default", database)  # read by the check only; no query runs
    assert [w.id for w in check_deploy(None)] == ["realtime_uploads.W005"]
    database["OPTIONS"] = {"pool": {"max_size": 8}}
    assert check_deploy(None) == []


def test_deploy_check_flags_a_per_process_throttle_cache(settings, sqlite_database):
    use(settings, CALLBACK_SECRETS=["k" * 48])
    settings.CHANNEL_LAYERS = {"default": channel_layer_settings("redis://127.0.0.1:6379/0")}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert [w.id for w in check_deploy(None)] == ["realtime_uploads.W006"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:6379/0"}}  # read by the check only
    assert check_deploy(None) == []


def test_check_flags_a_local_callback_url_that_allowed_hosts_refuses(settings):
    use(settings, CALLBACK_SECRETS=["x" * 40], CALLBACK_URL="http://127.0.0.1:8000/api/uploads/{id}/callback/")
    settings.ALLOWED_HOSTS = ["example.com"]
    assert [e.id for e in check_settings(None)] == ["realtime_uploads.E004"]
    settings.ALLOWED_HOSTS = ["example.com", "127.0.0.1"]
    assert check_settings(None) == []
