"""Turn an uploaded file into web variants with Pillow (stdlib + Pillow, no Django).

``render_variants`` identifies the image from its bytes, refuses it with a stable
:class:`ProcessingError` code, or returns one metadata-free rendering per :class:`VariantSpec`.
"""

import contextlib
import io
import struct
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from PIL import ExifTags, Image, ImageCms  # ImageCms imports without LittleCMS

from .errors import (
    CORRUPT_IMAGE,
    NOT_AN_IMAGE,
    TOO_LARGE_TO_DECODE,
    TOO_MANY_PIXELS,
    UNSUPPORTED_FORMAT,
    ProcessingError,
)
from .limits import ImageLimits, check_aspect_ratio, check_decode_bytes, estimate_decode_bytes
from .sniff import sniff_format, webp_size

FORMAT_CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
FORMAT_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
OUTPUT_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
DEFAULT_ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")

_DECODE_ERRORS = (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError)
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)
# EXIF orientation -> transpose, the table of PIL.ImageOps.exif_transpose.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_DRAFT_GAP = 2.0  # JPEG is decoded at >= 2x the largest variant, as Image.thumbnail does
_REUSE_GAP = 2.0  # a rendered variant is reused as the source of one at most half its size
_REDUCING_GAP = 3.0  # Image.resize: "indistinguishable from fair resampling" from 3.0 on


@dataclass(frozen=True)
class VariantSpec:
    """Fit inside ``width`` x ``height`` pixels; ``quality`` 1..100 for JPEG/WEBP. ValueError."""

    name: str
    width: int
    height: int
    format: str
    quality: int = 85

    def __post_init__(self):
        object.__setattr__(self, "format", str(self.format).upper())
        if not self.name:
            raise ValueError("A variant needs a non-empty name.")
        if self.format not in OUTPUT_FORMATS:
            raise ValueError(f"Variant {self.name!r}: format not in {sorted(OUTPUT_FORMATS)}.")
        if self.width < 1 or self.height < 1:
            raise ValueError(f"Variant {self.name!r}: width and height must be positive pixels.")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"Variant {self.name!r}: quality must be in 1..100.")


@dataclass(frozen=True)
class OriginalInfo:
    """The upload as displayed: pixels after EXIF orientation, format read from the bytes."""

    width: int
    height: int
    format: str


@dataclass(frozen=True)
class RenderedVariant:
    """One encoded variant; ``data`` is the whole file, ``size`` its length in bytes."""

    name: str
    width: int
    height: int
    format: str
    content_type: str
    extension: str
    data: bytes

    @property
    def size(self) -> int:
        """Length of ``data`` in bytes."""
        return len(self.data)


