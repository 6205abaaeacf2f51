"""Who may follow an upload: its owner's session, or the holder of its subscribe token.

A subscribe token authorises following one upload (the sockets, the status
GET and long-poll, a form's reference to it). It is the upload id signed
with ``SECRET_KEY`` by Django's ``TimestampSigner`` under the salt
``realtime_uploads.subscribe`` and stamped with the time it was made, so it
expires after ``SUBSCRIBE_TOKEN_MAX_AGE`` seconds and checking it needs no
database. Without a valid token only the upload's owner (a signed-in user)
may follow it.
"""

from __future__ import annotations

import hmac
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user
from django.core.signing import BadSignature, TimestampSigner

from realtime_uploads.conf import uploads_settings

SUBSCRIBE_SALT = "realtime_uploads.subscribe"


def make_subscribe_token(upload_id: Any) -> str:
    """A token that authorises following the upload ``upload_id`` (a UUID or its text) for
    ``SUBSCRIBE_TOKEN_MAX_AGE`` seconds from now."""
    return TimestampSigner(salt=SUBSCRIBE_SALT).sign(str(upload_id))


def check_subscribe_token(token: str | None, upload_id: Any) -> bool:
    """True if ``token`` was issued for ``upload_id`` and has not expired (compared in constant time)."""
    if not token:
        return False
    try:
        value = TimestampSigner(salt=SUBSCRIBE_SALT).unsign(token, max_age=uploads_settings.SUBSCRIBE_TOKEN_MAX_AGE)
    except BadSignature:  # SignatureExpired is a subclass
        return False
    return hmac.compare_digest(value, str(upload_id))


def is_owner(user: Any, owner_id: Any) -> bool:
    """True if ``user`` is signed in and is the upload's owner (``owner_id``, None for anonymous uploads)."""
    return owner_id is not None and getattr(user, "is_authenticated", False) and user.pk == owner_id


def session_user(session_key: str) -> Any:
    """The user of a session (AnonymousUser if none or invalid), as Django's AuthenticationMiddleware finds it.

    A sync function that reads the session store (the database, by default):
    async callers run it on :mod:`realtime_uploads.runtime.executor`.
    """

    class _Request:  # get_user reads request.session only
        session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)

    return get_user(_Request())
