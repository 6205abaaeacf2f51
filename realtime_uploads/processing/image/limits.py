"""What one image may cost, checked from its header before any pixel is decoded (no Django).

``MAX_PIXELS`` bounds pixels, not memory: a 1.9 KB lossless WebP of 7000 x 7000
took 800 MB to decode. So :func:`check_aspect_ratio` also refuses an extreme
aspect ratio (a 1 x 49 000 000 PNG is under any pixel limit), and
:func:`check_decode_bytes` an image whose decode is estimated, from width,
height and mode (:func:`estimate_decode_bytes`), to need more than
``max_decode_bytes``. The CPU time an image may take is enforced by
:mod:`realtime_uploads.processing.sandbox`, which runs the decode in a child
process.
"""

from __future__ import annotations

from dataclasses import dataclass

from realtime_uploads.core.errors import ASPECT_RATIO, TOO_LARGE_TO_DECODE, TOO_MANY_PIXELS, ProcessingError
from realtime_uploads.core.settings_schema import (
    DEFAULT_IMAGE_CPU_SECONDS,
    DEFAULT_MAX_ASPECT_RATIO,
    DEFAULT_MAX_DECODE_BYTES,
)

MIB = 1024 * 1024

# Modes _normalise hands on unchanged; any other mode (or transparency, an ICC profile) costs a copy.
_WORKING_MODES = ("RGB", "RGBA", "L", "CMYK")
# Decoders that hold buffers of their own beside Pillow's image: libwebp's animation decoder keeps
# two RGBA canvases (the current frame and the previous one) from the moment Pillow opens the file;
# libheif (pi-heif) and libavif decode to YUV planes, then to an RGB(A) buffer Pillow copies from.
_DECODER_FRAMES = {"WEBP": 3, "HEIF": 3, "AVIF": 3}


@dataclass(frozen=True)
class ImageLimits:
    """Per-image bounds: ``max_aspect_ratio`` (longer / shorter side), ``max_decode_bytes``
    (bytes, see :func:`estimate_decode_bytes`), ``cpu_seconds`` (CPU seconds, enforced only
    when the image is rendered by :mod:`realtime_uploads.processing.sandbox`; None for no limit).
    ValueError if not positive."""

    max_aspect_ratio: float = DEFAULT_MAX_ASPECT_RATIO
    max_decode_bytes: int = DEFAULT_MAX_DECODE_BYTES
    cpu_seconds: float | None = DEFAULT_IMAGE_CPU_SECONDS

    def __post_init__(self):
        for name in ("max_aspect_ratio", "max_decode_bytes", "cpu_seconds"):
            value = getattr(self, name)
            if name == "cpu_seconds" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"ImageLimits.{name} must be a positive number, got {value!r}.")
        if self.max_aspect_ratio < 1:
            raise ValueError(f"ImageLimits.max_aspect_ratio must be at least 1, got {self.max_aspect_ratio!r}.")

    @classmethod
    def from_settings(cls, values) -> ImageLimits:
        """From ``MAX_ASPECT_RATIO``, ``MAX_DECODE_BYTES`` (bytes), ``IMAGE_CPU_SECONDS`` (seconds)
        of a settings-shaped mapping; absent keys take the defaults. ValueError if not positive."""
        return cls(
            max_aspect_ratio=values.get("MAX_ASPECT_RATIO", DEFAULT_MAX_ASPECT_RATIO),
            max_decode_bytes=values.get("MAX_DECODE_BYTES", DEFAULT_MAX_DECODE_BYTES),
            cpu_seconds=values.get("IMAGE_CPU_SECONDS", DEFAULT_IMAGE_CPU_SECONDS),
        )


def pixel_bytes(mode: str) -> int:
    """Bytes Pillow stores per pixel of ``mode``: 1 for "1", "L", "P"; 2 for "I;16*"; else 4 (RGB is padded)."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


def estimate_decode_bytes(size: tuple[int, int], mode: str, fmt: str, *, transposed: bool = False,
                          converted: bool = False) -> int:
    """Peak bytes of the decoded frame and the full-size copies the pipeline makes of it.

    ``size`` and ``mode`` as the decoder will produce them (after a JPEG draft);
    ``fmt`` the Pillow format (WebP: libwebp's two RGBA canvases and Pillow's
    copy, three frames; HEIF and AVIF: the codec's planes and RGB buffer
    beside Pillow's copy, three frames); ``transposed`` when EXIF orientation turns
    the frame (one more frame); ``converted`` when the mode, transparency or an
    ICC profile needs an sRGB RGB/RGBA copy (4 bytes a pixel), plus 8 bytes a
    pixel for 16-bit grey, scaled through 32-bit images. Variants are at
    most a quarter of the frame and are not counted.
    """
    pixels = size[0] * size[1]
    frame = pixels * pixel_bytes(mode)
    total = frame * _DECODER_FRAMES.get(fmt, 1)
    if transposed:
        total += frame
    if converted or mode not in _WORKING_MODES:
        total += pixels * 4
    if mode.startswith("I;16"):  # scaled to 8 bits through two 32-bit "I" images
        total += pixels * 8
    return total


def check_aspect_ratio(size: tuple[int, int], max_aspect_ratio: float) -> None:
    """Refuse with ``aspect_ratio`` when the longer side is over ``max_aspect_ratio`` x the shorter."""
    longer, shorter = max(size), max(1, min(size))
    if longer / shorter > max_aspect_ratio:
        raise ProcessingError(
            ASPECT_RATIO,
            f"The image is {size[0]}x{size[1]}: one side is {longer / shorter:.0f} times the other; "
            f"the limit is {max_aspect_ratio:g}.",
        )


def check_size(size: tuple[int, int], max_pixels: int, limits: ImageLimits) -> None:
    """Refuse with ``too_many_pixels`` over ``max_pixels`` (width x height), or ``aspect_ratio``."""
    if (pixels := size[0] * size[1]) > max_pixels:
        message = f"The image is {size[0]}x{size[1]} = {pixels} pixels; limit {max_pixels}."
        raise ProcessingError(TOO_MANY_PIXELS, message)
    check_aspect_ratio(size, limits.max_aspect_ratio)


def check_decode_bytes(estimate: int, size: tuple[int, int], max_decode_bytes: int) -> None:
    """Refuse with ``too_large_to_decode`` when ``estimate`` (bytes) is over ``max_decode_bytes``."""
    if estimate > max_decode_bytes:
        raise ProcessingError(
            TOO_LARGE_TO_DECODE,
            f"Decoding this {size[0]}x{size[1]} image would take about {estimate // MIB} MiB of memory; "
            f"the limit is {max_decode_bytes // MIB} MiB.",
        )