def render_variants(
    source: BinaryIO,
    specs: Sequence[VariantSpec],
    *,
    max_pixels: int,
    allowed_formats: Collection[str] = DEFAULT_ALLOWED_FORMATS,
    limits: ImageLimits = ImageLimits(),  # noqa: B008 - frozen, shared safely
) -> tuple[OriginalInfo, list[RenderedVariant]]:
    """Decode ``source`` once; return its :class:`OriginalInfo` and ``specs`` rendered, in order.

    ``source`` is read from byte 0 (Pillow seeks there); an unseekable stream is read
    into memory. The format comes from the bytes, and only the Pillow plugins named in
    ``allowed_formats`` parse it; a file none of them accepts is named from its magic
    bytes (:mod:`.sniff`), never by another decoder. From the header alone, before
    decoding, it is refused when over ``max_pixels`` (width x height, capped at
    ``PIL.Image.MAX_IMAGE_PIXELS``, which is never changed), when one side is over
    ``limits.max_aspect_ratio`` times the other, and when decoding it at the size it
    will be decoded at (JPEG: libjpeg's 1/2, 1/4, 1/8 draft scaling, still >= 2x the
    largest variant) is estimated to need over ``limits.max_decode_bytes``
    (:func:`.limits.estimate_decode_bytes`). ``limits.cpu_seconds`` is not enforced
    here (a decode is one C call no thread can interrupt): :func:`.sandbox.render_isolated`
    enforces it. Variants are EXIF-oriented sRGB, never upscaled, aspect kept, with
    no metadata at all (EXIF, ICC, XMP, comments, text chunks).

    Raises ProcessingError with code ``not_an_image``, ``unsupported_format`` (the
    message names the format found), ``too_many_pixels``, ``aspect_ratio``,
    ``too_large_to_decode`` (also when the decoder runs out of memory) or
    ``corrupt_image``; ValueError for bad arguments.
    """
    allowed = _check_arguments(specs, max_pixels, allowed_formats)
    if not isinstance(limits, ImageLimits):
        raise ValueError(f"limits must be an ImageLimits, got {limits!r}.")
    if not getattr(source, "seekable", lambda: False)():
        source = io.BytesIO(source.read())
    if Image.MAX_IMAGE_PIXELS is not None:
        max_pixels = min(max_pixels, Image.MAX_IMAGE_PIXELS)
    if "WEBP" in allowed and (canvas := webp_size(source.read(30))):  # Pillow's open allocates the canvas
        _check_size(canvas, max_pixels, limits)
        check_decode_bytes(estimate_decode_bytes(canvas, "RGBA", "WEBP"), canvas, limits.max_decode_bytes)
    source.seek(0)
    with _open(source, allowed, max_pixels) as im:
        stored = im.size
        _check_size(stored, max_pixels, limits)
        fmt = "JPEG" if im.format == "MPO" else im.format  # MPO: a JPEG with extra frames
        # PNG's getexif() decodes the image when no eXIf chunk came before the pixels: ask only when known.
        orientation = _orientation(im) if fmt == "JPEG" or "exif" in im.info else 1
        if fmt == "JPEG" and specs:
            _draft(im, stored, orientation, specs)
        decoded, mode = im.size, im.mode
        converted = "transparency" in im.info or "icc_profile" in im.info
        estimate = estimate_decode_bytes(decoded, mode, fmt, transposed=orientation in _TRANSPOSE,
                                         converted=converted)
        check_decode_bytes(estimate, stored, limits.max_decode_bytes)
        try:
            im.load()
        except MemoryError as exc:
            message = f"The {fmt} decoder ran out of memory on this {stored[0]}x{stored[1]} image."
            raise ProcessingError(TOO_LARGE_TO_DECODE, message) from exc
        except _DECODE_ERRORS as exc:
            message = f"The {fmt} image data is damaged or truncated ({exc})."
            raise ProcessingError(CORRUPT_IMAGE, message) from exc
        if (late := _orientation(im)) != orientation:  # an eXIf chunk after the pixels: one more frame?
            estimate = estimate_decode_bytes(decoded, mode, fmt, transposed=late in _TRANSPOSE, converted=converted)
            check_decode_bytes(estimate, stored, limits.max_decode_bytes)
            orientation = late
        method = _TRANSPOSE.get(orientation)
        picture = _normalise(im if method is None else im.transpose(method))
        original = OriginalInfo(*_oriented(stored, orientation), fmt)
        return original, _render(picture, (original.width, original.height), specs)


def _check_size(size: tuple[int, int], max_pixels: int, limits: ImageLimits) -> None:
    if (pixels := size[0] * size[1]) > max_pixels:
        message = f"The image is {size[0]}x{size[1]} = {pixels} pixels; limit {max_pixels}."
        raise ProcessingError(TOO_MANY_PIXELS, message)
    check_aspect_ratio(size, limits.max_aspect_ratio)


def _render(picture: Image.Image, size: tuple[int, int], specs) -> list[RenderedVariant]:
    """Largest first, each from the smallest rendering still >= 2x it; returned in spec order."""
    targets = [_fit(size, (s.width, s.height)) for s in specs]
    rendered, pool = {}, [picture]
    for i in sorted(range(len(specs)), key=lambda i: targets[i][0] * targets[i][1], reverse=True):
        (width, height), base = targets[i], picture
        for candidate in pool[1:]:
            if candidate.width >= width * _REUSE_GAP and candidate.height >= height * _REUSE_GAP:
                base = candidate
        if base.size != targets[i]:
            base = base.resize(targets[i], Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
        pool.append(base)
        rendered[i] = _encode(base, specs[i])
    return [rendered[i] for i in range(len(specs))]


def _check_arguments(specs, max_pixels, allowed_formats) -> list[str]:
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
        raise ValueError(f"max_pixels must be a positive number of pixels, got {max_pixels!r}.")
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"Variant names must be unique, got {names}.")
    Image.init()
    allowed = [str(f).upper() for f in allowed_formats]
    unknown = [f for f in allowed if f not in Image.OPEN]
    if not allowed or unknown:
        raise ValueError(f"allowed_formats must name formats Pillow can open, not {unknown}.")
    return allowed


