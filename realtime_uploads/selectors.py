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


def upload_is_viewable(upload: Upload, *, user: Any, token: str | None) -> bool:
    """True for the upload's owner (an authenticated session) or a valid subscribe token.

    ``user`` is ``request.user`` or ``scope["user"]`` (may be anonymous or None);
    ``token`` the ``?token=`` query value.
    """
    if upload.owner_id is not None and getattr(user, "is_authenticated", False):
        if user.pk == upload.owner_id:
            return True
    return check_subscribe_token(token, str(upload.pk))
