"""Turn an uploaded file into web variants with Pillow (stdlib + Pillow, no Django).

``render_variants`` identifies the image from its bytes, refuses it with a stable
:class:`ProcessingError` code, or returns one metadata-free rendering per :class:`VariantSpec`
(each in every format the spec lists) and the original's size, format and placeholder.
Encoding is :mod:`.encode`, colour :mod:`.colour`, animation :mod:`.animation`.
"""

import io
import struct
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import BinaryIO

from PIL import ExifTags, Image

from realtime_uploads.core.errors import (
    CORRUPT_IMAGE,
    NOT_AN_IMAGE,
    TOO_LARGE_TO_DECODE,
    TOO_MANY_PIXELS,
    UNSUPPORTED_FORMAT,
    ProcessingError,
)
from realtime_uploads.core.formats import (
    DEFAULT_ALLOWED_FORMATS,
)
from realtime_uploads.core.variants import VariantSpec
from realtime_uploads.processing.avif.av1 import read_avif_header
from realtime_uploads.processing.image.animation import AnimationBudget, is_animated, render_frames
from realtime_uploads.processing.image.codecs import enable_decoders
from realtime_uploads.processing.image.colour import finish, prepare
from realtime_uploads.processing.image.encode import encode_animation, encode_still
from realtime_uploads.processing.image.limits import ImageLimits, check_decode_bytes, check_size, estimate_decode_bytes
from realtime_uploads.processing.image.placeholder import placeholder
from realtime_uploads.processing.image.rendered import RenderedFile, RenderedVariant  # noqa: F401 - re-exported
from realtime_uploads.processing.image.resample import resize
from realtime_uploads.processing.image.sniff import sniff_format, webp_size

# RuntimeError: what Pillow's AVIF plugin and pi-heif raise for damaged files ("Decoding of color planes failed",
# "Missing or empty image item"), found by tests/unit/processing/image/test_render_fuzz.py.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError, RuntimeError)
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
# JPEG is decoded at the smallest of libjpeg's 1/1, 1/2, 1/4, 1/8 scales still at least the largest variant:
# its scaled IDCT drops the frequencies the resize would drop anyway (PSNR against a full decode: docs/performance.md).
_DRAFT_GAP = 1.0
# The major brands Pillow's AVIF plugin opens (PIL.AvifImagePlugin._accept).
_AVIF_MAJOR_BRANDS = (b"avif", b"avis", b"mif1", b"msf1")
_REUSE_GAP = 2.0  # a rendered variant is reused as the source of one at most half its size


@dataclass(frozen=True)
class OriginalInfo:
    """The upload as displayed: pixels after EXIF orientation, format read from the bytes.

    ``placeholder`` (base64 ThumbHash) and ``color`` (``#rrggbb``) describe how it
    looks, computed from the smallest variant (:mod:`.placeholder`); "" when no
    variant was rendered. They are not compared: two renderings of one image are equal.
    """

    width: int
    height: int
    format: str
    placeholder: str = field(default="", compare=False)
    color: str = field(default="", compare=False)


