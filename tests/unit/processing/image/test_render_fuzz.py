"""Property tests of the image pipeline on generated, truncated, bit-flipped and spliced images (hypothesis).

Whatever the bytes, ``render_variants`` returns variants within their boxes and
limits, every file of them a readable image, or raises ProcessingError with a
known code: never another exception. The images include HEIC (written by
pillow-heif's encoder through ``tests.images.heic``, never registered with
Pillow: pi-heif decodes them, as in production) and AVIF (Pillow's libavif).
Short by default (the suite stays fast); ``HYPOTHESIS_PROFILE=long`` runs
thousands of examples::

    HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest tests/unit/processing/image/test_render_fuzz.py
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from realtime_uploads.core.errors import ERROR_CODES, ProcessingError
from realtime_uploads.core.variants import VariantSpec
from realtime_uploads.processing.image.limits import ImageLimits
from realtime_uploads.processing.image.render import render_variants
from realtime_uploads.processing.image.sniff import sniff_format, webp_size
from realtime_uploads.processing.sandbox import render_isolated
from tests.images import heic, quadrants

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
FUZZ = settings(
    max_examples=3000 if LONG else 120,
    deadline=None,  # Pillow's first call of each codec is slow; time is not the property here
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MODES = ["1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "I;16", "I", "F", "YCbCr"]
PHONE_FORMATS = ["HEIF", "AVIF"]
FORMATS = ["JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "ICO", "PPM", *PHONE_FORMATS]
SPECS = (VariantSpec("thumb", 16, 16, "WEBP", animated=True), VariantSpec("box", 40, 24, ["AVIF", "JPEG"]),
         VariantSpec("p", 64, 64, "PNG"))
MAX_PIXELS = 64 * 64 * 4
ALL = ("JPEG", "PNG", "GIF", "WEBP", "HEIF", "AVIF")



def _encode(im: Image.Image, fmt: str, params: dict) -> bytes:
    if fmt == "HEIF":  # pillow-heif's encoder; its quality is libheif's 0..100 (-1: lossless)
        return heic(im, quality=-1 if params.get("lossless") else params.get("quality", 50))
    out = io.BytesIO()
    if fmt == "AVIF":
        params = {k: v for k, v in params.items() if k == "quality"}
    if fmt == "GIF":
        params = {k: v for k, v in params.items() if k in ("save_all", "duration", "append_images")}
    im.save(out, fmt, **(params if fmt in ("JPEG", "WEBP", "AVIF", "GIF") else {}))
    return out.getvalue()


@st.composite
def images(draw, formats=FORMATS) -> bytes:
    """An encoded image of a random size, mode and format, then maybe truncated, bit-flipped or spliced."""
    mode, fmt = draw(st.sampled_from(MODES)), draw(st.sampled_from(formats))
    size = (draw(st.integers(1, 96)), draw(st.integers(1, 96)))
    seed = draw(st.binary(min_size=1, max_size=64))
    pixels = (seed * (1 + 4 * size[0] * size[1] * 4 // len(seed)))
    im = Image.frombytes(mode, size, pixels[: len(Image.new(mode, size).tobytes())])
    params = draw(st.sampled_from([{}, {"quality": 20}, {"lossless": True}, {"optimize": True}]))
    if fmt in ("GIF", "WEBP") and draw(st.booleans()):  # an animation: the frames' path is fuzzed too
        params = {**params, "save_all": True, "duration": draw(st.integers(0, 200)),
                  "append_images": [im.rotate(90 * turn) for turn in range(1, draw(st.integers(2, 4)))]}
    data = b""
    for candidate in (im, im.convert("RGBA" if "A" in mode else "RGB")):  # the mode, else one the format holds
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                data = _encode(candidate, fmt, params)
            break
        except (OSError, ValueError, KeyError, TypeError):
            continue
    damage = draw(st.sampled_from(["none", "none", "truncate", "flip", "splice"]))
    if damage == "truncate" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif damage == "flip" and data:
        flipped = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(flipped) - 1))
            flipped[at] ^= 1 << draw(st.integers(0, 7))
        data = bytes(flipped)
    elif damage == "splice":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=64)) + data[at:]
    return data


limits = st.builds(
    ImageLimits,
    max_aspect_ratio=st.floats(1.0, 100.0),
    max_decode_bytes=st.integers(1024, 4 * 1024 * 1024),
    cpu_seconds=st.just(10.0),
)


def check(original, rendered, max_pixels: int) -> None:
    assert original.width * original.height <= max_pixels
    assert [v.name for v in rendered] == [s.name for s in SPECS]
    for variant, spec in zip(rendered, SPECS, strict=True):
        assert 1 <= variant.width <= spec.width and 1 <= variant.height <= spec.height
        assert variant.width <= original.width and variant.height <= original.height
        assert tuple(f.format for f in variant.files) == spec.formats
        for file in variant.files:  # every format of the variant, not only the fallback
            with Image.open(io.BytesIO(file.data)) as im:
                assert (im.format, im.size) == (file.format, (variant.width, variant.height))
                im.load()


@FUZZ
@given(data=images(), limits=limits, allowed=st.one_of(st.just(ALL), st.sets(st.sampled_from(ALL), min_size=1)))
def test_any_bytes_give_variants_within_bounds_or_a_known_error_code(data, limits, allowed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about some damage (EXIF, truncation) it then reports
        try:
            original, rendered = render_variants(io.BytesIO(data), SPECS, max_pixels=MAX_PIXELS,
                                                 allowed_formats=allowed, limits=limits)
        except ProcessingError as exc:
            assert exc.code in ERROR_CODES and exc.message
            event(exc.code)
            return
    event("rendered")
    assert original.format in allowed
    check(original, rendered, MAX_PIXELS)


@settings(FUZZ, max_examples=1000 if LONG else 40)
@given(data=images(formats=PHONE_FORMATS), limits=limits)
def test_damaged_heic_and_avif_give_variants_within_bounds_or_a_known_error_code(data, limits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            original, rendered = render_variants(io.BytesIO(data), SPECS, max_pixels=MAX_PIXELS,
                                                 allowed_formats=ALL, limits=limits)
        except ProcessingError as exc:
            assert exc.code in ERROR_CODES and exc.message
            event(exc.code)
            return
    event(f"rendered {original.format}")
    assert original.format in PHONE_FORMATS
    check(original, rendered, MAX_PIXELS)


@settings(FUZZ, max_examples=300 if LONG else 8)
@given(data=images(), allowed=st.sampled_from([ALL[:4], ALL]))
def test_the_sandbox_gives_the_same_contract(data, allowed):
    try:
        original, rendered = render_isolated(data, SPECS, max_pixels=MAX_PIXELS, allowed_formats=allowed)
    except ProcessingError as exc:
        assert exc.code in ERROR_CODES and exc.code != "internal_error", exc.message
        return
    check(original, rendered, MAX_PIXELS)


@settings(FUZZ, max_examples=100 if LONG else 6)
@given(data=images(formats=PHONE_FORMATS))
def test_the_sandbox_gives_the_same_contract_for_damaged_heic_and_avif(data):
    try:
        original, rendered = render_isolated(data, SPECS, max_pixels=MAX_PIXELS, allowed_formats=ALL)
    except ProcessingError as exc:
        assert exc.code in ERROR_CODES and exc.code != "internal_error", exc.message
        return
    assert original.format in PHONE_FORMATS
    check(original, rendered, MAX_PIXELS)


def test_every_truncation_and_byte_flip_of_a_heic_and_an_avif_is_rendered_or_refused_with_a_known_code():
    """The same property without chance: every fourth truncation point and every byte flipped (bits 0 and 7)."""
    outcomes = Counter()
    for fmt in PHONE_FORMATS:
        data = _encode(quadrants(40, 30), fmt, {"quality": 50})
        damaged = [data[:n] for n in range(0, len(data), 4)]
        damaged += [data[:at] + bytes([data[at] ^ 0x81]) + data[at + 1:] for at in range(len(data))]
        for candidate in damaged:
            try:
                original, rendered = render_variants(io.BytesIO(candidate), SPECS, max_pixels=MAX_PIXELS,
                                                     allowed_formats=ALL)
            except ProcessingError as exc:
                assert exc.code in ERROR_CODES and exc.message
                outcomes[fmt, exc.code] += 1
                continue
            check(original, rendered, MAX_PIXELS)
            outcomes[fmt, "rendered"] += 1
    for fmt in PHONE_FORMATS:  # both kinds of outcome were met for both formats: the damage was not all fatal
        assert outcomes[fmt, "rendered"] and outcomes[fmt, "corrupt_image"], outcomes


@FUZZ
@given(head=st.binary(max_size=64))
def test_header_readers_never_raise(head):
    assert sniff_format(head) is None or isinstance(sniff_format(head), str)
    size = webp_size(head)
    assert size is None or (len(size) == 2 and all(isinstance(n, int) for n in size))


def test_the_atheris_entry_point_runs(tmp_path):
    """fuzz/fuzz_image.py (long runs, coverage-guided) still starts and holds the property for a few runs."""
    pytest.importorskip("atheris")
    script = Path(__file__).resolve().parents[4] / "fuzz" / "fuzz_image.py"
    env = {**os.environ, "PYTHONPATH": str(script.parent.parent)}
    result = subprocess.run([sys.executable, str(script), "-runs=300", str(tmp_path / "corpus")], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert any((tmp_path / "corpus").iterdir())
