"""The app's settings: one ``REALTIME_UPLOADS`` dict, read through ``uploads_settings``.

Every key, its default, range and meaning is in one Django-free table,
:data:`realtime_uploads.core.settings_schema.SETTINGS`, which the
processor (Lambda, the SQS worker) validates with too; a project overrides
only what it needs::

    REALTIME_UPLOADS = {
        "BACKEND": "s3",
        "BUCKET": "my-uploads",
        "CALLBACK_SECRETS": [os.environ["REALTIME_UPLOADS_CALLBACK_SECRET"]],
        "VARIANTS": {"thumb": {"width": 320, "height": 320, "format": "WEBP"}},
    }

(``docs/settings.md`` lists every key.)

Without ``CHANNEL_LAYERS`` the project gets channels' in-memory layer
(:func:`default_channel_layers`). Two keys have development defaults when the project leaves them out
(``check --deploy`` asks production to set both: E110, E111):

- ``CALLBACK_SECRETS``: one secret derived from ``SECRET_KEY``
  (:func:`derived_callback_secret`, an HMAC-SHA256 with a salt of its own,
  so it reveals nothing of the key); enough for the in-process processor of
  the local backend, not for a processor elsewhere, which cannot know it;
- ``CALLBACK_URL``: :class:`ServerCallbackURL`, the callback route
  (``reverse("realtime_uploads:upload-callback")``) on the address the server
  listens on, learnt from each HTTP request's ASGI ``scope["server"]``
  (:func:`learn_server`, which :func:`realtime_uploads.asgi.get_asgi_application`
  calls), so ``runserver 8001`` or ``daphne -p 9000`` need no setting
  (before the first request no callback is sent: the sweep retries).
Unknown keys and bad values raise ``ImproperlyConfigured`` naming the key, the
first time any setting is read. The validated values are cached and the cache
is cleared on Django's ``setting_changed`` signal (``override_settings``).
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.crypto import salted_hmac

from realtime_uploads.core import settings_schema
from realtime_uploads.core.errors import CallbackError, SettingError
from realtime_uploads.core.settings_schema import SETTINGS

#: Every key's default, from settings_schema.SETTINGS (the processor's are
#: realtime_uploads.processing.config.PROCESSOR_DEFAULTS).
DEFAULTS: dict[str, Any] = dict(settings_schema.DEFAULTS)


def validate(values: Any) -> dict[str, Any]:
    """``REALTIME_UPLOADS`` checked and completed with defaults. Raises ImproperlyConfigured naming the key."""
    try:
        checked = settings_schema.validate(values)
    except SettingError as exc:
        raise ImproperlyConfigured(str(exc)) from exc
    _check_django(checked)
    return checked


def _check_django(values: dict[str, Any]) -> None:
    from django.conf import settings

    caches = getattr(settings, "CACHES", None) or {"default": {}}
    if values["THROTTLE_CACHE"] not in caches:
        raise ImproperlyConfigured(
            f"REALTIME_UPLOADS['THROTTLE_CACHE'] must name one of CACHES {sorted(caches)}, "
            f"got {values['THROTTLE_CACHE']!r}."
        )


#: CHANNEL_LAYERS when the project sets none: one process, which is what development runs.
IN_MEMORY_CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def default_channel_layers() -> None:
    """Set ``settings.CHANNEL_LAYERS`` to :data:`IN_MEMORY_CHANNEL_LAYERS` when the project has none (the app's
    ``ready()`` calls it; ``check --deploy``'s W002 then asks for a shared layer)."""
    from django.conf import settings

    if not hasattr(settings, "CHANNEL_LAYERS"):
        settings.CHANNEL_LAYERS = IN_MEMORY_CHANNEL_LAYERS


#: The salt of :func:`derived_callback_secret`: no other use of SECRET_KEY gives the same HMAC.
CALLBACK_SECRET_SALT = "realtime_uploads.conf.derived_callback_secret"  # noqa: S105 - a salt, not a secret


def derived_callback_secret() -> str:
    """The development callback secret: HMAC-SHA256 of SECRET_KEY salted with :data:`CALLBACK_SECRET_SALT`,
    64 hex characters (Django's ``salted_hmac``). It changes when SECRET_KEY does."""
    return salted_hmac(CALLBACK_SECRET_SALT, "callback-secret", algorithm="sha256").hexdigest()


_server_lock = threading.Lock()
_server: tuple[str, str, int] | None = None  # (scheme, host, port) of the first HTTP request served


def learn_server(scope: dict) -> None:
    """Remember where this process serves HTTP, from an ASGI HTTP ``scope``: its ``scheme`` and ``server``
    (``(host, port)``, the listening socket's address; ignored when absent, e.g. a Unix socket). The first
    one wins: a server's address does not change while it runs."""
    global _server
    server = scope.get("server")
    if _server is not None or not server or server[1] is None:
        return
    host, port = server[0], int(server[1])
    if ":" in host:
        host = f"[{host}]"  # IPv6 in a URL
    with _server_lock:
        if _server is None:
            _server = (scope.get("scheme") or "http", host, port)


def served_at() -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` learnt by :func:`learn_server`, or None before the first request."""
    return _server


class ServerCallbackURL(str):
    """CALLBACK_URL when the project sets none: a ``str`` (the settings table's default,
    ``http://127.0.0.1:8000/api/uploads/{id}/callback/``, which the checks read) whose :meth:`format` gives the
    callback route on the address this process serves HTTP on (:func:`served_at`), once a request has shown it."""

    __slots__ = ()

    def format(self, *args: Any, **kwargs: Any) -> str:
        """The callback URL (``format(id=...)``): ``<scheme>://<host>:<port><callback route>``, the route
        reversed from the URLconf (so the project's prefix counts).

        Raises :class:`~realtime_uploads.core.errors.CallbackError` before the first request: no report is sent
        to a guessed address (the local processor then leaves the upload to its sweep, which offers it again
        ``LOCAL_RETRY_AFTER`` seconds later, by when a browser has made a request).
        """
        served = served_at()
        if served is None:
            raise CallbackError("REALTIME_UPLOADS['CALLBACK_URL'] is not set and this process has not learnt "
                                "where it listens: its asgi.py must build the application with "
                                "realtime_uploads.asgi.get_asgi_application() (which learns it from the first "
                                "request), or set CALLBACK_URL; not reporting to a guessed address.")
        from django.urls import reverse

        scheme, host, port = served
        path = reverse("realtime_uploads:upload-callback", args=["00000000-0000-0000-0000-000000000000"])
        path = path.replace("00000000-0000-0000-0000-000000000000", "{id}")
        return f"{scheme}://{host}:{port}{path}".format(*args, **kwargs)


class UploadsSettings:
    """Attribute access to the validated ``REALTIME_UPLOADS`` settings.

    ``uploads_settings.MAX_SIZE`` gives the project's value or the default.
    ``VARIANTS`` is a tuple of :class:`~realtime_uploads.core.variants.VariantSpec`;
    list settings are tuples.
    """

    def __init__(self) -> None:
        self._cache: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        from django.conf import settings

        given = getattr(settings, "REALTIME_UPLOADS", {})
        values = validate(given)
        if isinstance(given, dict):
            if "CALLBACK_SECRETS" not in given:
                values["CALLBACK_SECRETS"] = (derived_callback_secret(),)
            if "CALLBACK_URL" not in given:
                values["CALLBACK_URL"] = ServerCallbackURL(values["CALLBACK_URL"])
        return values

    def derived(self, name: str) -> bool:
        """Whether ``name`` (CALLBACK_SECRETS or CALLBACK_URL) is the development default because the project
        leaves it out of ``REALTIME_UPLOADS``."""
        value = getattr(self, name)
        if name == "CALLBACK_URL":
            return isinstance(value, ServerCallbackURL)
        return name == "CALLBACK_SECRETS" and tuple(value) == (derived_callback_secret(),)

    def __getattr__(self, name: str) -> Any:
        if name not in SETTINGS:
            raise AttributeError(f"Invalid REALTIME_UPLOADS setting: {name!r}")
        if self._cache is None:
            self._cache = self._load()
        return self._cache[name]

    def max_body_size(self) -> int:
        """The largest request body the web process takes, bytes: MAX_BODY_SIZE, or MAX_SIZE + 64 KiB."""
        return settings_schema.max_body_size({"MAX_BODY_SIZE": self.MAX_BODY_SIZE, "MAX_SIZE": self.MAX_SIZE})

    def reload(self) -> None:
        """Forget the cached values; the next read validates the settings again."""
        self._cache = None


uploads_settings = UploadsSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting in ("REALTIME_UPLOADS", "CACHES", "SECRET_KEY"):
        uploads_settings.reload()


setting_changed.connect(_reload)
