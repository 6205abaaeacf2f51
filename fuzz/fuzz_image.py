"""Coverage-guided fuzzing of the image pipeline with atheris (libFuzzer), for long runs.

The suite runs the same property briefly with hypothesis (tests/unit/processing/image/test_render_fuzz.py);
this explores for as long as you let it::

    pip install -e '.[fuzz]'
    python fuzz/fuzz_image.py -max_total_time=600 fuzz/corpus

The corpus folder is seeded with small generated images of every allowed format
when empty: JPEG, PNG, GIF, WebP, AVIF (Pillow's libavif) and HEIC (pillow-heif's
encoder when installed, ``pip install -e '.[test]'``; it is only called, never
registered with Pillow, so pi-heif decodes every HEIC, as in production). The
property: ``render_variants`` returns variants within their boxes, every file of
them an image Pillow reads back, or raises ProcessingError with a known code; any
other exception is a finding (libFuzzer writes the input to ``crash-<sha1>``).
"""

from __future__ import annotations

import io
import os
import sys
import warnings

import atheris

with atheris.instrument_imports():
    from PIL import Image

    from realtime_uploads.core.errors import ERROR_CODES, ProcessingError
    from realtime_uploads.core.variants import VariantSpec
    from realtime_uploads.processing.image.codecs import enable_decoders
    from realtime_uploads.processing.image.limits import ImageLimits
    from realtime_uploads.processing.image.render import render_variants

    ALLOWED = ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "HEIF")
    Image.init()  # the format plugins load lazily: import (and instrument) them here
    enable_decoders(ALLOWED)  # pi-heif's plugin, registered as the pipeline registers it

SPECS = (VariantSpec("thumb", 16, 16, "WEBP"), VariantSpec("box", 40, 24, ["AVIF", "JPEG"]),
         VariantSpec("p", 64, 64, "PNG"))
MAX_PIXELS = 1_000_000
LIMITS = ImageLimits(max_aspect_ratio=50.0, max_decode_bytes=32 * 1024 * 1024, cpu_seconds=None)


def test_one_input(data: bytes) -> None:
    """One input: variants within bounds, or a ProcessingError with a known code."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            original, rendered = render_variants(io.BytesIO(data), SPECS, max_pixels=MAX_PIXELS,
                                                 allowed_formats=ALLOWED, limits=LIMITS)
        except ProcessingError as exc:
            if exc.code not in ERROR_CODES:
                raise
            return
    assert original.width * original.height <= MAX_PIXELS
    for variant, spec in zip(rendered, SPECS, strict=True):
        assert 1 <= variant.width <= spec.width and 1 <= variant.height <= spec.height, variant
        assert tuple(f.format for f in variant.files) == spec.formats, variant
        for file in variant.files:
            with Image.open(io.BytesIO(file.data)) as im:
                assert im.format == file.format and im.size == (variant.width, variant.height)
                im.load()


def _heic(im: Image.Image) -> bytes | None:
    """``im`` as HEIC through pillow-heif's encoder (a test dependency), or None without it."""
    try:
        import pillow_heif
    except ImportError:
        return None
    out = io.BytesIO()
    pillow_heif.from_pillow(im).save(out, quality=60)
    return out.getvalue()


def seed(folder: str) -> None:
    """Write a few small images of every allowed format and common mode into an empty ``folder``."""
    os.makedirs(folder, exist_ok=True)
    if os.listdir(folder):
        return
    for fmt in ALLOWED:
        for mode in ("L", "RGB", "RGBA", "P"):
            im = Image.linear_gradient("L").resize((24, 16)).convert(mode)
            try:
                if fmt == "HEIF":
                    data = _heic(im if mode != "P" else im.convert("RGB"))
                else:
                    out = io.BytesIO()
                    im.save(out, fmt)
                    data = out.getvalue()
            except (OSError, ValueError, KeyError):
                continue
            if data:
                with open(os.path.join(folder, f"{fmt.lower()}-{mode}.bin"), "wb") as file:
                    file.write(data)


def main() -> None:
    folders = [arg for arg in sys.argv[1:] if not arg.startswith("-")]
    for folder in folders:
        seed(folder)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
