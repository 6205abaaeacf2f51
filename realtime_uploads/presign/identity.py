"""Who is presigning: a signed-in user, else a client address; and the anonymous session its uploads belong to.

The throttles count a client under :func:`client_key`: the user when one is
signed in, else the IP address of :func:`client_ip` (``X-Forwarded-For``
believed only from ``TRUSTED_PROXIES``, :mod:`realtime_uploads.core.addresses`),
an IPv6 client as its /64.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.utils.crypto import salted_hmac

from realtime_uploads.conf import uploads_settings
from realtime_uploads.core.addresses import rate_key, resolve_client, trusted_networks

SESSION_SALT = "realtime_uploads.session"


def client_ip(request: Any) -> str:
    """The IP address of the client behind a Django (or DRF) ``request`` (canonical text, or ``"unknown"``)."""
    meta = request.META
    return resolve_client(meta.get("REMOTE_ADDR"), meta.get("HTTP_X_FORWARDED_FOR"),
                          trusted_networks(tuple(uploads_settings.TRUSTED_PROXIES)))


def client_key(request: Any) -> tuple[str, bool]:
    """``("user:<pk>", True)`` for a signed-in user, else ``("ip:<address or /64>", False)``."""
    user = getattr(request, "user", None)
    if getattr(user, "is_authenticated", False):
        return f"user:{user.pk}", True
    return f"ip:{rate_key(client_ip(request))}", False


def session_hash(request: Any, *, create: bool) -> str:
    """An anonymous request's session as stored on its uploads: HMAC-SHA256 of the session key (hex, 64
    characters; the key itself never reaches the uploads table).

    Blank for a signed-in user (their uploads are found by owner) or a request
    without sessions. ``create`` starts a session when there is none: presign
    does, so an anonymous page can list its uploads after a reload; the
    history GET does not.
    """
    session = getattr(request, "session", None)
    if session is None or getattr(getattr(request, "user", None), "is_authenticated", False):
        return ""
    if session.session_key is None:
        if not create:
            return ""
        # A session with something in it is saved and its cookie set. Random, not True: with the signed_cookies
        # engine the session key IS the signed data (plus a timestamp in seconds), so identical data would give
        # every visitor who presigns in the same second the same key, and one another's uploads.
        session["realtime_uploads"] = secrets.token_urlsafe(16)
        session.save()
    return salted_hmac(SESSION_SALT, session.session_key, algorithm="sha256").hexdigest()
