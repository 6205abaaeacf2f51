"""The callback body: parsed and checked by hand, because it is the push path's hottest code.

A DRF serializer for this shape costs about 0.4 ms per callback here (it
deep-copies its field tree on every instantiation), a tenth of what one
daphne process has per callback at 300/s. Errors keep DRF's shape,
``{"field": ["message", ...]}``, so the 400 names what was wrong.

The body (``docs/contract.md``, "Callback")::

    {"id": "<uuid, the URL's>", "status": "processing" | "completed" | "failed",
     "object": {"size": int >= 0, "etag": str}?,
     "original": {"width": int >= 1, "height": int >= 1, "format": str}?,
     "variants": [{"name", "key", "width", "height", "format", "size",
                   "animated": bool?, "formats": [{"format", "key", "size"}]?}]?,
     "placeholder": <base64 ThumbHash, at most 64 characters>?, "color": "#rrggbb"?,
     "error": {"code": <a stable code>, "message": str}?}

``completed`` requires ``original`` and at least one variant, every key
directly under ``<VARIANT_PREFIX><id>/``; ``failed`` requires ``error``. A
variant's ``formats`` (contract 0.2) lists its files in order of preference,
1 to 4 different formats, and its own ``key``/``format``/``size`` must be the
last of them (the fallback, what 0.1 clients read); without ``formats`` the
variant is that one file. Unknown keys are ignored, so processors may send
more than this version reads.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from realtime_uploads.core.errors import ERROR_CODES
from realtime_uploads.exceptions import BodyError

STATUSES = ("processing", "completed", "failed")
MAX_VARIANTS = 64
MAX_FORMATS = 4
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_COLOR = re.compile(r"#[0-9a-f]{6}")


def _int(where: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{where} must be a whole number >= {minimum}, got {value!r}.")
    return value


def _clean(where: str, value: str) -> str:
    """``value`` without surrounding whitespace, as DRF's ``CharField`` trims; raises ValueError for a NUL
    (PostgreSQL cannot store it) or a lone surrogate (JSON allows ``"\\ud800"``; UTF-8 cannot hold it)."""
    if "\x00" in value:
        raise ValueError(f"{where} must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{where} must not contain unpaired surrogate characters.") from None
    return value.strip()


def _str(where: str, value: Any, max_length: int) -> str:
    if isinstance(value, str):
        value = _clean(where, value)
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise ValueError(f"{where} must be a non-empty string of at most {max_length} characters.")
    return value


def _object(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be an object.")
    return value


def _key(where: str, value: Any, prefix: str) -> str:
    key = _str(where, value, 1024)
    if not key.startswith(prefix) or ".." in key or "/" in key[len(prefix):] or key == prefix:
        raise ValueError(f"Variant key {key!r} must lie directly under {prefix!r}.")
    return key


def _format(where: str, value: Any) -> str:
    """A format name, upper-cased as the contract writes them (``webp`` and ``WEBP`` are one format)."""
    return _str(where, value, 16).upper()


def _file(where: str, value: Any, prefix: str) -> dict[str, Any]:
    value = _object(where, value)
    return {"format": _format(f"{where}.format", value.get("format")),
            "key": _key(f"{where}.key", value.get("key"), prefix),
            "size": _int(f"{where}.size", value.get("size"), 1)}


def _formats(where: str, value: Any, prefix: str, fallback: dict[str, Any]) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_FORMATS:
        raise ValueError(f"{where} must be a list of 1 to {MAX_FORMATS} files.")
    files = [_file(f"{where}[{i}]", item, prefix) for i, item in enumerate(value)]
    if len({f["format"] for f in files}) != len(files) or len({f["key"] for f in files}) != len(files):
        raise ValueError(f"{where} must not list a format or a key twice.")
    if files[-1] != fallback:
        raise ValueError(f"{where}: the last file (the fallback) must be the variant's own format, key and size.")
    return files


def _variant(index: int, value: Any, prefix: str) -> dict[str, Any]:
    where = f"variants[{index}]"
    value = _object(where, value)
    name = _str(f"{where}.name", value.get("name"), 64)
    if not _NAME.fullmatch(name):
        raise ValueError(f"{where}.name must be an identifier such as 'thumb', got {name!r}.")
    fallback = {"format": _format(f"{where}.format", value.get("format")),
                "key": _key(f"{where}.key", value.get("key"), prefix),
                "size": _int(f"{where}.size", value.get("size"), 1)}
    animated = value.get("animated", False)
    if not isinstance(animated, bool):
        raise ValueError(f"{where}.animated must be true or false, got {animated!r}.")
    formats = _formats(f"{where}.formats", value["formats"], prefix, fallback) if "formats" in value else [fallback]
    return {
        "name": name, "key": fallback["key"],
        "width": _int(f"{where}.width", value.get("width"), 1),
        "height": _int(f"{where}.height", value.get("height"), 1),
        "format": fallback["format"], "size": fallback["size"], "animated": animated, "formats": formats,
    }


def _field(errors: dict[str, list[str]], name: str, parse, *args) -> Any:
    try:
        return parse(*args)
    except ValueError as exc:
        errors[name] = [str(exc)]
        return None


def parse_callback_json(raw: bytes, *, upload_id: uuid.UUID, variant_prefix: str) -> dict[str, Any]:
    """:func:`parse_callback` of the JSON text ``raw``. Raises :class:`BodyError`, for bad JSON too.

    Input nested too deep for Python's parser (``RecursionError``) is bad JSON, not a server error.
    """
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError too
        reason = f" ({exc})" if isinstance(exc, ValueError) else ": it is nested too deeply"
        raise BodyError({"detail": f"The request body is not valid JSON{reason}."}) from exc
    return parse_callback(payload, upload_id=upload_id, variant_prefix=variant_prefix)


def parse_callback(payload: Any, *, upload_id: uuid.UUID, variant_prefix: str) -> dict[str, Any]:
    """The validated body (only the known keys). Raises :class:`BodyError` naming each bad field."""
    if not isinstance(payload, dict):
        raise BodyError({"detail": ["The body must be a JSON object."]})
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {}
    raw_id = payload.get("id")
    try:
        if uuid.UUID(str(raw_id)) != upload_id or not isinstance(raw_id, str):
            errors["id"] = ["The body's id is not the upload of this URL."]
    except ValueError:
        errors["id"] = ["This field is required."] if raw_id is None else ["The body's id must be the upload's UUID."]
    status = payload.get("status")
    if not isinstance(status, str) or status not in STATUSES:
        errors["status"] = [f"status must be one of {', '.join(STATUSES)}, got {status!r}."]
    data["status"] = status
    if "object" in payload:
        data["object"] = _field(errors, "object", _parse_object, payload["object"])
    if "original" in payload:
        data["original"] = _field(errors, "original", _parse_original, payload["original"])
    if "variants" in payload:
        data["variants"] = _field(errors, "variants", _parse_variants, payload["variants"],
                                  f"{variant_prefix}{upload_id}/")
    if "error" in payload:
        data["error"] = _field(errors, "error", _parse_error, payload["error"])
    if "placeholder" in payload:
        data["placeholder"] = _field(errors, "placeholder", _parse_placeholder, payload["placeholder"])
    if "color" in payload:
        data["color"] = _field(errors, "color", _parse_color, payload["color"])
    if not errors:
        if status == "completed":
            if not data.get("original"):
                errors["original"] = ["A completed callback must describe the original."]
            if not data.get("variants"):
                errors["variants"] = ["A completed callback must list its variants."]
        elif status == "failed" and not data.get("error"):
            errors["error"] = ["A failed callback must carry an error code."]
    if errors:
        raise BodyError(errors)
    return data


def _parse_object(value: Any) -> dict[str, Any]:
    value = _object("object", value)
    return {"size": _int("object.size", value.get("size"), 0), "etag": _str("object.etag", value.get("etag"), 128)}


def _parse_original(value: Any) -> dict[str, Any]:
    value = _object("original", value)
    return {"width": _int("original.width", value.get("width"), 1),
            "height": _int("original.height", value.get("height"), 1),
            "format": _str("original.format", value.get("format"), 16)}


def _parse_variants(value: Any, prefix: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or len(value) > MAX_VARIANTS:
        raise ValueError(f"variants must be a list of at most {MAX_VARIANTS} variants.")
    variants = [_variant(i, v, prefix) for i, v in enumerate(value)]
    names = [v["name"] for v in variants]
    if len(set(names)) != len(names):
        raise ValueError("Variant names must be unique.")
    keys = [f["key"] for v in variants for f in v["formats"]]
    if len(set(keys)) != len(keys):
        raise ValueError("Every file of every variant must have a key of its own.")
    return variants


def _parse_placeholder(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 64 or not _BASE64.fullmatch(value):
        raise ValueError("placeholder must be a base64 ThumbHash of at most 64 characters.")
    return value


def _parse_color(value: Any) -> str:
    if not isinstance(value, str) or not _COLOR.fullmatch(value):
        raise ValueError(f"color must be a colour such as '#a1b2c3' (lower-case hex), got {value!r}.")
    return value


def _parse_error(value: Any) -> dict[str, str]:
    value = _object("error", value)
    code = value.get("code")
    if not isinstance(code, str) or code not in ERROR_CODES:
        raise ValueError(f"error.code must be one of {', '.join(sorted(ERROR_CODES))}, got {code!r}.")
    message = value.get("message", "")
    if not isinstance(message, str) or len(message) > 500:
        raise ValueError("error.message must be a string of at most 500 characters.")
    message = _clean("error.message", message)
    return {"code": code, "message": message}
