"""System checks of the project around the app: what the five-line integration (``docs/integration.md``) needs.

``manage.py check`` (and so ``runserver``): E010 daphne missing or after
``django.contrib.staticfiles``, E011 no ``ASGI_APPLICATION``, W012 an
in-memory channel layer in a project that has Redis (so probably more than
one process), W014 the module ``ASGI_APPLICATION`` names does not mention
``realtime_uploads`` (read as text, never imported: importing it would start
the server's parts), so it cannot be the app's stack. ``check --deploy``: W013 nothing serves the static files (the
JavaScript client) under ASGI, E110/E111 ``CALLBACK_SECRETS`` /
``CALLBACK_URL`` left to their development defaults (:mod:`realtime_uploads.conf`).
Each message's hint names the exact setting to add.
"""

from __future__ import annotations

import importlib.util

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from realtime_uploads.conf import uploads_settings

#: Middleware that serve STATIC_ROOT from the ASGI application itself.
STATIC_MIDDLEWARE = ("servestatic.middleware.ServeStaticMiddleware", "whitenoise.middleware.WhiteNoiseMiddleware")


@register()
def check_project(app_configs, **kwargs):
    """E010 daphne missing or after staticfiles, E011 no ASGI_APPLICATION, W012 in-memory layer beside Redis."""
    messages = []
    apps = list(settings.INSTALLED_APPS)
    if "daphne" not in apps or ("django.contrib.staticfiles" in apps
                                and apps.index("daphne") > apps.index("django.contrib.staticfiles")):
        where = "is missing from" if "daphne" not in apps else "comes after django.contrib.staticfiles in"
        messages.append(Error(
            f"'daphne' {where} INSTALLED_APPS, so `manage.py runserver` serves WSGI: no WebSocket, no push.",
            hint='Put it first: INSTALLED_APPS = ["daphne", *INSTALLED_APPS, "channels", "rest_framework", '
                 '"realtime_uploads"]',
            id="realtime_uploads.E010"))
    if not getattr(settings, "ASGI_APPLICATION", None):
        messages.append(Error(
            "ASGI_APPLICATION is not set, so daphne's runserver cannot find the application that serves "
            "the WebSockets.",
            hint='Set ASGI_APPLICATION = "<your project>.asgi.application", with asgi.py ending in '
                 "`from realtime_uploads.asgi import get_asgi_application; application = get_asgi_application()`",
            id="realtime_uploads.E011"))
    else:
        messages.extend(_asgi_module_check(settings.ASGI_APPLICATION))
    layer = (getattr(settings, "CHANNEL_LAYERS", None) or {}).get("default", {})
    redis_caches = sorted(name for name, cache in (getattr(settings, "CACHES", None) or {}).items()
                          if "redis" in str(cache.get("BACKEND", "")).lower())
    if str(layer.get("BACKEND", "")).endswith("InMemoryChannelLayer") and redis_caches:
        messages.append(Warning(
            f"The channel layer is in-memory while CACHES {redis_caches} use Redis: with more than one web "
            "process, a result reaches only the sockets of the process that received its callback.",
            hint='Set CHANNEL_LAYERS = {"default": channel_layer_settings(REDIS_URL)} '
                 "(from realtime_uploads.push.layer_settings import channel_layer_settings).",
            id="realtime_uploads.W012"))
    return messages


def _asgi_module_check(path: str) -> list:
    """W014 when the source of ``path``'s module (``"mysite.asgi.application"`` -> mysite/asgi.py) never
    mentions realtime_uploads: Django's own ``get_asgi_application()`` there serves no WebSocket and never
    tells the app where it listens, so uploads stay ``pending``. Nothing is imported."""
    module = str(path).rpartition(".")[0]
    try:
        spec = importlib.util.find_spec(module) if module else None
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return []  # E011-like problems surface when runserver imports it; nothing to read here
    try:
        with open(spec.origin, encoding="utf-8") as source:
            text = source.read()
    except (OSError, UnicodeDecodeError):
        return []
    if "realtime_uploads" in text:
        return []
    return [Warning(
        f"ASGI_APPLICATION is {path!r}, but {spec.origin} does not use realtime_uploads: without the app's "
        "stack no WebSocket is served and no processing result is reported (uploads stay pending).",
        hint="End that asgi.py with `from realtime_uploads.asgi import get_asgi_application` and "
             "`application = get_asgi_application()`; a stack of your own that wraps the app's parts "
             "can silence realtime_uploads.W014 (SILENCED_SYSTEM_CHECKS).",
        id="realtime_uploads.W014")]


@register(Tags.security, deploy=True)
def check_project_deploy(app_configs, **kwargs):
    """W013 static files not served by the application, E110/E111 callback settings left to development."""
    messages = []
    if not any(name in STATIC_MIDDLEWARE for name in settings.MIDDLEWARE):
        messages.append(Warning(
            "No middleware serves the static files, and daphne does not (runserver does, with DEBUG on "
            "only): the JavaScript client (realtime_uploads/realtime-uploads.js) would be a 404.",
            hint='Add "servestatic.middleware.ServeStaticMiddleware" to MIDDLEWARE right after '
                 "SecurityMiddleware and set STATIC_ROOT (then collectstatic), or serve STATIC_ROOT at STATIC_URL "
                 "from your web server and silence realtime_uploads.W013.",
            id="realtime_uploads.W013"))
    try:
        secret_derived = uploads_settings.derived("CALLBACK_SECRETS")
        url_derived = uploads_settings.derived("CALLBACK_URL")
    except ImproperlyConfigured:
        return messages  # E001
    if secret_derived:
        messages.append(Error(
            "REALTIME_UPLOADS['CALLBACK_SECRETS'] is not set, so the callback secret is derived from SECRET_KEY: "
            "a processor elsewhere cannot know it, and rotating SECRET_KEY breaks every callback in flight.",
            hint='Set REALTIME_UPLOADS["CALLBACK_SECRETS"] = [os.environ["REALTIME_UPLOADS_CALLBACK_SECRET"]], a '
                 "long random value the processor is given too.",
            id="realtime_uploads.E110"))
    if url_derived:
        messages.append(Error(
            "REALTIME_UPLOADS['CALLBACK_URL'] is not set, so it is learnt from the first request this process "
            "serves: a processor elsewhere cannot know it, and behind a proxy it is the internal address.",
            hint='Set REALTIME_UPLOADS["CALLBACK_URL"] = "https://<your host>/api/uploads/{id}/callback/" '
                 "(the processor's REALTIME_UPLOADS_CALLBACK_URL too).",
            id="realtime_uploads.E111"))
    return messages
