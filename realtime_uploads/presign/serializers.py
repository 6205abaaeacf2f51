"""Input serializers of presign: one file, or a batch of them.

(The presign answer is built by :mod:`.views`; the status query's serializer
is :mod:`realtime_uploads.push.status`'s, the callback body is checked by
:mod:`realtime_uploads.callback.body`.)"""

from __future__ import annotations

from rest_framework import serializers

try:  # the OpenAPI document is optional (the "schema" extra)
    from drf_spectacular.utils import extend_schema_field
except ImportError:  # pragma: no cover - exercised by the installed-wheel test without the extra
    def extend_schema_field(schema):  # noqa: ARG001 - the same signature, describing nothing
        return lambda field: field

from realtime_uploads.conf import uploads_settings
from realtime_uploads.core.formats import content_type_for
from realtime_uploads.core.settings_schema import SETTINGS


class PresignInputSerializer(serializers.Serializer):
    """``{"filename": str, "content_type": str, "size": int (bytes)}``.

    A generic ``content_type`` ("" or ``application/octet-stream``, what browsers give a file they cannot
    type, such as a phone's HEIC) is taken from the file name's extension (``IMG_0001.HEIC`` → ``image/heic``);
    the presigned policy then pins that type, and the browser sends it from ``fields``.
    """

    filename = serializers.CharField(max_length=255, trim_whitespace=True)
    content_type = serializers.CharField(max_length=100, allow_blank=True)
    size = serializers.IntegerField()

    def validate_filename(self, value: str) -> str:
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise serializers.ValidationError("File name must not contain control characters.")
        return value

    def validate(self, attrs: dict) -> dict:
        allowed = uploads_settings.ALLOWED_CONTENT_TYPES
        declared = attrs["content_type"]
        resolved = content_type_for(declared, attrs["filename"])
        if resolved not in allowed:
            named = f"{declared!r}" if resolved == declared else f"{declared!r} (taken from the name: {resolved!r})"
            raise serializers.ValidationError({"content_type": [
                f"Content type {named} is not allowed; use one of {', '.join(allowed)}."]})
        return {**attrs, "content_type": resolved}

    def validate_size(self, value: int) -> int:
        maximum = uploads_settings.MAX_SIZE
        if not 1 <= value <= maximum:
            raise serializers.ValidationError(f"Size must be between 1 and {maximum} bytes, got {value}.")
        return value


@extend_schema_field({"type": "array", "minItems": 1, "items": {
    "type": "object", "required": ["filename", "content_type", "size"],
    "properties": {"filename": {"type": "string", "minLength": 1, "maxLength": 255},
                   "content_type": {"type": "string", "maxLength": 100},
                   "size": {"type": "integer", "description": "bytes"}}},
                     "description": f"1 to MAX_BATCH_FILES files (default {SETTINGS['MAX_BATCH_FILES'].default})"})
class _Files(serializers.ListField):
    """A list of anything: :class:`BatchPresignInputSerializer` checks each item and reports per item."""


class BatchPresignInputSerializer(serializers.Serializer):
    """``{"files": [<PresignInputSerializer's shape>, …]}``: 1 to ``MAX_BATCH_FILES`` items.

    Errors are per item, in order: ``{"files": [{}, {"size": ["…"]}]}`` (``{}``
    for a valid item), or ``{"files": ["…"]}`` for the list itself.
    """

    files = _Files(allow_empty=False)

    def validate_files(self, value: list) -> list:
        maximum = uploads_settings.MAX_BATCH_FILES
        if len(value) > maximum:
            raise serializers.ValidationError(f"A batch holds at most {maximum} files (MAX_BATCH_FILES), "
                                              f"got {len(value)}.")
        # Each item on its own, errors as a list whatever the project's LIST_SERIALIZER_ERRORS_AS_DICT.
        items = [PresignInputSerializer(data=item) for item in value]
        if not all([item.is_valid() for item in items]):  # noqa: C419 - every item, not up to the first bad one
            raise serializers.ValidationError([dict(item.errors) for item in items])
        return [item.validated_data for item in items]


def batch_size(data) -> int:
    """How many presigns a batch body asks for (1 when it is not a batch), for the throttles."""
    files = data.get("files") if isinstance(data, dict) else None
    return max(1, min(len(files), uploads_settings.MAX_BATCH_FILES)) if isinstance(files, list) else 1
