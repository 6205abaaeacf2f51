"""The WebSocket Origin check: scheme, host and port, against the server's own origin and the allowed ones.

A browser sends the page's origin (RFC 6454 section 7) on every WebSocket
handshake and lets any page open a socket to any server, cookies included
(the Fetch standard's same-origin policy does not cover WebSockets). So the
server must refuse the pages it does not serve. channels'
``AllowedHostsOriginValidator`` compares only the Origin's host with
``ALLOWED_HOSTS``: a page at ``http://127.0.0.1:<another port>`` or at
``https://localhost`` passed where only ``http://127.0.0.1:8000`` served the
app. :class:`OriginValidator` compares the whole origin (scheme, host, port)
with:

- the server's own origin, for the handshake as the browser addressed it:
  ``https`` for a ``wss`` socket, else ``http``, and the ``Host`` header with
  its port, which must pass ``ALLOWED_HOSTS`` (so a DNS-rebinding page whose
  Host is its own name is refused). Behind a TLS-terminating proxy Django's
  own settings say what to believe, as for ``request.is_secure()`` and
  ``request.get_host()``: ``SECURE_PROXY_SSL_HEADER`` and
  ``USE_X_FORWARDED_HOST``, and only from a peer in ``TRUSTED_PROXIES`` when
  that is set (browsers cannot set these headers on a handshake);
- ``REALTIME_UPLOADS["ALLOWED_ORIGINS"]`` and Django's ``CSRF_TRUSTED_ORIGINS``
  (whose ``https://*.example.com`` form allows subdomains, as Django's CSRF
  check does).

A handshake without an ``Origin`` header passes: browsers always send one,
so it is not a page; the socket still needs a subscribe token or the owner's
session. An ``Origin`` of ``null`` (a sandboxed frame, a ``file:`` page), a
malformed one or two of them are refused. A refusal closes the handshake
before accepting it, which daphne answers with HTTP 403.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

from realtime_uploads.conf import uploads_settings
from realtime_uploads.core.addresses import parse_address, trusted_networks
from realtime_uploads.core.setting_kinds import normalise_origin

logger = logging.getLogger(__name__)

#: Hosts Django allows under DEBUG with an empty ALLOWED_HOSTS (``HttpRequest.get_host``).
DEBUG_HOSTS = [".localhost", "127.0.0.1", "[::1]"]


def _headers(scope: dict, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope.get("headers", ()) if key.lower() == name]


def _from_trusted_proxy(scope: dict) -> bool:
    """Whether proxy headers may be believed: the peer is in ``TRUSTED_PROXIES``, or none are named (Django's
    rule for ``SECURE_PROXY_SSL_HEADER`` and ``USE_X_FORWARDED_HOST``)."""
    networks = trusted_networks(tuple(uploads_settings.TRUSTED_PROXIES))
    if not networks:
        return True
    peer = parse_address((scope.get("client") or (None,))[0])
    return peer is not None and any(peer.version == net.version and peer in net for net in networks)


def own_origin(scope: dict) -> str | None:
    """The origin a browser gives a page of this server that opens this socket (``"https://example.com"``), or
    None when the ``Host`` is missing, malformed or not in ``ALLOWED_HOSTS``."""
    proxied = _from_trusted_proxy(scope)
    secure = scope.get("scheme") == "wss"
    proxy_ssl = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_ssl and proxied and not secure:
        header, value = proxy_ssl
        name = header.removeprefix("HTTP_").replace("_", "-").lower().encode("latin-1")
        secure = any(given.split(",")[0].strip() == value for given in _headers(scope, name))
    hosts = _headers(scope, b"x-forwarded-host") if settings.USE_X_FORWARDED_HOST and proxied else []
    hosts = hosts or _headers(scope, b"host")
    if len(hosts) != 1:
        return None
    domain, _port = split_domain_port(hosts[0])
    allowed = settings.ALLOWED_HOSTS or (DEBUG_HOSTS if settings.DEBUG else [])
    if not domain or not validate_host(domain, allowed):
        return None
    return normalise_origin(f"{'https' if secure else 'http'}://{hosts[0]}")


def allowed_origin(origin: str, scope: dict) -> bool:
    """Whether a page at ``origin`` (normalised, :func:`~realtime_uploads.core.setting_kinds.normalise_origin`)
    may open this socket: it is the server's own origin, or in ``ALLOWED_ORIGINS`` or ``CSRF_TRUSTED_ORIGINS``."""
    if origin == own_origin(scope) or origin in uploads_settings.ALLOWED_ORIGINS:
        return True
    scheme, _, netloc = origin.partition("://")
    for trusted in getattr(settings, "CSRF_TRUSTED_ORIGINS", ()):
        if "*" in trusted:  # Django's form: "https://*.example.com" allows its subdomains, the port as written
            pattern_scheme, _, pattern = trusted.lower().partition("://")
            if pattern_scheme == scheme and pattern.startswith("*.") and is_same_domain(netloc, pattern[1:]):
                return True
        elif normalise_origin(trusted) == origin:
            return True
    return False


def origin_refusal(scope: dict) -> str | None:
    """Why this handshake's ``Origin`` is refused, or None when it may connect."""
    given = _headers(scope, b"origin")
    if not given:
        return None  # not a browser: browsers always send one
    if len(given) > 1:
        return "more than one Origin header"
    origin = normalise_origin(given[0])
    if origin is None:
        return f"Origin {given[0][:100]!r} is not an http(s) origin"
    if not allowed_origin(origin, scope):
        return (f"Origin {origin!r} is neither this server's own ({own_origin(scope)!r}) nor in ALLOWED_ORIGINS or "
                "CSRF_TRUSTED_ORIGINS")
    return None


class OriginValidator:
    """ASGI middleware: a WebSocket handshake whose ``Origin`` is not allowed (:func:`origin_refusal`) is closed
    before it is accepted (HTTP 403 under daphne) and ``app`` never sees it; anything else passes to ``app``."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        refusal = origin_refusal(scope) if scope["type"] == "websocket" else None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        logger.info("WebSocket %s refused: %s.", scope.get("path"), refusal)
        if (await receive())["type"] != "websocket.connect":
            return
        await send({"type": "websocket.close", "code": 1000})  # before the accept: daphne answers 403
        while (await receive())["type"] != "websocket.disconnect":
            pass
