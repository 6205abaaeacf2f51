"""Test settings: the demo project's, with a private MEDIA_ROOT and a known callback secret."""

import os
import tempfile
from pathlib import Path

import dj_database_url

from config.settings import *  # noqa: F403

MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="realtime-uploads-test-media-"))
# A file, not ":memory:": shared-cache in-memory SQLite holds table locks across
# threads in ways a real file (the demo's database) does not.
_DB_DIR = Path(tempfile.mkdtemp(prefix="realtime-uploads-test-db-"))
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": _DB_DIR / "db.sqlite3",
        "TEST": {"NAME": str(_DB_DIR / "test.sqlite3")},
        "OPTIONS": SQLITE_OPTIONS,  # noqa: F405
    }
}
if os.environ.get("DATABASE_URL"):  # e.g. postgres://postgres@127.0.0.1:5432/test (.ci/run's second pass)
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"])}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}  # noqa: F405
# Each test process counts alone (never the shared Redis other runs use); throttling tests turn it on.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REALTIME_UPLOADS = {
    # The local backend's own folder (originals and variants), apart from MEDIA_ROOT as in a project.
    "LOCAL_ROOT": Path(tempfile.mkdtemp(prefix="realtime-uploads-test-files-")),
    # asgi.py starts the backend when imported; the sweep is tested in its own processes and directly.
    "LOCAL_SWEEP": False,
    # Presign limits are off except in the tests of them (tests/unit/presign/test_throttling.py).
    "PRESIGN_RATE": None,
    "PRESIGN_USER_RATE": None,
    "MAX_PENDING_PER_CLIENT": None,
    # Anonymous presign, as the demo opts into (the closed default: tests/unit/presign/test_safe_defaults.py).
    "PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "CALLBACK_SECRETS": ["test-callback-secret-0123456789abcdef"],
    "CALLBACK_ATTEMPTS": 3,
    "CALLBACK_BACKOFF": 0.05,
    "CALLBACK_TIMEOUT": 5.0,
}
# A model with upload reference fields (tests/unit/forms/test_model_fields.py).
INSTALLED_APPS = [*INSTALLED_APPS, "tests.formsapp"]  # noqa: F405
