"""Settings of the runnable service (``make demo``, docker-compose, a plain host).

Driven by the environment variables listed in docs/deploying.md ("Environment of the runnable service");
every default is the embedded demo: SQLite, in-memory channel layer, the
local backend and the in-process processor. Nothing secret is a constant:
without ``DJANGO_SECRET_KEY`` / ``REALTIME_UPLOADS_CALLBACK_SECRET`` the
secrets are generated once per checkout into the state folder
(``$REALTIME_UPLOADS_STATE_DIR``, files ``secret_key`` and
``callback_secret``, mode 0600), and DEBUG is off unless ``DJANGO_DEBUG=1``.
``manage.py check --deploy`` fails on what a production deploy must change.
"""

import importlib.util
import os
from pathlib import Path

import dj_database_url

from config.stack import DEMO_CONTENT_TYPES
from realtime_uploads.core.environment import settings_from_env
from realtime_uploads.core.generated_secrets import state_secret
from realtime_uploads.push.layer_settings import channel_layer_settings, sentinels_from_string

BASE_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("REALTIME_UPLOADS_STATE_DIR", BASE_DIR / ".state"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PORT = int(os.environ.get("PORT", "8000"))
# Signs sessions, subscribe tokens and local upload policies: from the environment in production.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or state_secret(STATE_DIR / "secret_key")
# Tracebacks, settings and the URL list for anyone who asks: only when explicitly wanted.
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "servestatic.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files served from here, not from a CDN
    "channels",
    "realtime_uploads",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{STATE_DIR / 'db.sqlite3'}", conn_max_age=0
    )
}
SQLITE_OPTIONS = {
    # Writers take the lock when their transaction begins (no lock-upgrade
    # "database is locked" errors between concurrent callbacks), wait up to
    # 20 s for it, and WAL lets the status GET and the sockets read meanwhile.
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
elif "postgresql" in DATABASES["default"]["ENGINE"] and importlib.util.find_spec("psycopg_pool"):
    # Django's psycopg pool (5.1+): a request borrows a connection and gives it back when it ends,
    # instead of connecting afresh (~10 ms here) and holding one per thread. max_size bounds what one
    # process takes from PostgreSQL's max_connections; waiting longer than `timeout` s is an error.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": int(os.environ.get("DATABASE_POOL_MAX_SIZE", "16")),
        "timeout": 10,
        "max_idle": 300,
    }

if os.environ.get("REDIS_URL") or os.environ.get("REDIS_SENTINELS"):
    # Pub/Sub by default: one PUBLISH per event, no capacity to overflow, and every socket
    # re-sent the truth after a Redis reconnect (realtime_uploads.push.layers / .resync).
    CHANNEL_LAYERS = {
        "default": channel_layer_settings(
            os.environ.get("REDIS_URL"),
            layer=os.environ.get("REALTIME_UPLOADS_CHANNEL_LAYER", "pubsub"),
            sentinels=list(sentinels_from_string(os.environ.get("REDIS_SENTINELS", ""))),
            sentinel_master=os.environ.get("REDIS_SENTINEL_MASTER"),
        )
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

STATIC_URL = "/static/"
STATIC_ROOT = STATE_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", STATE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "servestatic.storage.CompressedStaticFilesStorage"},
}
SERVESTATIC_USE_FINDERS = DEBUG

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    # The demo lets anonymous visitors upload; the subscribe token then authorises the rest.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    # Presign is throttled by the app itself (REALTIME_UPLOADS PRESIGN_RATE, PRESIGN_USER_RATE,
    # MAX_PENDING_PER_CLIENT; env REALTIME_UPLOADS_<KEY>), per client IP behind TRUSTED_PROXIES and
    # shared by every process through CACHES. DRF's own throttles would key on X-Forwarded-For as
    # any client sends it (with NUM_PROXIES unset), so none are added here; NUM_PROXIES 0 keeps any
    # a project adds on the peer address.
    "DEFAULT_THROTTLE_CLASSES": [],
    "NUM_PROXIES": 0,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# Throttle counts (REALTIME_UPLOADS["THROTTLE_CACHE"]) must be shared for limits to hold across
# processes: Django's Redis cache when REDIS_URL is set, else this process's memory.
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "realtime-uploads",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# OpenAPI at /api/schema/ (its content settings: realtime_uploads.schema), Swagger UI at
# /api/schema/swagger/ with its files served from drf-spectacular-sidecar, not from a CDN.
SPECTACULAR_SETTINGS = {"SWAGGER_UI_DIST": "SIDECAR", "SWAGGER_UI_FAVICON_HREF": "SIDECAR", "REDOC_DIST": "SIDECAR"}

# Every REALTIME_UPLOADS_<KEY> variable (the processor reads the same ones, see
# realtime_uploads.processing.config) overrides the demo values below.
REALTIME_UPLOADS = {
    "CALLBACK_URL": f"http://127.0.0.1:{PORT}/api/uploads/{{id}}/callback/",
    # The app's defaults plus the formats phones send (AVIF, HEIC/HEIF: opt-in, see the settings reference);
    # make stack and compose give every process the same value in REALTIME_UPLOADS_ALLOWED_CONTENT_TYPES.
    "ALLOWED_CONTENT_TYPES": DEMO_CONTENT_TYPES.split(","),
    # The local backend's originals and variants, beside the other state (not in MEDIA_ROOT).
    "LOCAL_ROOT": STATE_DIR / "files",
    # The demo lets anonymous visitors upload (the app's default is signed-in users only); presign takes
    # JSON only, so a cross-site page cannot presign for a visitor without a CORS preflight (SECURITY.md).
    "PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    **settings_from_env(os.environ),
}
if "CALLBACK_SECRETS" not in REALTIME_UPLOADS:
    # The local backend's in-process processor reads it here; a separate processor needs it in its environment.
    REALTIME_UPLOADS["CALLBACK_SECRETS"] = [state_secret(STATE_DIR / "callback_secret")]
if os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"):
    # S3-compatible servers (moto, MinIO) want path-style addressing. boto3 takes either variable as the
    # S3 endpoint (the second for every service), so both mean one here, as in the worker.
    REALTIME_UPLOADS.setdefault("ADDRESSING_STYLE", "path")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)-8s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    # Not propagated: daphne gives the root logger a handler too, and every line would print twice.
    "loggers": {"realtime_uploads": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

# STATIC_ROOT too: with DEBUG off servestatic scans it at start (collectstatic fills it).
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
