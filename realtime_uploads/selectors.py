"""Reads: finding an upload and deciding who may follow it."""

from __future__ import annotations

import uuid
from typing import Any

from .models import Upload
from .signing import check_subscribe_token


def parse_upload_id(raw: Any) -> uuid.UUID | None:
    """The UUID in ``raw`` (canonical or not), or None if it is not one."""
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None


def upload_get(upload_id: uuid.UUID) -> Upload | None:
    """The upload with its variants prefetched, or None."""
    return Upload.objects.prefetch_related("variants").filter(pk=upload_id).first()


#: What the event and the owner check read of an upload: a snapshot (:mod:`.snapshots`) loads nothing else.
EVENT_FIELDS = ("id", "owner", "status", "seq", "original_width", "original_height", "original_format",
                "placeholder", "color", "error_code", "error_message", "updated_at")


def upload_is_viewable(upload: Upload, *, user: Any, token: str | None) -> bool:
    """True for the upload's owner (an authenticated session) or a valid subscribe token.

    ``user`` is ``request.user`` or ``scope["user"]`` (may be anonymous or None);
    ``token`` the ``?token=`` query value.
    """
    return is_owner(user, upload.owner_id) or check_subscribe_token(token, str(upload.pk))


def is_owner(user: Any, owner_id: Any) -> bool:
    """True if ``user`` is signed in and is the upload's owner (``owner_id``, None for anonymous uploads)."""
    return owner_id is not None and getattr(user, "is_authenticated", False) and user.pk == owner_id


def session_user(session_key: str) -> Any:
    """The user of a session (AnonymousUser if none or invalid), as Django's AuthenticationMiddleware finds it."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import get_user

    class _Request:  # get_user reads request.session only
        session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)

    return get_user(_Request())


def session_hash(request: Any, *, create: bool) -> str:
    """An anonymous request's session as stored on its uploads: HMAC-SHA256 of the session key (hex, 64
    characters; the key itself never reaches the uploads table). Blank for a signed-in user (their uploads
    are found by owner) or a request without sessions; ``create`` starts a session when there is none
    (presign does, so an anonymous page can list its uploads after a reload; the history GET does not)."""
    from django.utils.crypto import salted_hmac

    session = getattr(request, "session", None)
    if session is None or getattr(getattr(request, "user", None), "is_authenticated", False):
        return ""
    if session.session_key is None:
        if not create:
            return ""
        session["realtime_uploads"] = True  # a session with something in it is saved and its cookie set
        session.save()
    return salted_hmac("realtime_uploads.session", session.session_key, algorithm="sha256").hexdigest()


def uploads_history(*, user: Any, session_hash: str):
    """The uploads of ``user`` (signed in) or else of the anonymous session ``session_hash``, newest first,
    variants prefetched; an empty queryset for neither."""
    uploads = Upload.objects.prefetch_related("variants").order_by("-created_at")
    if getattr(user, "is_authenticated", False):
        return uploads.filter(owner_id=user.pk)
    if session_hash:
        return uploads.filter(owner__isnull=True, session_hash=session_hash)
    return uploads.none()
