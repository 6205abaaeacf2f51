"""System checks (``manage.py check``; ``--deploy`` adds the E1xx errors and the W ones).

The deploy errors are Errors, not Warnings, so ``manage.py check --deploy``
exits non-zero on any of them; :mod:`.deploy_checks` holds them.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from . import deploy_checks  # noqa: F401 - registers the deploy errors
from .conf import uploads_settings


@register()
def check_settings(app_configs, **kwargs):
    """E001 invalid settings, E002 no callback secret, E003 no channel layer, E004 callback host refused."""
    try:
        uploads_settings.reload()
        secrets = uploads_settings.CALLBACK_SECRETS
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="realtime_uploads.E001")]
    errors = []
    if not secrets:
        errors.append(Error(
            "REALTIME_UPLOADS['CALLBACK_SECRETS'] is empty, so every processing callback will be refused.",
            hint="Set it to a list holding at least one long random secret shared with the processor.",
            id="realtime_uploads.E002",
        ))
    if uploads_settings.BACKEND == "local" and not _callback_host_allowed():
        errors.append(Error(
            "REALTIME_UPLOADS['CALLBACK_URL'] points at a host that ALLOWED_HOSTS refuses, so the local "
            "backend's processor cannot report back and every upload would stay pending.",
            hint="Add the CALLBACK_URL's host (e.g. 127.0.0.1) to ALLOWED_HOSTS, or fix CALLBACK_URL.",
            id="realtime_uploads.E004",
        ))
    if not getattr(settings, "CHANNEL_LAYERS", None):
        errors.append(Error(
            "CHANNEL_LAYERS is not configured, so no upload event can reach a WebSocket.",
            hint="Use realtime_uploads.layer_settings.channel_layer_settings(REDIS_URL) "
                 "(or InMemoryChannelLayer for one process).",
            id="realtime_uploads.E003",
        ))
    return errors


def _callback_host_allowed() -> bool:
    from urllib.parse import urlsplit

    from django.http.request import split_domain_port, validate_host

    host = urlsplit(uploads_settings.CALLBACK_URL).netloc
    domain, _port = split_domain_port(host)
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]  # Django's own DEBUG default
    return validate_host(domain, allowed)


@register(Tags.security, deploy=True)
def check_deploy(app_configs, **kwargs):
    """W002 in-memory layer, W003-W005 layer and database settings, W006 a per-process throttle cache
    (the secrets are deploy_checks' E1xx)."""
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
            hint="Use realtime_uploads.layer_settings.channel_layer_settings(REDIS_URL) "
                 "(set REDIS_URL in the demo project).",
            id="realtime_uploads.W002",
        ))
    elif backend == "channels_redis.core.RedisChannelLayer" and layer.get("CONFIG", {}).get("capacity", 100) < 1000:
        warnings.append(Warning(
            "channels-redis' core layer drops group messages past 'capacity' per process (100 by default): "
            "a burst of completions would not reach every socket.",
            hint="Use the Pub/Sub layer (realtime_uploads.layer_settings), or set capacity >= 1000 "
                 "and group_expiry beyond your longest socket.",
            id="realtime_uploads.W003",
        ))
    elif backend == "channels_redis.pubsub.RedisPubSubChannelLayer":
        warnings.append(Warning(
            "channels-redis' own Pub/Sub layer never calls its on_reconnect hook, so sockets miss what was "
            "published while Redis was away and nobody re-sends it.",
            hint="Use realtime_uploads.layers.RedisPubSubChannelLayer "
                 "(realtime_uploads.layer_settings.channel_layer_settings builds it).",
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
