"""``GET /api/uploads/<id>/download/``: the owner's original, by a redirect to a short-lived link.

As alliance-platform-storage's ``DownloadRedirectView``: the app checks who
asks, then redirects (302) to a URL the storage honours by itself for
``DOWNLOAD_URL_EXPIRES`` seconds, so no original passes through a Django
worker on S3: a SigV4 presigned GET with ``response-content-disposition:
attachment`` (AWS S3 API Reference, GetObject), or on the local backend the
app's own signed link (:mod:`realtime_uploads.local.files`). Originals keep
what the browser sent, EXIF and GPS included: only their owner gets one.
"""

from __future__ import annotations

import hmac
import logging

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.views.decorators.http import require_safe

from realtime_uploads.conf import uploads_settings
from realtime_uploads.exceptions import StorageError
from realtime_uploads.models import Status
from realtime_uploads.presign.identity import session_hash
from realtime_uploads.state.access import check_subscribe_token, is_owner
from realtime_uploads.state.selectors import parse_upload_id, uploads_by_id
from realtime_uploads.storage import get_backend
from realtime_uploads.storage.base import attachment_name

logger = logging.getLogger(__name__)


def _refusal(status: int, detail: str, code: str) -> JsonResponse:
    response = JsonResponse({"detail": detail, "code": code}, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def may_download(request: HttpRequest, upload) -> bool:
    """Whether ``request`` comes from ``upload``'s owner: a valid subscribe token in ``?token=``, the
    signed-in owner's session, or the anonymous session that presigned it."""
    if check_subscribe_token(request.GET.get("token"), upload.pk):
        return True
    user = getattr(request, "user", None)
    if is_owner(user, upload.owner_id):
        return True
    anonymous = session_hash(request, create=False) if upload.owner_id is None and upload.session_hash else ""
    return bool(anonymous) and hmac.compare_digest(anonymous, upload.session_hash)


@require_safe
def upload_download(request: HttpRequest, upload_id: str) -> HttpResponse:
    """``GET``/``HEAD``: 302 to a link to the original, valid ``DOWNLOAD_URL_EXPIRES`` seconds, whose answer
    is ``Content-Disposition: attachment`` with the upload's file name (made safe:
    :func:`~realtime_uploads.storage.base.attachment_name`).

    Authorised for the owner only (:func:`may_download`). Errors are JSON ``{"detail", "code"}``: 404
    ``not_found`` (unknown id, or a backend that makes no download links), 403 ``not_authorised``, 409
    ``not_completed`` (the original is offered once the upload is ``completed``). Every answer is
    ``Cache-Control: no-store`` and ``Referrer-Policy: no-referrer`` (the link and the token are in URLs).
    """
    uid = parse_upload_id(upload_id)
    upload = uploads_by_id([uid]).get(uid) if uid is not None else None
    if upload is None:
        return _refusal(404, "No upload with this id.", "not_found")
    if not may_download(request, upload):
        return _refusal(403, "Only the owner of this upload may download its original.", "not_authorised")
    if upload.status != Status.COMPLETED:
        return _refusal(409, f"The upload is {upload.status}; its original can be downloaded once it is completed.",
                        "not_completed")
    try:
        url = get_backend().download_url(upload.key, filename=attachment_name(upload.filename),
                                         content_type=upload.content_type,
                                         expires_in=uploads_settings.DOWNLOAD_URL_EXPIRES, request=request)
    except NotImplementedError:
        return _refusal(404, "This storage backend offers no downloads.", "not_found")
    except StorageError as exc:  # S3 without credentials: the deploy's to fix, said in the log
        logger.error("Download link failed: %s", exc)
        return _refusal(503, "Downloads are unavailable: the storage service could not sign the link. "
                             "Try again later.", "storage_unavailable")
    response = HttpResponseRedirect(url)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
