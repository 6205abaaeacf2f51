"""The contract as OpenAPI 3 (drf-spectacular): ``GET /api/schema/``, Swagger UI at ``/api/schema/swagger/``.

drf-spectacular describes the DRF view (presign) from its serializer. The push
path (status GET, callback) and the local backend's POST are plain async
Django views, kept off DRF for speed, so :func:`add_push_path`, a
drf-spectacular post-processing hook, adds them from the components below:
one document for the whole contract of ``docs/contract.md``.
``tests/scenarios/test_schema.py`` runs schemathesis against a live server with it.

drf-spectacular is optional (the ``schema`` extra: ``pip install
"django-realtime-uploads[schema]"``): ``realtime_uploads.urls`` imports this
module, and serves :class:`SchemaView` and :class:`SwaggerView`, only when it
is installed. :class:`SchemaView` describes every view with drf-spectacular's
``AutoSchema`` whatever the project's ``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``
says (DRF's own default made drf-spectacular fail with a 500 "Incompatible
AutoSchema"), with :data:`SPECTACULAR_SETTINGS`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import serializers
from rest_framework.settings import api_settings

import realtime_uploads
from realtime_uploads.presign.serializers import BatchPresignInputSerializer, PresignInputSerializer

CONTRACT_VERSION = realtime_uploads.__version__  # the package's: one version number

#: drf-spectacular's settings for this API's document (``SpectacularAPIView(custom_settings=...)``).
SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "realtime-uploads",
    "DESCRIPTION": "Direct-to-S3 image uploads with processing results pushed over WebSockets.\n\n"
    "WebSocket, one upload: /ws/uploads/{id}/?token=… sends the Event at once and on every change "
    "(close codes 4400 malformed id, 4403 forbidden, 4404 unknown id, 4429 too many sockets, 4413 message "
    "too large, 4503 try again later). The handshake's Origin must be the server's own (scheme, host, port), "
    "in ALLOWED_ORIGINS or in CSRF_TRUSTED_ORIGINS: else HTTP 403.\n\n"
    "WebSocket, many uploads: /ws/uploads/ takes JSON text messages "
    '{"type": "subscribe", "id": "<uuid>", "token": "<subscribe token>"} (token optional for the owner\'s '
    'session), {"type": "unsubscribe", "id": "<uuid>"} (answered {"type": "unsubscribed", "id"}) and '
    '{"type": "ping"} (answered {"type": "pong"}). Each subscription gets its Event at once, then every change, '
    "de-duplicated by seq per upload. A refused subscription is a message naming it, and the socket stays "
    'open: {"type": "error", "id": "<as sent>", "error": {"code": "malformed_id" | "forbidden" | "not_found" | '
    '"too_many_subscriptions" | "too_many_subscribers" | "try_again", "message": "…"}}. At most '
    "MAX_SUBSCRIPTIONS_PER_SOCKET subscriptions per socket.",
    "VERSION": CONTRACT_VERSION,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "realtime_uploads.schema.add_push_path",
    ],
}

_ref = "#/components/schemas/{}".format
#: 0.3: ``cancelled`` (a DELETE of an unfinished upload); ``deleted`` only in the last pushed event of a deleted one.
_STATUSES = ["pending", "processing", "completed", "failed", "expired", "cancelled", "deleted"]
_FORMAT = {"type": "string", "description": "Pillow's format name read from the bytes, e.g. JPEG, PNG, WEBP."}
_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "description": "Stable failure code (docs/contract.md, 'Failure codes')."},
        "message": {"type": "string"},
    },
}
_ORIGINAL = {
    "type": "object",
    "required": ["width", "height", "format"],
    "properties": {"width": {"type": "integer", "minimum": 1}, "height": {"type": "integer", "minimum": 1},
                   "format": _FORMAT},
}
_DETAIL = {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}},
           "additionalProperties": True}

COMPONENTS: dict[str, dict] = {
    "UploadError": _ERROR,
    "Original": _ORIGINAL,
    "VariantFile": {
        "type": "object",
        "required": ["format", "type", "size", "url"],
        "description": "One file of a variant (contract 0.2).",
        "properties": {
            "format": _FORMAT, "type": {"type": "string", "description": "its Content-Type, for <source type>"},
            "size": {"type": "integer", "description": "bytes"},
            "url": {"type": "string", "description": "presigned GET, or PUBLIC_BASE_URL + key"},
        },
    },
    "Variant": {
        "type": "object",
        "required": ["name", "width", "height", "format", "size", "url"],
        "description": "One size of the image; format, size and url are its fallback file's, the last of formats.",
        "properties": {
            "name": {"type": "string"}, "width": {"type": "integer"}, "height": {"type": "integer"},
            "format": _FORMAT, "size": {"type": "integer", "description": "bytes"},
            "url": {"type": "string", "description": "presigned GET, or PUBLIC_BASE_URL + key"},
            "animated": {"type": "boolean", "description": "0.2: an animated WebP of an animated original"},
            "formats": {"type": "array", "items": {"$ref": _ref("VariantFile")}, "minItems": 1,
                        "description": "0.2: every file of this variant, in order of preference, the fallback last"},
        },
    },
    "Event": {
        "type": "object",
        "required": ["type", "id", "status", "seq", "original", "variants", "error", "updated_at"],
        "properties": {
            "type": {"type": "string", "enum": ["upload.status"]},
            "id": {"type": "string", "format": "uuid"},
            "status": {"type": "string", "enum": _STATUSES},
            "seq": {"type": "integer", "minimum": 1, "description": "grows by one with every change"},
            "original": {"oneOf": [{"$ref": _ref("Original")}, {"type": "null"}]},
            "placeholder": {"oneOf": [{"type": "string", "maxLength": 64}, {"type": "null"}],
                            "description": "0.2: base64 ThumbHash to show while a variant loads (completed only)"},
            "color": {"oneOf": [{"type": "string", "pattern": "^#[0-9a-f]{6}$"}, {"type": "null"}],
                      "description": "0.2: the dominant colour (completed only)"},
            "variants": {"type": "array", "items": {"$ref": _ref("Variant")}},
            "error": {"oneOf": [{"$ref": _ref("UploadError")}, {"type": "null"}]},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    },
    "CallbackBody": {
        "type": "object",
        "required": ["id", "status"],
        "properties": {
            "id": {"type": "string", "format": "uuid", "description": "the URL's upload id"},
            "status": {"type": "string", "enum": ["processing", "completed", "failed"]},
            "object": {"type": "object", "properties": {"size": {"type": "integer"}, "etag": {"type": "string"}}},
            "original": {"$ref": _ref("Original")},
            "variants": {"type": "array", "maxItems": 64, "items": {"type": "object", "required": [
                "name", "key", "width", "height", "format", "size"], "properties": {
                "animated": {"type": "boolean"},
                "formats": {"type": "array", "minItems": 1, "maxItems": 4, "description": (
                    "0.2: the variant's files in order of preference; the last must equal the item's own "
                    "format, key and size"), "items": {"type": "object", "required": ["format", "key", "size"]}},
            }}},
            "placeholder": {"type": "string", "maxLength": 64, "pattern": "^[A-Za-z0-9+/]+={0,2}$",
                            "description": "0.2: base64 ThumbHash"},
            "color": {"type": "string", "pattern": "^#[0-9a-f]{6}$", "description": "0.2: dominant colour"},
            "error": {"$ref": _ref("UploadError")},
        },
    },
    "Detail": _DETAIL,
}


def _answer(description: str, schema: str | None = "Detail", headers: dict | None = None) -> dict:
    answer: dict[str, Any] = {"description": description}
    if schema:
        answer["content"] = {"application/json": {"schema": {"$ref": _ref(schema)}}}
    if headers:
        answer["headers"] = headers
    return answer


_RETRY = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
_ID = {"name": "upload_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
_S3_ERROR = {"description": "S3-style XML error (<Error><Code>…</Code><Message>…</Message></Error>)",
             "content": {"application/xml": {"schema": {"type": "string"}}}}

PATHS: dict[str, dict] = {
    "/api/uploads/{upload_id}/": {"get": {
        "operationId": "upload_status",
        "summary": "The upload's snapshot; with since + wait, a long-poll.",
        "parameters": [
            _ID,
            {"name": "token", "in": "query", "schema": {"type": "string"}, "description": "subscribe token"},
            {"name": "since", "in": "query", "schema": {"type": "integer", "minimum": 0}},
            {"name": "wait", "in": "query", "schema": {"type": "number", "minimum": 0, "maximum": 30},
             "description": "seconds"},
        ],
        "responses": {"200": _answer("the Event", "Event"), "400": _answer("bad query, naming the parameter"),
                      "403": _answer("neither the owner nor the token's holder"), "404": _answer("unknown id"),
                      "429": _answer("0.3: code too_many_long_polls, this client already has "
                                     "LONG_POLL_MAX_PER_CLIENT long-polls waiting; retry after Retry-After",
                                     headers=_RETRY),
                      "503": _answer("saturated; retry after Retry-After", headers=_RETRY)},
    }, "delete": {
        "operationId": "upload_delete",
        "summary": "0.3: cancel an unfinished upload, or delete a finished one with its stored files.",
        "description": ("Authorised by ?token= (no CSRF) or the owner's session (with its X-CSRFToken header). "
                        "pending/processing: 200, the cancelled event. completed/failed/expired/cancelled: 204, "
                        "the row deleted, its original and variants deleted after commit, followers sent a last "
                        "event with status deleted. A valid token for an upload already deleted: 204 again."),
        "parameters": [
            _ID, {"name": "token", "in": "query", "schema": {"type": "string"}, "description": "subscribe token"},
        ],
        "responses": {"200": _answer("cancelled: the Event", "Event"), "204": {"description": "deleted"},
                      "403": _answer("not the owner nor the token's holder, or code csrf_failed: a session "
                                     "without its CSRF token"),
                      "404": _answer("unknown id"),
                      "409": _answer("code upload_in_use: a finished upload a saved object points to"),
                      "503": _answer("saturated", headers=_RETRY)},
    }},
    "/api/uploads/{upload_id}/callback/": {"post": {
        "operationId": "upload_callback",
        "summary": "The processor reports processing, completed or failed.",
        "parameters": [_ID, {"name": "X-Upload-Signature", "in": "header", "required": True,
                             "schema": {"type": "string"}, "description": "t=<unix>,v1=<hex HMAC-SHA256>"}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "$ref": _ref("CallbackBody")}}}},
        "responses": {"200": _answer("the snapshot after the report", "Event"),
                      "400": _answer("bad body, naming the field"), "401": _answer("bad or stale signature"),
                      "404": _answer("unknown id"), "409": _answer("illegal transition or another object version; "
                                                                        "code upload_cancelled: the upload was "
                                                                        "cancelled, its object is deleted"),
                      "413": _answer("body too large"), "503": _answer("saturated", headers=_RETRY)},
    }},
    "/api/uploads/local/": {"post": {
        "operationId": "local_upload",
        "summary": "The local backend's emulation of S3's POST Object (fields first, file last).",
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["key", "policy", "file"],
            "properties": {"key": {"type": "string"}, "policy": {"type": "string"},
                           "x-amz-signature": {"type": "string"}, "Content-Type": {"type": "string"},
                           "file": {"type": "string", "format": "binary"}}}}}},
        "responses": {"204": {"description": "stored"}, "400": _S3_ERROR, "403": _S3_ERROR, "404": _S3_ERROR,
                      "409": _S3_ERROR, "413": _answer("body over MAX_BODY_SIZE")},
    }},
    "/api/uploads/{upload_id}/download/": {"get": {
        "operationId": "upload_download",
        "summary": "0.3: the owner's original, by a redirect to a link valid DOWNLOAD_URL_EXPIRES seconds.",
        "description": ("Authorised by ?token= (the subscribe token), the owner's session or the anonymous "
                        "session that presigned it. The link (S3: a presigned GET; local backend: "
                        "/api/uploads/local/download/<token>/) answers with Content-Disposition: attachment."),
        "parameters": [
            _ID, {"name": "token", "in": "query", "schema": {"type": "string"}, "description": "subscribe token"},
        ],
        "responses": {"302": {"description": "to the download link",
                              "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}}},
                      "403": _answer("code not_authorised: not the owner"), "404": _answer("code not_found"),
                      "409": _answer("code not_completed: the upload is not completed"),
                      "503": _answer("code storage_unavailable: the backend cannot sign the link")},
    }},
    "/api/uploads/local/files/{key}": {"get": {
        "operationId": "local_file",
        "summary": "0.3, local backend only: a variant's bytes (its url). Originals are never served.",
        "parameters": [{"name": "key", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1},
                        "description": "the variant's key, under VARIANT_PREFIX"}],
        "responses": {"200": {"description": "the variant", "content": {"image/*": {
                          "schema": {"type": "string", "format": "binary"}}}},
                      "304": {"description": "not modified since If-Modified-Since"},
                      "404": _answer("no such variant (any key outside VARIANT_PREFIX)")},
    }},
    "/api/uploads/local/download/{token}/": {"get": {
        "operationId": "local_download",
        "summary": "0.3, local backend only: an original, by the signed link the download redirect gives.",
        "parameters": [{"name": "token", "in": "path", "required": True,
                        "schema": {"type": "string", "minLength": 1}}],
        "responses": {"200": {"description": "the original, Content-Disposition: attachment",
                              "content": {"application/octet-stream": {
                                  "schema": {"type": "string", "format": "binary"}}}},
                      "403": _S3_ERROR, "404": _S3_ERROR},
    }},
}


def add_push_path(result: dict, generator, request, public) -> dict:
    """drf-spectacular post-processing hook: add the push path's operations and the contract's components."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
    paths = result.setdefault("paths", {})
    for path, operations in PATHS.items():
        for method, operation in operations.items():
            paths.setdefault(path, {})[method] = {"tags": ["uploads"], **operation}
    return result


