"""``POST /api/uploads/local/``: the local backend's stand-in for S3's POST Object.

Answers as S3 does (docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html):
204 on success; otherwise an XML ``<Error><Code>…</Code><Message>…</Message></Error>``
with S3's codes (``AccessDenied`` / ``SignatureDoesNotMatch`` 403,
``EntityTooLarge`` / ``EntityTooSmall`` / ``IncorrectNumberOfFilesInPostRequest`` /
``InvalidArgument`` / ``MalformedPOSTRequest`` / ``MaxPostPreDataLengthExceeded`` 400).
A second POST for one upload is AccessDenied: the first object wins.

The form is hostile input: a body that is not multipart, a field sent twice,
fields over S3's 20 KB before the file, and fields after the file (which S3
ignores, so its policy checks then fail) are refused with a 400 naming the
problem, never a 500.
"""

from __future__ import annotations

import logging
from xml.sax.saxutils import escape

from django.core.exceptions import SuspiciousOperation
from django.core.files import File
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from realtime_uploads.conf import uploads_settings
from realtime_uploads.exceptions import PolicyError, StorageError
from realtime_uploads.local.runner import get_runner
from realtime_uploads.models import Status
from realtime_uploads.state.selectors import upload_is_pending, upload_status_by_key
from realtime_uploads.storage import get_backend
from realtime_uploads.storage.local import LocalBackend
from realtime_uploads.storage.policy import PostPolicy, entity_too_large

logger = logging.getLogger(__name__)


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


#: S3 refuses more than this many bytes of form fields before the file (MaxPostPreDataLengthExceeded).
MAX_PRE_DATA = 20 * 1024


class FormParser(MultiPartParser):
    """Django's multipart parser, also noting which fields came before the first file."""

    #: Per field name, how many values arrived before the first file ended (None: no file ended).
    before_file: dict[str, int] | None = None

    def handle_file_complete(self, old_field_name, counters):
        # Called when the part after the file begins (or the body ends): no later field is parsed yet.
        if self.before_file is None:
            self.before_file = {name: len(values) for name, values in self._post.lists()}
        return super().handle_file_complete(old_field_name, counters)


def form_fields(post, before_file: dict[str, int] | None) -> dict[str, str]:
    """The form's fields as one value each, refusing what S3 would not take. Raises PolicyError (400).

    ``post`` is the parsed QueryDict, ``before_file`` :attr:`FormParser.before_file`.
    Fields after the file: S3 ignores them, so a form whose policy fields
    come last fails there; here it is refused naming them (``x-ignore-*``
    ones are dropped, as S3 drops them). A field given twice, or more than
    :data:`MAX_PRE_DATA` bytes of fields, is refused too.
    """
    late = sorted(name for name, values in post.lists()
                  if before_file is not None and len(values) > before_file.get(name, 0))
    if [name for name in late if not name.lower().startswith("x-ignore-")]:
        raise PolicyError("InvalidArgument", "Form fields after the file are ignored (as S3 ignores them), so this "
                          f"form lacks {', '.join(late)}: send every field before the file field.", 400)
    fields: dict[str, str] = {}
    size = 0
    for name, values in post.lists():
        values = values[:before_file.get(name, 0)] if before_file is not None else values
        if not values:
            continue
        if len(values) > 1:
            raise PolicyError("InvalidArgument", f"The form field {name!r} was sent more than once.", 400)
        fields[name] = values[0]
        size += len(name) + len(values[0])
    if size > MAX_PRE_DATA:
        raise PolicyError("MaxPostPreDataLengthExceeded",
                          "Your POST request fields preceding the upload file were too large.", 400)
    return fields


def already_received() -> PolicyError:
    """The answer to a POST for an upload whose object was already received: the first one is kept."""
    return PolicyError("AccessDenied", "This upload has already been received; the first file sent is kept. "
                       "Presign a new upload to send another file.", 403)


def not_accepted(status: str | None) -> PolicyError:
    """AccessDenied (403) for a POST to an upload no longer ``pending``, saying why: ``status`` is its status,
    None when it was deleted."""
    if status == Status.CANCELLED:
        return PolicyError("AccessDenied", "This upload was cancelled; presign a new upload to send a file.", 403)
    if status == Status.EXPIRED:
        return PolicyError("AccessDenied", "This upload expired before its file arrived; presign a new upload.", 403)
    if status is None:
        return PolicyError("AccessDenied", "This upload no longer exists; presign a new upload.", 403)
    return already_received()


def receive(backend: LocalBackend, policy: PostPolicy, file: File) -> None:
    """Store ``file`` (already size-checked) at the policy's key, then queue it for processing, as S3's
    ObjectCreated event would. Raises PolicyError.

    The first object of an upload wins: a later POST of the same form (a
    double submit, or ten at once) is AccessDenied (403) and changes nothing,
    and so is a POST for an upload no longer ``pending`` (a file stored while
    its upload was cancelled is deleted again, never processed). A write that fails
    (a full disk) leaves nothing at the key and is InternalError (500).
    """
    status = upload_status_by_key(policy.key)
    if status != Status.PENDING:
        raise not_accepted(status)
    try:
        stored = backend.store(policy.key, file)
    except OSError as exc:
        raise PolicyError("InternalError", "The object could not be stored.", 500) from exc
    if not stored:  # another POST of this upload created the key first: it wins
        raise already_received()
    if not upload_is_pending(policy.key):  # cancelled (or expired) while the file was written: not kept
        try:
            backend.delete([policy.key])
        except StorageError:  # left for the retention (cleanup_uploads) to delete with the upload
            logger.warning("Could not delete %s, stored after its upload was cancelled.", policy.key)
        raise not_accepted(upload_status_by_key(policy.key))
    # Declined when the queue is full or shutdown has begun: the object is stored and the
    # upload pending, so the sweep (here or in the next process) dispatches it later.
    get_runner().submit(policy.key)


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
    try:
        if hasattr(request, "_files"):  # a middleware read the form already: its order is lost, the rest holds
            post, files, before_file = request.POST, request.FILES, None
        else:
            parser = FormParser(request.META, request, [handler], request.encoding)
            post, files = parser.parse()
            before_file = parser.before_file
    except (MultiPartParserError, SuspiciousOperation, ValueError) as exc:
        return s3_error(PolicyError(
            "MalformedPOSTRequest",
            f"The body of your POST request is not well-formed multipart/form-data: {exc}", 400))
    try:
        fields = form_fields(post, before_file)
        policy = backend.verify(fields, now=timezone.now())
        if handler.too_large:
            raise entity_too_large()
        file_parts = files.getlist("file")
        if handler.extra_files or len(file_parts) != 1 or len(files) != 1:
            raise PolicyError(
                "IncorrectNumberOfFilesInPostRequest", "POST requires exactly one file upload per request.", 400
            )
        policy.check_size(file_parts[0].size)
        receive(backend, policy, file_parts[0])
    except PolicyError as error:
        return s3_error(error)
    finally:
        for part in files.values():
            part.close()
    return HttpResponse(status=204)
