"""The whole ASGI application in one call: ``application = get_asgi_application()`` in a project's ``asgi.py``.

It builds the stack the demo's ``asgi.py`` used to spell out, each part there
for a measured reason (``docs/integration.md``, ``docs/performance.md``):

- HTTP: Django's ASGI handler with its per-request threads reused
  (:mod:`realtime_uploads.runtime.handler`), behind
  :func:`~realtime_uploads.callback.fast_path.push_path`, which answers signed
  processing callbacks and token long-polls on the event loop; the first
  request tells :func:`realtime_uploads.conf.learn_server` where the server
  listens (the development ``CALLBACK_URL``);
- WebSocket: the Origin check (:func:`origin_validator`) in front of the
  project's own routes and the app's (``ws/uploads/``, from
  :mod:`realtime_uploads.consumers.routing`);
- the local backend's in-process processor and its sweep, started once
  (``local.start()``; a no-op for other backends);
- the garbage collector tuned for a server holding many long-lived sockets.

Call it after ``DJANGO_SETTINGS_MODULE`` is set: it sets Django up first, so
the consumers can import models.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from typing import Any

__all__ = ["get_asgi_application", "origin_validator"]


def origin_validator(app: Any) -> Any:
    """``app`` behind the WebSocket Origin check: a handshake from a page this server does not serve is refused
    (HTTP 403) before ``app`` sees it.

    The check is :class:`realtime_uploads.push.origins.OriginValidator` (scheme, host and port against the
    server's own origin, ``ALLOWED_ORIGINS`` and ``CSRF_TRUSTED_ORIGINS``); this function is the one place that
    chooses it, so a project routing sockets itself wraps them the same way.
    """
    from realtime_uploads.push.origins import OriginValidator

    return OriginValidator(app)


def _learning_where_served(app: Any) -> Any:
    """``app``, telling :func:`realtime_uploads.conf.learn_server` where this process serves HTTP until it knows
    (the development CALLBACK_URL is built from it)."""
    from realtime_uploads.conf import learn_server, served_at

    async def http(scope: dict, receive: Any, send: Any) -> None:
        if served_at() is None:
            learn_server(scope)
        await app(scope, receive, send)

    return http


def get_asgi_application(websocket_urlpatterns: Sequence[Any] | None = None, http_app: Any = None) -> Any:
    """The project's ASGI application: a channels ``ProtocolTypeRouter`` for ``http`` and ``websocket``.

    ``websocket_urlpatterns``: the project's own WebSocket routes (Django ``path``/``re_path`` objects, as for
    channels' ``URLRouter``), tried before the app's ``ws/uploads/`` ones and behind the same Origin check;
    wrap consumers that need ``scope["user"]`` in channels' ``AuthMiddlewareStack`` yourself (the app's
    consumers need none). ``http_app``: the ASGI application that serves HTTP (default: Django's handler
    with its request threads reused); the push path is put in front of it either way.

    Django is set up first (``django.setup()``), so this raises whatever Django raises for a broken settings
    module (e.g. ``ImproperlyConfigured``). It also starts the local backend's processor and sweep
    (:func:`realtime_uploads.local.start`), freezes the objects loaded so far out of the garbage collector's
    way (``gc.freeze()``) and raises its thresholds to ``(10_000, 50, 100)``; call it once per process.
    """
    from realtime_uploads.runtime.handler import get_asgi_application as django_asgi_application

    django_app = django_asgi_application()  # sets Django up before the consumers import models
    if http_app is None:
        http_app = django_app

    from channels.routing import ProtocolTypeRouter, URLRouter

    from realtime_uploads import local
    from realtime_uploads.callback.fast_path import push_path
    from realtime_uploads.consumers.routing import websocket_urlpatterns as upload_routes

    application = ProtocolTypeRouter({
        "http": _learning_where_served(push_path(http_app)),
        "websocket": origin_validator(URLRouter([*(websocket_urlpatterns or ()), *upload_routes])),
    })
    # The local backend's in-process processor and its sweep start with the server, so uploads a previous
    # process left unfinished are processed now (a no-op for the s3 backend).
    local.start()
    # The garbage collector, tuned for a server that holds thousands of long-lived sockets:
    # - gc.freeze() moves everything loaded at start-up (Django, the URLconf, models...) out of its way: a
    #   full collection walked all of it and paused the event loop for 50-85 ms under load;
    # - larger thresholds let short-lived objects die young instead of being promoted, so full collections
    #   (which walk every socket's objects: 150-230 ms with 2000 held) come rarely instead of every few
    #   seconds, and young ones stay a few milliseconds (bench/push_latency.py measures the effect).
    gc.freeze()
    gc.set_threshold(10_000, 50, 100)
    return application