_PRESIGNED = inline_serializer("Presigned", {
    "id": serializers.UUIDField(),
    "status": serializers.ChoiceField(choices=["pending"]),
    "upload": inline_serializer("PresignedPost", {
        "url": serializers.CharField(), "fields": serializers.DictField(child=serializers.CharField())}),
    "subscribe": inline_serializer("Subscribe", {"url": serializers.CharField(), "token": serializers.CharField()}),
    "status_url": serializers.CharField(),
    "expires_at": serializers.DateTimeField(),
})


_HISTORY_ITEM = {"allOf": [{"$ref": _ref("Event")}, {
    "type": "object", "required": ["filename", "created_at", "token"],
    "properties": {"filename": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"},
                   "token": {"type": "string", "description": "a fresh subscribe token for this upload"}}}]}
COMPONENTS["HistoryItem"] = _HISTORY_ITEM
COMPONENTS["HistoryPage"] = {
    "type": "object", "required": ["next", "previous", "results"],
    "properties": {"next": {"type": ["string", "null"], "description": "URL of the next (older) page"},
                   "previous": {"type": ["string", "null"]},
                   "results": {"type": "array", "items": {"$ref": _ref("HistoryItem")}}},
}
_THROTTLED = OpenApiResponse(description="throttled, or too many uploads pending: {detail, code, limit} and "
                                         "Retry-After")
