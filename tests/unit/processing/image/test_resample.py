"""realtime_uploads.processing.image.resample: the banded LANCZOS resize gives Pillow's own pixels without Pillow's
full-size copies (the premultiplied RGBa image, the output-width x input-height intermediate)."""

from __future__ import annotations

import functools
import hashlib

import pytest
from PIL import Image, ImageChops

from realtime_uploads.processing.image.resample import BAND_ROWS, BANDED_ABOVE, resize

TOLERANCE = 3  # levels of 255


@functools.cache
def _noise_tile() -> Image.Image:
    """Deterministic noise, a tile of prime sides (its repeats never line up with a band or a reduce group)."""
    return Image.frombytes("L", (509, 487), hashlib.shake_256(b"resample").digest(509 * 487))


def picture(width: int, height: int, mode: str) -> Image.Image:
    """Noise everywhere (so a filter window in the wrong place shows) over gradients; alpha varying for RGBA/LA."""
    tile = _noise_tile()
    noise = Image.new("L", (width, height))
    for y in range(0, height, tile.height):
        for x in range(0, width, tile.width):
            noise.paste(tile, (x, y))
    ramp = Image.linear_gradient("L").resize((width, height), Image.Resampling.BILINEAR)
    other = ImageChops.add(noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT), ramp, 2.0)
    alpha = ImageChops.add(ramp.transpose(Image.Transpose.ROTATE_180), noise, 1.5)
    bands = {"L": (noise,), "LA": (noise, alpha), "RGB": (noise, ramp, other), "RGBA": (noise, ramp, other, alpha)}
    return Image.merge(mode, bands[mode])


def flattened(im: Image.Image) -> Image.Image:
    """RGB(A)/L(A) composited on white: what a transparent pixel's colour contributes to what is seen."""
    if im.mode not in ("RGBA", "LA"):
        return im
    rgba = im.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", im.size, "white"), rgba).convert(im.mode[:-1])


def largest_difference(a: Image.Image, b: Image.Image) -> int:
    extrema = ImageChops.difference(a, b).getextrema()
    return max(high for _, high in extrema) if isinstance(extrema[0], tuple) else extrema[1]


@pytest.fixture
def calls(monkeypatch):
    """Record ``(method, size of the image it was called on, mode)`` of every convert, crop and resize."""
    seen = []
    for name in ("convert", "crop", "resize"):
        real = getattr(Image.Image, name)

        def spy(self, *args, _real=real, _name=name, **kwargs):
            seen.append((_name, self.size, self.mode))
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(Image.Image, name, spy)
    return seen


CASES = [
    ((2560, 1600), (1280, 800), "RGB"), ((2560, 1600), (1280, 800), "RGBA"),
    ((4000, 3000), (1280, 960), "RGB"), ((4000, 3000), (1280, 960), "RGBA"),
    ((8000, 6000), (1280, 960), "RGB"),  # reduce() by 2 first
    ((8000, 6000), (320, 240), "RGBA"),  # reduce() by 8 first
    ((6000, 1000), (600, 300), "RGB"),  # reduce() by 3 across, not down
    ((2000, 1500), (1999, 1499), "RGB"), ((2048, 1536), (2040, 1530), "RGBA"),  # near identity
    ((1600, 2560), (800, 1280), "RGB"), ((3000, 4000), (960, 1280), "RGBA"),  # portrait
    ((1170, 2532), (148, 320), "RGB"), ((1000, 2500), (512, 1280), "RGBA"),  # over 2:1: Pillow 13 resizes down first
    ((2561, 1601), (1001, 626), "RGBA"),  # odd sizes, the last band short
    ((3000, 2000), (900, 600), "L"), ((3000, 2000), (900, 600), "LA"),
]


@pytest.mark.parametrize(("source", "target", "mode"), CASES,
                         ids=[f"{s[0]}x{s[1]}-to-{t[0]}x{t[1]}-{m}" for s, t, m in CASES])
def test_banded_resize_gives_pillows_own_lanczos_pixels(source, target, mode, calls):
    im = picture(*source, mode)
    calls.clear()
    ours = resize(im, target)
    bands = sum(1 for name, size, _ in calls if name == "crop" and size == source)
    expected = -(-target[1] // BAND_ROWS)
    assert bands == expected  # the banded path ran: one crop per band of output rows
    calls.clear()
    pillow = im.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    assert (ours.size, ours.mode) == (pillow.size, pillow.mode) == (target, mode)
    assert largest_difference(flattened(ours), flattened(pillow)) <= TOLERANCE
    if mode.endswith("A"):
        assert largest_difference(ours.getchannel("A"), pillow.getchannel("A")) <= TOLERANCE


@pytest.mark.parametrize(("source", "target", "mode"), [
    ((2560, 1600), (1280, 800), "RGBA"), ((4000, 3000), (1280, 960), "RGBA"), ((2561, 1601), (1001, 626), "RGBA"),
    ((3000, 2000), (900, 600), "LA"),
])
def test_banded_resize_never_makes_a_full_size_copy(source, target, mode, calls):
    """Pillow's resize of RGBA converts the whole image to premultiplied RGBa, and resamples it at output
    width x input height: here only bands of input rows are ever converted or resized."""
    im = picture(*source, mode)
    calls.clear()
    resize(im, target)
    full = [(name, size, m) for name, size, m in calls if name in ("convert", "resize") and size == source]
    assert not full, full
    crops = [size for name, size, _ in calls if name == "crop"]
    converts = [size for name, size, m in calls if name == "convert" and m == mode and size != target]
    assert crops and all(size == source for size in crops)
    assert converts and all(w == source[0] and h < source[1] / 2 for w, h in converts), converts
    # ...while Pillow's own resize does copy the whole image: the spy would have seen it.
    calls.clear()
    im.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    assert ("convert", source, mode) in calls


def test_small_images_and_short_outputs_use_pillows_resize_unchanged(calls):
    small = picture(1000, 800, "RGBA")
    assert small.width * small.height <= BANDED_ABOVE
    assert resize(small, (500, 400)).tobytes() == small.resize((500, 400), Image.Resampling.LANCZOS,
                                                               reducing_gap=3.0).tobytes()
    wide = picture(4000, 1000, "RGB")
    calls.clear()
    out = resize(wide, (512, BAND_ROWS))  # one band of output rows: nothing to save
    assert [name for name, _, _ in calls if name == "crop"] == []
    assert out.tobytes() == wide.resize((512, BAND_ROWS), Image.Resampling.LANCZOS, reducing_gap=3.0).tobytes()

