"""Animated GIF and WebP originals rendered as animated WebP variants, within a budget (no Django).

A variant asks for it with ``animated``; an original with one frame, or one
over the budget, renders still (its first frame) like any other image. The
budget, checked while frames are decoded, so a hostile file stops the
animation at the frame that passes it instead of after decoding them all:

- ``max_frames`` frames (``MAX_ANIMATION_FRAMES``);
- ``max_pixels`` decoded pixels, frames x width x height of the original
  (``MAX_ANIMATION_PIXELS``): the decoding time an animation may cost;
- ``max_bytes`` of rendered frames held for the encoder, 4 bytes a pixel of
  every animated variant (``MAX_DECODE_BYTES``).

Frames are composited by Pillow's GIF and WebP decoders (each frame is the
whole canvas as shown), EXIF-oriented like the still, resized with the
same filter, and keep their durations (ms) and the loop count. Colour
profiles of animated files are not applied (the frames are taken as sRGB).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageSequence

from realtime_uploads.core.formats import ANIMATED_INPUTS
from realtime_uploads.core.settings_schema import DEFAULT_MAX_ANIMATION_FRAMES, DEFAULT_MAX_ANIMATION_PIXELS
from realtime_uploads.core.variants import VariantSpec

_DEFAULT_DURATION = 100  # ms, what browsers show a GIF frame with no (or a zero) delay as, roughly


@dataclass(frozen=True)
class AnimationBudget:
    """``max_frames`` frames, ``max_pixels`` decoded pixels in all, ``max_bytes`` bytes of rendered frames."""

    max_frames: int = DEFAULT_MAX_ANIMATION_FRAMES
    max_pixels: int = DEFAULT_MAX_ANIMATION_PIXELS
    max_bytes: int = 256 * 1024 * 1024


@dataclass
class Animation:
    """Rendered frames per variant name, the frame durations (ms) and the loop count (0: forever)."""

    frames: dict[str, list[Image.Image]]
    durations: list[int]
    loop: int


#: What a damaged later frame makes Pillow's GIF and WebP readers raise (found by fuzzing truncated GIFs):
#: never the upload's failure, the variant renders still.
FRAME_ERRORS = (OSError, ValueError, EOFError, SyntaxError, IndexError, struct.error, RuntimeError,
                Image.DecompressionBombError)


def is_animated(im: Image.Image, fmt: str) -> bool:
    """True for a GIF or WebP with more than one frame (Pillow learns it from the second frame's header);
    False when that header is damaged."""
    if fmt not in ANIMATED_INPUTS:
        return False
    try:
        return bool(getattr(im, "is_animated", False))
    except FRAME_ERRORS:
        return False


def render_frames(im: Image.Image, specs: Sequence[VariantSpec], sizes: Sequence[tuple[int, int]],
                  transpose: Image.Transpose | None, budget: AnimationBudget,
                  resample=Image.Resampling.LANCZOS) -> Animation | None:
    """Every frame of ``im`` resized to ``sizes`` (one per spec, in stored orientation) then turned by
    ``transpose``, or None when the budget is passed.

    ``im`` is left at its first frame. Decoder errors in a later frame end the
    animation (None: the still is rendered instead); they are not the upload's failure.
    """
    canvas = im.size
    per_frame = canvas[0] * canvas[1]
    frame_bytes = sum(w * h * 4 for w, h in sizes)
    frames: dict[str, list[Image.Image]] = {spec.name: [] for spec in specs}
    durations: list[int | None] = []
    starts: list[int | None] = []
    loop = _loop_count(im)
    try:
        for index, frame in enumerate(ImageSequence.Iterator(im)):
            count = index + 1
            if frame.size != canvas:  # a GIF frame reaching past the screen grows Pillow's canvas: not ours
                return None
            if (count > budget.max_frames or count * per_frame > budget.max_pixels
                    or count * frame_bytes > budget.max_bytes):
                return None
            picture = frame.convert("RGBA")  # loads the frame: Pillow's WebP sets its duration only then
            durations.append(frame.info.get("duration"))
            starts.append(frame.info.get("timestamp"))  # WebP: when the frame starts, in ms
            for spec, size in zip(specs, sizes, strict=True):  # ``sizes`` are as stored: resize, then orient
                rendered = picture if picture.size == size else picture.resize(size, resample, reducing_gap=3.0)
                if transpose is not None:
                    rendered = rendered.transpose(transpose)
                frames[spec.name].append(_opaque(rendered))
    except FRAME_ERRORS:
        return None
    finally:
        im.seek(0)
    if len(durations) < 2:
        return None
    if durations[0] is None and starts[1]:
        durations[0] = starts[1]  # a WebP's first frame, decoded (and its info emptied) before: see _loop_count
    return Animation(frames, [int(d or _DEFAULT_DURATION) for d in durations], loop)


def _loop_count(im: Image.Image) -> int:
    """How many times ``im`` plays (0: forever). A GIF without the NETSCAPE extension plays once.

    A WebP's count is asked of libwebp's demuxer, which Pillow keeps as ``_decoder``: by the time the
    frames are rendered ``im.info`` is empty when the pipeline handed the decoded RGB(A) image on as it
    was (:func:`.colour.prepare` empties the info of the image it returns, and that may be ``im``).
    """
    if im.format == "WEBP" and hasattr(getattr(im, "_decoder", None), "get_info"):
        return int(im._decoder.get_info()[1])  # (size, loop, background, frames, mode)
    loop = im.info.get("loop")
    if loop is None:
        return 1
    # A GIF's NETSCAPE count is how many times it repeats after the first play (browsers play loop + 1
    # times); WebP's ANIM count is how many times it plays (WebP Container Specification, "ANIM" chunk).
    return int(loop) + 1 if int(loop) > 0 else 0


def _opaque(frame: Image.Image) -> Image.Image:
    """RGB when every pixel is opaque (smaller WebP frames), else the RGBA frame."""
    return frame.convert("RGB") if frame.getextrema()[3][0] == 255 else frame
