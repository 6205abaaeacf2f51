"""The local backend's stand-in for S3's GET: variants for anyone with the URL, an original only by signed link.

- :func:`local_file` (``GET <api>/uploads/local/files/<key>``) serves a
  variant, as a bucket policy or a CDN in front of ``VARIANT_PREFIX`` would:
  a key outside ``VARIANT_PREFIX`` (an original), a traversal, or a file
  that is not there is 404, whatever the path says. Variants are public by
  URL: their key holds the upload's random UUID and their bytes carry no
  metadata (the processor re-encodes the pixels only).
- :func:`local_download` (``GET <api>/uploads/local/download/<token>/``)
  streams an original as an attachment to whoever holds a link that the
  owner's download view (:mod:`realtime_uploads.presign.download`) made,
  until it expires (``DOWNLOAD_URL_EXPIRES``), as S3 honours a presigned GET.

Both answer only while ``REALTIME_UPLOADS["BACKEND"]`` is the local backend
(404 otherwise). The files come from the backend's own folder
(``LOCAL_ROOT``), never from ``MEDIA_ROOT``.
"""

from __future__ import annotations

import os

from django.http import FileResponse, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from django.views.static import serve

from realtime_uploads.core.formats import EXTENSION_CONTENT_TYPES
from realtime_uploads.exceptions import PolicyError
from realtime_uploads.local.post_object import s3_error
from realtime_uploads.processing.pipeline import VARIANT_CACHE_CONTROL
from realtime_uploads.runtime.answers import error, json_response
from realtime_uploads.storage import get_backend
from realtime_uploads.storage.local import LocalBackend


def _local_backend() -> LocalBackend | None:
    backend = get_backend()
    return backend if isinstance(backend, LocalBackend) else None


@require_safe
def local_file(request: HttpRequest, path: str) -> HttpResponse:
    """``GET``/``HEAD`` a variant of the local backend by its key (``path``).

    200 with the variant's ``Content-Type`` (from its extension), ``Cache-Control: public, max-age=31536000,
    immutable`` (a key is never rewritten with other bytes), ``Last-Modified`` and
    ``X-Content-Type-Options: nosniff``; 304 to a matching ``If-Modified-Since``; 404 (JSON ``{"detail"}``)
    for anything that is not a stored variant (:meth:`LocalBackend.variant_path`); 405 for other methods.
    """
    backend = _local_backend()
    file = backend.variant_path(path) if backend is not None else None
    if file is None:
        return json_response(error(404, "No such variant."))
    response = serve(request, os.path.basename(file), document_root=os.path.dirname(file))
    extension = file.rpartition(".")[2].lower()
    content_type = EXTENSION_CONTENT_TYPES.get(extension)  # mimetypes may not know .avif
    if content_type and response.status_code == 200:
        response.headers["Content-Type"] = content_type
    response.headers["Cache-Control"] = VARIANT_CACHE_CONTROL
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
def local_download(request: HttpRequest, token: str) -> HttpResponse:
    """``GET``/``HEAD`` the original a download link names, as an attachment.

    200 with ``Content-Disposition: attachment`` (the upload's file name, made safe), the upload's
    ``Content-Type``, ``Cache-Control: private, no-store``; 403 with S3's XML error (``AccessDenied`` for
    an altered token, ``ExpiredToken`` past ``DOWNLOAD_URL_EXPIRES``); 404 when the original is no longer
    stored; 405 for other methods.
    """
    backend = _local_backend()
    if backend is None:
        return s3_error(PolicyError("NoSuchKey", "The local backend is not in use.", 404))
    try:
        grant = backend.verify_download(token)
    except PolicyError as error:
        return s3_error(error)
    path = backend.original_path(grant.key)
    if path is None:
        return s3_error(PolicyError("NoSuchKey", "The specified key does not exist.", 404))
    response = FileResponse(open(path, "rb"), as_attachment=True, filename=grant.filename,  # noqa: SIM115
                            content_type=grant.content_type)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
