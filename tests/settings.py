"""Test settings: the demo project's, with a private MEDIA_ROOT and a known callback secret."""

import tempfile
from pathlib import Path

from config.settings import *  # noqa: F403

MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="realtime-uploads-test-media-"))
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}  # noqa: F405
REALTIME_UPLOADS = {
    "CALLBACK_SECRETS": ["test-callback-secret-0123456789abcdef"],
    "CALLBACK_ATTEMPTS": 3,
    "CALLBACK_BACKOFF": 0.05,
    "CALLBACK_TIMEOUT": 5.0,
}