def _open(source: BinaryIO, allowed: list[str], max_pixels: int) -> Image.Image:
    try:
        return Image.open(source, formats=allowed)
    except _BOMB as exc:
        raise ProcessingError(TOO_MANY_PIXELS, f"{exc} The limit here is {max_pixels}.") from exc
    except Image.UnidentifiedImageError:
        failure = None
    except _DECODE_ERRORS as exc:  # a plugin whose magic matched raised while parsing
        failure = exc
    source.seek(0)
    head = source.read(4096)
    accepts = [(f, Image.OPEN[f][1]) for f in allowed]
    claimed = next((f for f, accept in accepts if accept and accept(head[:16]) is True), None)
    if claimed or failure:
        detail = f" ({failure})" if failure else ""
        message = f"The file looks like {claimed or 'an image'} but its header is damaged{detail}."
        raise ProcessingError(CORRUPT_IMAGE, message) from failure
    if detected := sniff_format(head):
        message = f"{detected} images are not accepted; use one of: {', '.join(allowed)}."
        raise ProcessingError(UNSUPPORTED_FORMAT, message)
    raise ProcessingError(NOT_AN_IMAGE, "The file is not an image in any format recognised here.")


def _orientation(im: Image.Image) -> int:
    """EXIF orientation 1..8; a missing or unreadable EXIF block counts as 1."""
    try:
        value = im.getexif().get(ExifTags.Base.Orientation, 1)
        return value if value in _TRANSPOSE else 1
    except Exception:  # a broken EXIF block must not sink an otherwise good image
        return 1


def _oriented(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def _fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The largest size within ``box`` with the aspect of ``size``; never above ``size``."""
    width, height = size
    if width <= box[0] and height <= box[1]:
        return size
    scale = min(box[0] / width, box[1] / height)
    return min(box[0], max(1, round(width * scale))), min(box[1], max(1, round(height * scale)))


def _draft(im: Image.Image, stored: tuple[int, int], orientation: int, specs) -> None:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale while still >= 2x every variant."""
    targets = [_fit(_oriented(stored, orientation), (s.width, s.height)) for s in specs]
    need = _oriented((max(w for w, _ in targets), max(h for _, h in targets)), orientation)
    im.draft("RGB", (int(need[0] * _DRAFT_GAP), int(need[1] * _DRAFT_GAP)))


def _normalise(im: Image.Image) -> Image.Image:
    """An sRGB "RGB" or "RGBA" image with an empty ``info``, maybe ``im`` itself."""
    alphas = im.info.get("transparency")
    if im.mode == "P" and isinstance(alphas, bytes):
        # PNG 3rd ed. 11.3.2.1: tRNS holds at most one alpha per palette entry; libpng ignores the
        # excess as a benign error, Pillow's convert() raises "palette index out of range".
        entries = min(256, len(im.getpalette() or ()) // 3)
        if len(alphas) > entries:
            im.info["transparency"] = alphas[:entries]
    if im.mode.startswith("I;16"):  # 16-bit grey PNG: scale, as a plain convert() clips at 255
        im = im.convert("I").point(lambda v: v / 257).convert("L")
    mode = "RGBA" if im.has_transparency_data else "RGB"
    if im.mode not in ("RGB", "RGBA", "CMYK", "L") or "transparency" in im.info:
        im = im.convert(mode)  # palette, 1-bit, LA, colour-keyed ...: the modes LittleCMS lacks
    out = None
    if icc := im.info.get("icc_profile"):
        with contextlib.suppress(Exception):  # no LittleCMS, a bad or unfit profile: convert()
            profile, srgb = ImageCms.getOpenProfile(io.BytesIO(icc)), ImageCms.createProfile("sRGB")
            out = ImageCms.profileToProfile(im, profile, srgb, outputMode=mode)
    if out is None:  # no copy when the mode is right: the decoded file is used as it is
        out = im if im.mode == mode else im.convert(mode)
    if out.mode == "RGBA" and out.getextrema()[3][0] == 255:
        out = out.convert("RGB")  # alpha present but fully opaque
    out.info = {}
    return out


def _encode(image: Image.Image, spec: VariantSpec) -> RenderedVariant:
    """Encode ``image`` as ``spec.format``, passing no metadata to the writer."""
    if spec.format == "JPEG" and image.mode == "RGBA":
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image).convert("RGB")
    options = {
        "JPEG": {"quality": spec.quality, "optimize": True, "progressive": True},
        "WEBP": {"quality": spec.quality, "method": 4},
    }.get(spec.format, {})
    buffer = io.BytesIO()
    image.save(buffer, spec.format, **options)
    kind = FORMAT_CONTENT_TYPES[spec.format], FORMAT_EXTENSIONS[spec.format]
    return RenderedVariant(spec.name, *image.size, spec.format, *kind, buffer.getvalue())
