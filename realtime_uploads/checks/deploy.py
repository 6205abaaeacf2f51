"""Deploy checks: ``manage.py check --deploy`` fails (exit status 1) on every insecure setting.

E101–E109 are Errors, not Warnings, so a deploy pipeline that runs the check
stops; W002–W006 warn about settings that hold on one process and break on
many. Each has its own id (``docs/deploying.md`` lists them); a deliberate
exception is silenced by id in ``SILENCED_SYSTEM_CHECKS``. Django's own
deploy warnings (HSTS, secure cookies, SSL redirect) still apply on top.

Messages name the settings a project sets (``SECRET_KEY``, ``DEBUG``,
``ALLOWED_HOSTS``, ``REALTIME_UPLOADS[...]``); the demo project's environment
variables (``DJANGO_SECRET_KEY``…) are added only when the settings module
is the demo's own (:func:`for_the_demo`).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from realtime_uploads.conf import uploads_settings
from realtime_uploads.core.generated_secrets import generated_path
from realtime_uploads.storage import backend_class

#: Secrets that were ever written in this repository (demo, compose, tests): public, whatever their length.
PUBLISHED_SECRETS = frozenset({
    "demo-insecure-secret-key-change-me",
    "demo-callback-secret-change-me",
    "compose-insecure-secret-key",
    "compose-callback-secret-change-me-0123456789",
    "test-callback-secret-0123456789abcdef",
    "e2e-callback-secret-0123456789abcdef0123",
    "e2e-django-secret-key-not-for-production-0123456789abcdefghijklmnop",
})
#: Shortest callback secret, bytes: HMAC-SHA256 gains nothing from more than 32 (RFC 2104 section 3).
MIN_CALLBACK_SECRET_BYTES = 32
GENERATE = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'


def for_the_demo(variables: str) -> str:
    """``" (the demo: <variables>)"`` when the settings module is the demo project's (``config.settings`` of this
    checkout, beside the package), else ``""``: a project has its own way to set its settings."""
    module = sys.modules.get(getattr(settings, "SETTINGS_MODULE", None) or "")
    path = getattr(module, "__file__", None)
    demo = Path(__file__).resolve().parents[2] / "config" / "settings.py"  # checks/ → the package → the checkout
    is_demo = path is not None and module.__name__ == "config.settings" and Path(path).resolve() == demo
    return f" (the demo: {variables})" if is_demo else ""


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _weak_secret_key(key: str) -> str | None:
    """Why ``key`` may not sign anything in production, or None (Django's own W009 rules, and ours)."""
    if key.startswith("django-insecure-"):
        return ("is the development key `django-admin startproject` wrote into settings.py (its "
                "'django-insecure-' prefix), so it sits in your repository and anyone who reads it can forge "
                "sessions, subscribe tokens and upload policies")
    if key in PUBLISHED_SECRETS:
        return "is a value published with the code, so anyone can forge sessions, subscribe tokens and upload policies"
    if len(key) < 50 or len(set(key)) < 5:
        return "is shorter than 50 characters or has fewer than 5 different ones"
    if generated_path(key):
        return (f"was generated into {generated_path(key)} because none was set{for_the_demo('DJANGO_SECRET_KEY')}: "
                "each host or container would sign with its own, and a new checkout invalidates every token")
    return None


@register(Tags.security, deploy=True)
def check_secrets(app_configs, **kwargs):
    """E101 SECRET_KEY weak, published or generated; E102 callback secret published or generated; E103 short."""
    errors = []
    for name, key in [("SECRET_KEY", settings.SECRET_KEY),
                      *(("SECRET_KEY_FALLBACKS", k) for k in getattr(settings, "SECRET_KEY_FALLBACKS", []))]:
        why = _weak_secret_key(key or "")
        if why:
            hint = (f"Set SECRET_KEY to a long random value kept out of the code{for_the_demo('DJANGO_SECRET_KEY')}: "
                    f"{GENERATE}" if name == "SECRET_KEY" else "Remove it from SECRET_KEY_FALLBACKS.")
            errors.append(Error(f"{name} {why}.", hint=hint, id="realtime_uploads.E101"))
    try:
        secrets = uploads_settings.CALLBACK_SECRETS
    except ImproperlyConfigured:
        return errors  # E001, E005
    for secret in secrets:
        if secret in PUBLISHED_SECRETS or generated_path(secret):
            where = (f"was generated into {generated_path(secret)} because none was set, so a processor elsewhere "
                     "cannot know it" if generated_path(secret)
                     else "is a value published with the code, so anyone can forge processing callbacks")
            errors.append(Error(f"A REALTIME_UPLOADS['CALLBACK_SECRETS'] secret {where}.", id="realtime_uploads.E102",
                                hint="Set REALTIME_UPLOADS['CALLBACK_SECRETS'] to a list holding a long random secret, "
                                     "and give the processor the same one in REALTIME_UPLOADS_CALLBACK_SECRET"
                                     f"{for_the_demo('REALTIME_UPLOADS_CALLBACK_SECRET, for both')}: {GENERATE}"))
        elif len(secret.encode()) < MIN_CALLBACK_SECRET_BYTES:
            errors.append(Error(
                f"A REALTIME_UPLOADS['CALLBACK_SECRETS'] secret is {len(secret.encode())} bytes long, shorter than "
                f"{MIN_CALLBACK_SECRET_BYTES}: guessing it forges processing callbacks.",
                hint=f"Generate one with: {GENERATE}", id="realtime_uploads.E103"))
    return errors


@register(Tags.security, deploy=True)
def check_exposure(app_configs, **kwargs):
    """E104 DEBUG, E105 local backend, E106/E107 plain-http URLs off loopback, E108 every proxy trusted,
    E109 any Host accepted."""
    errors = []
    if settings.DEBUG:
        errors.append(Error(
            "DEBUG is on: any visitor who triggers an error sees tracebacks, settings and the URL list.",
            hint=f"Set DEBUG = False{for_the_demo('unset DJANGO_DEBUG; DEBUG is off unless DJANGO_DEBUG=1')}.",
            id="realtime_uploads.E104"))
    if "*" in settings.ALLOWED_HOSTS:
        errors.append(Error(
            "ALLOWED_HOSTS contains '*': any Host header is believed, so absolute URLs (and password reset "
            "links) can be made to point elsewhere.",
            hint=f"List the host names you serve in ALLOWED_HOSTS{for_the_demo('DJANGO_ALLOWED_HOSTS')}.",
            id="realtime_uploads.E109"))
    try:
        backend, callback_url = backend_class(), uploads_settings.CALLBACK_URL
        endpoints = {"ENDPOINT_URL": uploads_settings.ENDPOINT_URL or os.environ.get("AWS_ENDPOINT_URL_S3")
                     or os.environ.get("AWS_ENDPOINT_URL"),  # boto3: the S3 endpoint, else every service's
                     "PUBLIC_BASE_URL": uploads_settings.PUBLIC_BASE_URL}
        proxies = uploads_settings.TRUSTED_PROXIES
    except ImproperlyConfigured:
        return errors  # E001, E005
    if backend.in_process:
        errors.append(Error(
            f"REALTIME_UPLOADS['BACKEND'] is {backend.name or backend.__name__!r}: uploads are stored on this host "
            "and decoded in the web process, so hostile images compete with every request, and nothing survives "
            "losing the host.",
            hint="Use BACKEND 's3' with the Lambda or realtime-uploads-worker; silence realtime_uploads.E105 only "
                 "for a deliberate single-host deploy.", id="realtime_uploads.E105"))
    if _plain_http_off_loopback(callback_url):
        errors.append(Error(
            f"REALTIME_UPLOADS['CALLBACK_URL'] sends callbacks over plain http to {urlsplit(callback_url).hostname}: "
            "their contents can be read and replayed within CALLBACK_TOLERANCE on the way.",
            hint="Use https, or a loopback address when the processor runs on this host.",
            id="realtime_uploads.E106"))
    for key, url in endpoints.items():
        if url and _plain_http_off_loopback(url):
            errors.append(Error(
                f"REALTIME_UPLOADS[{key!r}] is plain http to {urlsplit(url).hostname}: browsers would send uploads "
                "and fetch images unencrypted (and HTTPS pages refuse them as mixed content).",
                hint="Use the store's https endpoint.", id="realtime_uploads.E107"))
    if any(ipaddress.ip_network(network).prefixlen == 0 for network in proxies):
        errors.append(Error(
            "REALTIME_UPLOADS['TRUSTED_PROXIES'] trusts every address (0.0.0.0/0 or ::/0): any client can name "
            "itself in X-Forwarded-For and escape the presign throttles and per-client caps.",
            hint="List only your proxies' networks (e.g. the load balancer's subnet).", id="realtime_uploads.E108"))
    return errors


def _plain_http_off_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and not _is_loopback(parts.hostname)


@register(Tags.security, deploy=True)
def check_deploy(app_configs, **kwargs):
    """W002 in-memory layer, W003-W005 layer and database settings, W006 a per-process throttle cache."""
    warnings = []
    try:
        uploads_settings.CALLBACK_SECRETS  # noqa: B018 - E001 reports invalid settings
    except ImproperlyConfigured:
        return []
    layer = (getattr(settings, "CHANNEL_LAYERS", {}) or {}).get("default", {})
    backend = layer.get("BACKEND", "")
    if backend.endswith("InMemoryChannelLayer"):
        warnings.append(Warning(
            "The in-memory channel layer only reaches sockets held by the same process; "
            "with several daphne processes, callbacks will miss subscribers.",
            hint="Set CHANNEL_LAYERS to realtime_uploads.push.layer_settings.channel_layer_settings(<redis URL>)"
                 f"{for_the_demo('set REDIS_URL')}.",
            id="realtime_uploads.W002",
        ))
    elif backend == "channels_redis.core.RedisChannelLayer" and layer.get("CONFIG", {}).get("capacity", 100) < 1000:
        warnings.append(Warning(
            "channels-redis' core layer drops group messages past 'capacity' per process (100 by default): "
            "a burst of completions would not reach every socket.",
            hint="Use the Pub/Sub layer (realtime_uploads.push.layer_settings), or set capacity >= 1000 "
                 "and group_expiry beyond your longest socket.",
            id="realtime_uploads.W003",
        ))
    elif backend == "channels_redis.pubsub.RedisPubSubChannelLayer":
        warnings.append(Warning(
            "channels-redis' own Pub/Sub layer never calls its on_reconnect hook, so sockets miss what was "
            "published while Redis was away and nobody re-sends it.",
            hint="Use realtime_uploads.push.layers.RedisPubSubChannelLayer "
                 "(realtime_uploads.push.layer_settings.channel_layer_settings builds it).",
            id="realtime_uploads.W004",
        ))
    database = settings.DATABASES.get("default", {})
    if ("postgresql" in database.get("ENGINE", "") and not database.get("OPTIONS", {}).get("pool")
            and database.get("CONN_MAX_AGE", 0) == 0):
        warnings.append(Warning(
            "PostgreSQL without a connection pool or persistent connections: every request connects afresh "
            "(about 10 ms each), and load exhausts max_connections.",
            hint='Set DATABASES["default"]["OPTIONS"]["pool"] (Django 5.1+, psycopg[pool]) or CONN_MAX_AGE.',
            id="realtime_uploads.W005",
        ))
    cache = getattr(settings, "CACHES", {}).get(uploads_settings.THROTTLE_CACHE, {})
    if any(cache.get("BACKEND", "").endswith(name) for name in ("LocMemCache", "DummyCache")):
        warnings.append(Warning(
            f"THROTTLE_CACHE {uploads_settings.THROTTLE_CACHE!r} is {cache['BACKEND'].rsplit('.', 1)[-1]}: each "
            "process counts presigns and pending uploads on its own, so N processes allow N times the limits.",
            hint="Point it at a cache every web process shares (django.core.cache.backends.redis.RedisCache).",
            id="realtime_uploads.W006",
        ))
    return warnings