def render_variants(
    source: BinaryIO,
    specs: Sequence[VariantSpec],
    *,
    max_pixels: int,
    allowed_formats: Collection[str] = DEFAULT_ALLOWED_FORMATS,
    limits: ImageLimits = ImageLimits(),  # noqa: B008 - frozen, shared safely
    animation: AnimationBudget = AnimationBudget(),  # noqa: B008 - frozen, shared safely
) -> tuple[OriginalInfo, list[RenderedVariant]]:
    """Decode ``source`` once; return its :class:`OriginalInfo` and ``specs`` rendered, in order.

    ``source`` is read from byte 0 (Pillow seeks there); an unseekable stream is read
    into memory. The format comes from the bytes, and only the Pillow plugins named in
    ``allowed_formats`` parse it (HEIF through pi-heif, AVIF through Pillow's libavif);
    a file none of them accepts is named from its magic bytes (:mod:`.sniff`), never
    by another decoder. From the header alone, before decoding, it is refused when over
    ``max_pixels`` (width x height, capped at ``PIL.Image.MAX_IMAGE_PIXELS``, which is
    never changed), when one side is over ``limits.max_aspect_ratio`` times the other,
    and when decoding it at the size it will be decoded at (JPEG: libjpeg's 1/2, 1/4,
    1/8 draft scaling, still at least the largest variant) is estimated to need over
    ``limits.max_decode_bytes`` (:func:`.limits.estimate_decode_bytes`).
    ``limits.cpu_seconds`` is not enforced here (a decode is one C call no thread can
    interrupt): :func:`realtime_uploads.processing.sandbox.render_isolated` enforces it.

    Variants are rendered largest first, each from the smallest rendering still at
    least twice its size; EXIF orientation is applied to each rendering (resampling
    commutes with it) and colour profiles converted to sRGB on each rendering
    (:mod:`.colour`); never upscaled, aspect kept, no metadata at all (EXIF, ICC,
    XMP, comments, text chunks). A spec with ``animated`` of an animated GIF/WebP
    within ``animation``'s budget becomes an animated WebP (:mod:`.animation`).
    The smallest rendering gives the placeholder and dominant colour of the result.

    Raises ProcessingError with code ``not_an_image``, ``unsupported_format`` (the
    message names the format found), ``too_many_pixels``, ``aspect_ratio``,
    ``too_large_to_decode`` (also when the decoder runs out of memory) or
    ``corrupt_image``; ValueError for bad arguments; CodecMissing (a ValueError) when
    a format's codec is not installed.
    """
    enable_decoders([str(f).upper() for f in allowed_formats])
    allowed = _check_arguments(specs, max_pixels, allowed_formats)
    if not isinstance(limits, ImageLimits):
        raise ValueError(f"limits must be an ImageLimits, got {limits!r}.")
    if not getattr(source, "seekable", lambda: False)():
        source = io.BytesIO(source.read())
    if Image.MAX_IMAGE_PIXELS is not None:
        max_pixels = min(max_pixels, Image.MAX_IMAGE_PIXELS)
    head, nclx = source.read(30), None
    if "WEBP" in allowed and (canvas := webp_size(head)):  # Pillow's open allocates the canvas
        check_size(canvas, max_pixels, limits)
        check_decode_bytes(estimate_decode_bytes(canvas, "RGBA", "WEBP"), canvas, limits.max_decode_bytes)
    if "AVIF" in allowed and head[4:8] == b"ftyp" and head[8:12] in _AVIF_MAJOR_BRANDS:
        source.seek(0)
        nclx = read_avif_header(source.read(), max_pixels, limits)
    source.seek(0)
    with _open(source, allowed, max_pixels) as im:
        if nclx and im.format == "AVIF" and "icc_profile" not in im.info:
            im.info["nclx_profile"] = nclx  # as pi-heif reports a HEIC's: colour.prepare converts it
        original, orientation, picture, transform = _decode(im, specs, max_pixels, limits)
        targets = [_fit((original.width, original.height), (s.width, s.height)) for s in specs]
        pixels = _resize_all(picture, transform, orientation, targets)
        del picture
        moving = [i for i, s in enumerate(specs) if s.animated]  # only then is a second frame's header read
        moving = moving if moving and is_animated(im, original.format) else []
        frames = _frames(im, specs, targets, moving, orientation, animation, limits) if moving else None
        if all(p is not im for p in pixels):  # a variant of the original's own size is the decoded image
            im.close()  # frees the decoded pixels (leaving ``with`` only closes the file): the encoders'
            # buffers (libaom's are the largest) then reuse that memory instead of adding to it
    rendered = []
    for i, spec in enumerate(specs):
        if frames is not None and spec.name in frames.frames:
            rendered.append(encode_animation(frames.frames[spec.name], frames.durations, frames.loop, spec))
        else:
            rendered.append(encode_still(pixels[i], spec))
    if not pixels:
        return original, rendered
    hash_, colour = placeholder(min(pixels, key=lambda p: p.width * p.height))
    return replace(original, placeholder=hash_, color=colour), rendered