#: 0.3: who may presign is REALTIME_UPLOADS["PERMISSION_CLASSES"] (signed-in users by default), bodies are JSON only.
_REFUSED = OpenApiResponse(description="0.3: PERMISSION_CLASSES refused the request (signed-in users only by "
                                       "default): {detail} naming the setting; 401 where the authentication asks "
                                       "for credentials")
_NOT_JSON = OpenApiResponse(description="0.3: the body is not application/json: {detail} naming it")
_NO_STORAGE = OpenApiResponse(description="0.3: the storage backend could not presign (its configuration): "
                                          "{detail, code: storage_unavailable}; nothing was created")


class PresignSchema(OpenApiViewExtension):
    """Describes ``UploadCreateApi`` without touching the view's module."""

    target_class = "realtime_uploads.presign.views.UploadCreateApi"

    def view_replacement(self):
        class Fixed(self.target_class):
            schema = AutoSchema()  # whatever the project's DEFAULT_SCHEMA_CLASS, this view is described

        return extend_schema_view(post=extend_schema(
            operation_id="upload_create", tags=["uploads"], request=PresignInputSerializer,
            responses={201: _PRESIGNED, 400: OpenApiResponse(description="invalid input: {field: [message]}, or "
                                                                        "a body that is not JSON: {detail}"),
                       403: _REFUSED, 415: _NOT_JSON, 429: _THROTTLED, 503: _NO_STORAGE},
            summary="Create an upload and presign its POST.",
        ), get=extend_schema(
            operation_id="upload_history", tags=["uploads"], request=None,
            parameters=[OpenApiParameter("cursor", str, description="from next/previous"),
                        OpenApiParameter("limit", int, description="page size, at most HISTORY_PAGE_SIZE")],
            responses={200: OpenApiResponse(response={"$ref": _ref("HistoryPage")},
                                            description="the requester's uploads, newest first"),
                       403: _REFUSED, 404: OpenApiResponse(description="invalid cursor: {detail}")},
            summary="The requester's uploads (signed-in owner, or this anonymous session), newest first.",
        ))(Fixed)


