"""Input serializers of the REST API. (Output is the event: :func:`realtime_uploads.events.upload_event`.)"""

from __future__ import annotations

from rest_framework import serializers

from ..conf import uploads_settings
from ..processing.errors import ERROR_CODES

CALLBACK_STATUSES = ("processing", "completed", "failed")


class PresignInputSerializer(serializers.Serializer):
    """``{"filename": str, "content_type": str, "size": int (bytes)}``."""

    filename = serializers.CharField(max_length=255, trim_whitespace=True)
    content_type = serializers.CharField(max_length=100)
    size = serializers.IntegerField()

    def validate_filename(self, value: str) -> str:
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise serializers.ValidationError("File name must not contain control characters.")
        return value

    def validate_content_type(self, value: str) -> str:
        allowed = uploads_settings.ALLOWED_CONTENT_TYPES
        if value not in allowed:
            raise serializers.ValidationError(
                f"Content type {value!r} is not allowed; use one of {', '.join(allowed)}."
            )
        return value

    def validate_size(self, value: int) -> int:
        maximum = uploads_settings.MAX_SIZE
        if not 1 <= value <= maximum:
            raise serializers.ValidationError(f"Size must be between 1 and {maximum} bytes, got {value}.")
        return value


class StatusQuerySerializer(serializers.Serializer):
    """Query of the status GET: ``token``, and for a long-poll ``since`` (seq) and ``wait`` (seconds)."""

    token = serializers.CharField(required=False, allow_blank=True)
    since = serializers.IntegerField(required=False, min_value=0)
    wait = serializers.FloatField(required=False, min_value=0)

    def validate_wait(self, value: float) -> float:
        maximum = uploads_settings.LONG_POLL_MAX_WAIT
        if value > maximum:
            raise serializers.ValidationError(f"wait is at most {maximum} seconds, got {value:g}.")
        return value


class OriginalSerializer(serializers.Serializer):
    width = serializers.IntegerField(min_value=1)
    height = serializers.IntegerField(min_value=1)
    format = serializers.CharField(max_length=16)


class VariantSerializer(serializers.Serializer):
    name = serializers.RegexField(r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)
    key = serializers.CharField(max_length=1024)
    width = serializers.IntegerField(min_value=1)
    height = serializers.IntegerField(min_value=1)
    format = serializers.CharField(max_length=16)
    size = serializers.IntegerField(min_value=1)


class ErrorSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=sorted(ERROR_CODES))
    message = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")


class ObjectSerializer(serializers.Serializer):
    """The version of the original the report is about (from the processor's HEAD)."""

    size = serializers.IntegerField(min_value=0)
    etag = serializers.CharField(max_length=128)


class CallbackInputSerializer(serializers.Serializer):
    """The processor's report (``../shared/API.md``, callback body, plus ``id`` and ``object``).

    ``id`` must be the upload id of the URL (the signature covers the body,
    not the URL, so this binds a signed report to its upload: a captured
    callback cannot be replayed against another upload). ``completed``
    requires ``original`` and at least one variant, every variant key under
    ``<VARIANT_PREFIX><id>/``; ``failed`` requires ``error``. The URL's
    upload id comes in the context as ``upload_id``.
    """

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=CALLBACK_STATUSES)
    object = ObjectSerializer(required=False)
    original = OriginalSerializer(required=False)
    variants = VariantSerializer(many=True, required=False)
    error = ErrorSerializer(required=False)

    def validate_id(self, value):
        if value != self.context["upload_id"]:
            raise serializers.ValidationError("The body's id is not the upload of this URL.")
        return value

    def validate(self, attrs: dict) -> dict:
        status = attrs["status"]
        if status == "completed":
            if "original" not in attrs:
                raise serializers.ValidationError({"original": "A completed callback must describe the original."})
            variants = attrs.get("variants") or []
            if not variants:
                raise serializers.ValidationError({"variants": "A completed callback must list its variants."})
            names = [v["name"] for v in variants]
            if len(set(names)) != len(names):
                raise serializers.ValidationError({"variants": "Variant names must be unique."})
            prefix = f"{uploads_settings.VARIANT_PREFIX}{self.context['upload_id']}/"
            for variant in variants:
                key = variant["key"]
                if not key.startswith(prefix) or ".." in key or "/" in key[len(prefix):]:
                    raise serializers.ValidationError(
                        {"variants": f"Variant key {key!r} must lie directly under {prefix!r}."}
                    )
        elif status == "failed" and "error" not in attrs:
            raise serializers.ValidationError({"error": "A failed callback must carry an error code."})
        return attrs
