"""Image formats: what each is called, which content types and extensions it has, which codecs it needs.

Pillow names formats (``JPEG``, ``WEBP``, ``AVIF``, ``HEIF``…); the contract
uses the same names. The tables are plain data both sides read (presign maps a
generic content type from the file name; events name each file's type). The
codec checks ask Pillow (and whether pi-heif is installed) without importing a
decoder: :mod:`realtime_uploads.processing.image.codecs` registers them.
"""

from __future__ import annotations

from collections.abc import Collection

from realtime_uploads.core.errors import CodecMissing

#: Pillow format -> the content type its variants are stored with (and the first one it is allowed under).
FORMAT_CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "AVIF": "image/avif",
    "HEIF": "image/heic",
}
#: Content type -> the Pillow format whose decoder may open it. ``image/heif`` is the container's type
#: (RFC/IANA registration of ISO/IEC 23008-12), ``image/heic`` that of HEVC-coded HEIF, which iPhones send.
CONTENT_TYPE_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
    "image/avif": "AVIF",
    "image/heic": "HEIF",
    "image/heif": "HEIF",
}
#: File-name extensions (lower case) -> content type, for a client that says only "application/octet-stream"
#: (the JS client's EXTENSION_TYPES, sniff.js, is the same table; tests/unit/processing/image/test_formats.py
#: keeps them equal).
EXTENSION_CONTENT_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "jpe": "image/jpeg", "png": "image/png", "gif": "image/gif",
    "webp": "image/webp", "avif": "image/avif", "heic": "image/heic", "heics": "image/heic",
    "heif": "image/heif", "heifs": "image/heif", "hif": "image/heif",
}
#: What browsers send for a file whose type they do not know (phones' HEIC among them).
GENERIC_CONTENT_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/unknown"})
FORMAT_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "AVIF": "avif", "HEIF": "heic"}
#: Formats a variant may be rendered as.
OUTPUT_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "AVIF"})
#: Quality (1..100) of a variant format when the variant gives none. AVIF's scale is libavif's through Pillow:
#: 60 there is about JPEG 85 to the eye, at roughly half the bytes.
DEFAULT_QUALITY = {"JPEG": 85, "WEBP": 80, "AVIF": 60, "PNG": 100}
#: Formats that may hold several frames and may be rendered as an animated WebP.
ANIMATED_INPUTS = frozenset({"GIF", "WEBP"})
DEFAULT_ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")

def formats_for(content_types: Collection[str]) -> frozenset[str]:
    """Pillow format names for the allowed MIME types (``image/heic`` → ``HEIF``); unknown types are ignored."""
    return frozenset(CONTENT_TYPE_FORMATS[ct] for ct in content_types if ct in CONTENT_TYPE_FORMATS)


def check_output_format(fmt: str) -> None:
    """Raise CodecMissing when this Pillow cannot write ``fmt`` (AVIF needs Pillow >= 11.3 built with libavif)."""
    from PIL import features  # what this Pillow can do; imported only when a settings check asks

    if fmt == "AVIF" and not features.check("avif"):
        raise CodecMissing("AVIF variants need Pillow 11.3 or newer built with libavif (PyPI's wheels are).")


def check_input_formats(formats: Collection[str]) -> None:
    """Raise CodecMissing when a decoder ``formats`` names is not installed (HEIF: pi-heif; AVIF: libavif).

    Finds the package without importing it, so a settings check costs nothing and registers nothing.
    """
    import importlib.util

    from PIL import features

    if "HEIF" in formats and importlib.util.find_spec("pi_heif") is None:
        raise CodecMissing("HEIC/HEIF input needs pi-heif: pip install pi-heif.")
    if "AVIF" in formats and not features.check("avif"):
        raise CodecMissing("AVIF input needs Pillow 11.3 or newer built with libavif (PyPI's wheels are).")


def content_type_for(declared: str, filename: str) -> str:
    """``declared``, or when it is generic ("", application/octet-stream) the type of ``filename``'s extension.

    Browsers give files they cannot type (a phone's HEIC, often) one of those; the name is all the server
    has (it never sees the bytes: the processor identifies them). Unknown extensions keep ``declared``.
    """
    if declared.strip().lower() not in GENERIC_CONTENT_TYPES:
        return declared
    _, dot, extension = filename.rpartition(".")
    return EXTENSION_CONTENT_TYPES.get(extension.lower(), declared) if dot else declared


def content_type(fmt: str) -> str:
    """The content type a variant of ``fmt`` is stored and announced with (``<source type>``)."""
    return FORMAT_CONTENT_TYPES[fmt]
