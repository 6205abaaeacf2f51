"""``POST /api/uploads/local/``: the local backend's stand-in for S3's POST Object.

Answers as S3 does (docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html):
204 on success; otherwise an XML ``<Error><Code>…</Code><Message>…</Message></Error>``
with S3's codes (``AccessDenied`` / ``SignatureDoesNotMatch`` 403,
``EntityTooLarge`` / ``EntityTooSmall`` / ``IncorrectNumberOfFilesInPostRequest`` 400).
The file must be the last form field, as S3 requires.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..backends import get_backend
from ..backends.local import LocalBackend
from ..backends.policy import PolicyError, entity_too_large
from ..conf import uploads_settings


class CappedUploadHandler(TemporaryFileUploadHandler):
    """Streams the one ``file`` part to a temporary file, giving up past ``limit`` bytes.

    Every chunk goes straight to disk, so a 10 MiB upload never sits in
    memory; past the limit parsing stops and the view answers EntityTooLarge.
    A second file part (or a file under another field name) stops parsing
    too, so one request can never put more than ``limit`` bytes on disk.
    """

    def __init__(self, request, limit: int):
        super().__init__(request)
        self.limit = limit
        self.too_large = False
        self.extra_files = False
        self.files = 0

    def new_file(self, field_name, *args, **kwargs):
        self.files += 1
        if field_name != "file" or self.files > 1:
            self.extra_files = True
            raise StopUpload(connection_reset=True)
        return super().new_file(field_name, *args, **kwargs)

    def receive_data_chunk(self, raw_data: bytes, start: int):
        if start + len(raw_data) > self.limit:
            self.too_large = True
            raise StopUpload(connection_reset=True)
        return super().receive_data_chunk(raw_data, start)


def s3_error(error: PolicyError) -> HttpResponse:
    """An S3-style XML error document for ``error``."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message></Error>"
    )
    return HttpResponse(body, status=error.status, content_type="application/xml")


@csrf_exempt  # like S3, authorised by the signed policy, not by a session
@require_POST
def local_upload(request: HttpRequest) -> HttpResponse:
    """Receive a presigned multipart POST (``fields…`` then ``file``) and store it."""
    backend = get_backend()
    if not isinstance(backend, LocalBackend):
        return s3_error(PolicyError("AccessDenied", "The local upload endpoint is disabled.", 403))
    handler = CappedUploadHandler(request, uploads_settings.MAX_SIZE)
    request.upload_handlers = [handler]
    try:
        fields = {name: request.POST.get(name) for name in request.POST}
        files = request.FILES.getlist("file")
        policy = backend.verify(fields, now=timezone.now())
        if handler.too_large:
            raise entity_too_large()
        if handler.extra_files or len(files) != 1 or len(request.FILES) != 1:
            raise PolicyError(
                "IncorrectNumberOfFilesInPostRequest", "POST requires exactly one file upload per request.", 400
            )
        policy.check_size(files[0].size)
        backend.store(policy, files[0])
    except PolicyError as error:
        return s3_error(error)
    return HttpResponse(status=204)
