"""The presign service: create the uploads, presign their POSTs, make their subscribe tokens: one call.

The single and the batch presign views both call :func:`uploads_presign`;
they only translate HTTP. The per-client cap on pending uploads is checked
here, before anything is created, because it is about creating them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from realtime_uploads.models import Upload
from realtime_uploads.presign.identity import session_hash
from realtime_uploads.presign.throttling import PendingCap
from realtime_uploads.state.access import make_subscribe_token
from realtime_uploads.state.owners import publish_created
from realtime_uploads.state.services import upload_new, uploads_save
from realtime_uploads.storage import get_backend


@dataclass(frozen=True)
class Presigned:
    """One presigned upload: the ``pending`` row, the POST (``{"url", "fields"}``) and its subscribe token."""

    upload: Upload
    post: dict[str, Any]
    token: str


def uploads_presign(*, request: Any, files: Sequence[dict[str, Any]]) -> list[Presigned]:
    """Presign one upload per ``{filename, content_type, size}`` of ``files`` (validated), in order, all or none.

    The uploads belong to ``request.user`` (signed in) or else to the
    request's anonymous session (:func:`~.identity.session_hash`, which
    starts one). Raises :class:`~realtime_uploads.exceptions.TooManyPending`
    before creating anything when the client would pass
    ``MAX_PENDING_PER_CLIENT``. Every POST is presigned before any row is
    saved, so a backend that cannot presign (raises) leaves no row behind and
    no write transaction waits on the storage service. Once committed, the
    owner's sockets that follow their history get an ``upload.created``
    message for each (:func:`~realtime_uploads.state.owners.publish_created`).
    """
    cap = PendingCap(request)
    backend = get_backend()
    owner, anonymous = request.user, session_hash(request, create=True)
    with cap.held():  # no other presign of this client between the count and the new rows
        cap.check(len(files))
        uploads = [upload_new(**item, owner=owner, session_hash=anonymous) for item in files]
        posts = [backend.presign(upload, request=request) for upload in uploads]
        uploads_save(uploads)
        cap.record([upload.id for upload in uploads])
    presigned = [Presigned(upload, post, make_subscribe_token(upload.id))
                 for upload, post in zip(uploads, posts, strict=True)]
    # The owner's other tabs (live history, state/owners.py) hear of them once they are committed.
    news = [(one.upload, one.token) for one in presigned]
    transaction.on_commit(lambda: publish_created(news), robust=True)
    return presigned