def _decode(im: Image.Image, specs, max_pixels: int, limits: ImageLimits):
    """Check the header, decode (JPEG at draft scale), and return ``(original, orientation, picture,
    transform)``: ``picture`` in stored orientation and colour space (:func:`.colour.prepare`)."""
    stored = im.size
    check_size(stored, max_pixels, limits)
    fmt = "JPEG" if im.format == "MPO" else im.format  # MPO: a JPEG with extra frames
    # PNG's getexif() decodes the image when no eXIf chunk came before the pixels: ask only when known.
    orientation = _orientation(im) if fmt in ("JPEG", "AVIF") or "exif" in im.info else 1
    if fmt == "JPEG" and specs:
        _draft(im, stored, orientation, specs)
    decoded, mode = im.size, im.mode
    converted = "transparency" in im.info or mode not in ("RGB", "RGBA", "L", "CMYK")
    check_decode_bytes(estimate_decode_bytes(decoded, mode, fmt, converted=converted), stored,
                       limits.max_decode_bytes)
    try:
        im.load()
    except MemoryError as exc:
        message = f"The {fmt} decoder ran out of memory on this {stored[0]}x{stored[1]} image."
        raise ProcessingError(TOO_LARGE_TO_DECODE, message) from exc
    except _DECODE_ERRORS as exc:
        message = f"The {fmt} image data is damaged or truncated ({str(exc).strip()})."
        raise ProcessingError(CORRUPT_IMAGE, message) from exc
    if fmt not in ("JPEG", "AVIF"):
        orientation = _orientation(im) if "exif" in im.info else 1  # an eXIf chunk after the pixels
    picture, transform = prepare(im)
    return OriginalInfo(*_oriented(stored, orientation), fmt), orientation, picture, transform


def _frames(im, specs, targets, indices, orientation, budget, limits):
    """The frames of the animated variants at ``indices``, or None when the animation passes the budget."""
    chosen = [specs[i] for i in indices]
    sizes = [_oriented(targets[i], orientation) for i in indices]
    budget = replace(budget, max_bytes=min(budget.max_bytes, limits.max_decode_bytes))
    return render_frames(im, chosen, sizes, _TRANSPOSE.get(orientation), budget)


def _resize_all(picture: Image.Image, transform, orientation: int, targets) -> list[Image.Image]:
    """One rendering per target size (oriented, sRGB), in order: largest first, each resized from the
    smallest rendering still >= 2x it. Resized in stored orientation and colour space, then oriented and
    converted, so those cost each rendering's own pixels, never the full frame's."""
    transpose = _TRANSPOSE.get(orientation)
    stored = [_oriented(t, orientation) for t in targets]
    finished, pool = {}, [picture]
    for i in sorted(range(len(targets)), key=lambda i: targets[i][0] * targets[i][1], reverse=True):
        size, base = stored[i], picture
        for candidate in pool[1:]:
            if candidate.width >= size[0] * _REUSE_GAP and candidate.height >= size[1] * _REUSE_GAP:
                base = candidate
        if base.size != size:
            base = resize(base, size)
        pool.append(base)
        finished[i] = finish(base.transpose(transpose) if transpose is not None else base, transform)
    return [finished[i] for i in range(len(targets))]


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
        detail = f" ({str(failure).strip()})" if failure else ""
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
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale while still at least every variant (``_DRAFT_GAP``)."""
    targets = [_fit(_oriented(stored, orientation), (s.width, s.height)) for s in specs]
    need = _oriented((max(w for w, _ in targets), max(h for _, h in targets)), orientation)
    im.draft("RGB", (int(need[0] * _DRAFT_GAP), int(need[1] * _DRAFT_GAP)))
