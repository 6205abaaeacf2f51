"""Live history: news of a new upload for every socket of its owner (the same user, or the same anonymous session).

A page that lists the visitor's uploads (``GET /api/uploads/``) learns of one
another tab starts from an ``upload.created`` message on the multiplexed
socket it already has (``{"type": "follow_history"}``, docs/contract.md),
instead of at its next reload. Presign publishes the message, after commit,
to the owner's channel-layer group; a socket joins that group only for its
own handshake's session (:mod:`realtime_uploads.push.owner_groups`), never
for a name or id the client sends.

Group names are ``uploads.owner.<64 hex>``: an HMAC (``SECRET_KEY``, salt
:data:`GROUP_SALT`) of ``user:<pk>`` or of ``session:<session hash>``, so a
name says nothing of whose it is and none can be made without the secret.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.utils.crypto import salted_hmac

from realtime_uploads.models import Upload
from realtime_uploads.state.events import upload_event
from realtime_uploads.state.outbox import publish

GROUP_PREFIX = "uploads.owner."
GROUP_SALT = "realtime_uploads.owner-group"
#: The salt of an anonymous session's hash on its uploads (``presign.identity.session_hash``'s).
SESSION_SALT = "realtime_uploads.session"
#: ``type`` of the message (the consumer's handler is ``upload_created``) and of what the browser gets.
CREATED_TYPE = "upload.created"


def session_key_hash(session_key: str) -> str:
    """The hash of an anonymous session's key as presign stores it on its uploads (hex, 64 characters)."""
    return salted_hmac(SESSION_SALT, session_key, algorithm="sha256").hexdigest()


def owner_group(*, user_id: Any = None, session_hash: str = "") -> str | None:
    """The group of a signed-in user's sockets (``user_id``), else of an anonymous session's (``session_hash``,
    as :func:`session_key_hash` makes it); None for neither. Under 100 ASCII characters, as channels requires."""
    if user_id is not None:
        who = f"user:{user_id}"
    elif session_hash:
        who = f"session:{session_hash}"
    else:
        return None
    return GROUP_PREFIX + salted_hmac(GROUP_SALT, who, algorithm="sha256").hexdigest()


def created_message(upload: Upload, token: str) -> dict[str, Any]:
    """What the owner's other sockets get: a history item (the event plus ``filename``, ``created_at`` and a
    subscribe ``token``) with ``type`` ``upload.created``."""
    created = upload.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")  # as the history GET's
    return {**upload_event(upload, variants=[]), "type": CREATED_TYPE, "filename": upload.filename,
            "created_at": created, "token": token}


def publish_created(uploads: list[tuple[Upload, str]]) -> None:
    """Tell the owner's sockets of each new ``(upload, subscribe token)``; call it in ``on_commit``, never raises.

    An upload with neither an owner nor a session hash (a request without
    sessions) has no group and is told to no one.
    """
    for upload, token in uploads:
        group = owner_group(user_id=upload.owner_id, session_hash=upload.session_hash)
        if group is not None:
            publish(created_message(upload, token), group)