class BatchPresignSchema(OpenApiViewExtension):
    """Describes ``UploadBatchCreateApi``."""

    target_class = "realtime_uploads.presign.views.UploadBatchCreateApi"

    def view_replacement(self):
        class Fixed(self.target_class):
            schema = AutoSchema()

        return extend_schema_view(post=extend_schema(
            operation_id="upload_batch_create", tags=["uploads"], request=BatchPresignInputSerializer,
            responses={201: inline_serializer("PresignedBatch", {"uploads": _PRESIGNED.__class__(many=True)}),
                       400: OpenApiResponse(description="invalid input, nothing created: {\"files\": [{}, "
                                                        "{field: [message]}, …]} per item in order, or "
                                                        "{\"files\": [message]}, or a body that is not JSON: "
                                                        "{detail}"),
                       403: _REFUSED, 415: _NOT_JSON, 429: _THROTTLED, 503: _NO_STORAGE},
            summary="Presign up to MAX_BATCH_FILES uploads in one request, all or nothing.",
        ))(Fixed)


_schema_class_lock = threading.Lock()


@contextmanager
def _own_schema_class() -> Iterator[None]:
    """DRF's ``DEFAULT_SCHEMA_CLASS`` read as drf-spectacular's ``AutoSchema`` meanwhile, for this process.

    Both the views' ``schema`` (DRF's ``DefaultSchema``) and drf-spectacular's ``extend_schema`` read it while the
    document is built. (drf-spectacular's own ``custom_settings`` are applied the same way, process-wide.)
    """
    with _schema_class_lock:
        cached = api_settings.__dict__.get("DEFAULT_SCHEMA_CLASS", _MISSING)
        api_settings.DEFAULT_SCHEMA_CLASS = AutoSchema
        try:
            yield
        finally:
            if cached is _MISSING:
                api_settings.__dict__.pop("DEFAULT_SCHEMA_CLASS", None)
            else:
                api_settings.DEFAULT_SCHEMA_CLASS = cached


_MISSING = object()


class SchemaView(SpectacularAPIView):
    """``GET /api/schema/``: the OpenAPI 3 document (YAML, or JSON with ``?format=json``) with
    :data:`SPECTACULAR_SETTINGS`, every view described by drf-spectacular's ``AutoSchema`` whatever the project's
    ``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]`` (that setting is for the project's own schema)."""

    custom_settings = SPECTACULAR_SETTINGS

    def _get_schema_response(self, request):  # drf-spectacular's, inside its custom_settings
        with _own_schema_class():
            return super()._get_schema_response(request)


class SwaggerView(SpectacularSwaggerView):
    """``GET /api/schema/swagger/``: Swagger UI for :class:`SchemaView` (needs ``"drf_spectacular"`` in
    INSTALLED_APPS for its template; with ``drf_spectacular_sidecar`` installed too, and
    ``SPECTACULAR_SETTINGS = {"SWAGGER_UI_DIST": "SIDECAR", ...}``, its files are served locally)."""

    url_name = "realtime_uploads:schema"
