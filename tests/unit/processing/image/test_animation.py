"""Animated GIF and WebP originals (realtime_uploads.processing.image.animation through render_variants): an animated
variant becomes an animated WebP keeping the timing, within a budget checked while the frames are decoded."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import GifImagePlugin, Image

from realtime_uploads.core.variants import VariantSpec
from realtime_uploads.processing.image.animation import AnimationBudget
from realtime_uploads.processing.image.render import render_variants
from realtime_uploads.processing.sandbox import render_isolated
from tests.images import BLUE, GREEN, RED, YELLOW, animated_gif, encode, exif_bytes, quadrants

COLOURS = [RED, GREEN, BLUE, YELLOW]
ALLOWED = ("GIF", "WEBP", "PNG", "JPEG")


def render(data: bytes, *specs: VariantSpec, **kwargs):
    return render_variants(io.BytesIO(data), specs, max_pixels=10**7, allowed_formats=ALLOWED, **kwargs)


def gif(durations=(80, 120, 200, 50), size=(60, 40), **params) -> bytes:
    """One frame per duration, cycling red, green, blue, yellow."""
    frames = [Image.new("RGB", size, COLOURS[i % 4]) for i in range(len(durations))]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=list(durations), **params)


def webp(durations=(90, 160, 240), size=(60, 40), loop=2, mode="RGB", **params) -> bytes:
    """RGB frames cycling red, green, blue; "RGBA": each with a transparent top-left corner."""
    frames = [Image.new(mode, size, COLOURS[i % 4]) for i in range(len(durations))]
    if mode == "RGBA":
        for frame in frames:
            frame.paste((0, 0, 0, 0), (0, 0, 4, 4))
    return encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=list(durations), loop=loop,
                  lossless=True, **params)


def many_frame_gif(frames: int, size=(16, 16)) -> bytes:
    """A GIF of ``frames`` frames, each repainting one pixel (so a few bytes a frame), written by hand:
    GIF89a's logical screen, a 2-colour table, the NETSCAPE loop extension, then per frame a graphic
    control extension (40 ms) and a 1 x 1 image whose LZW data is clear, the colour, end (3-bit codes)."""
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", *size, 0x80, 0, 0) + bytes((255, 0, 0, 0, 0, 255)))
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    for i in range(frames):
        colour = i % 2
        code = 4 | (colour << 3) | (5 << 6)
        out += b"\x21\xf9\x04\x00" + struct.pack("<H", 4) + b"\x00\x00"
        out += b"\x2c" + struct.pack("<HHHHB", i % size[0], (i // size[0]) % size[1], 1, 1, 0)
        out += bytes((2, 2, code & 255, code >> 8, 0))
    return bytes(out + b"\x3b")


def frames_of(data: bytes) -> list[tuple[Image.Image, int]]:
    """Every frame of an encoded animation as RGB(A), with its duration (ms)."""
    found = []
    with Image.open(io.BytesIO(data)) as im:
        for index in range(im.n_frames):
            im.seek(index)
            im.load()
            found.append((im.convert("RGBA"), im.info["duration"]))
    return found


def close(pixel, expected, tolerance=16) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], expected, strict=True))


def centre(im: Image.Image):
    return im.getpixel((im.width // 2, im.height // 2))


# --- animated in, animated out ----------------------------------------------------------------------


def test_an_animated_gif_becomes_an_animated_webp_keeping_each_frames_timing_and_the_loop_count():
    original, [variant] = render(gif(loop=3), VariantSpec("anim", 30, 30, "WEBP", animated=True))
    assert (original.width, original.height, original.format) == (60, 40, "GIF")
    assert (variant.width, variant.height, variant.animated, variant.frames) == (30, 20, True, 4)
    with Image.open(io.BytesIO(variant.data)) as im:
        assert (im.format, im.size, im.n_frames, im.is_animated) == ("WEBP", (30, 20), 4, True)
        assert im.info["loop"] == 4  # a GIF repeating 3 times plays 4 times: WebP counts plays
    frames = frames_of(variant.data)
    assert [duration for _, duration in frames] == [80, 120, 200, 50]
    for (frame, _), colour in zip(frames, COLOURS, strict=True):
        assert frame.size == (30, 20)
        assert all(close(frame.getpixel(p), colour) for p in ((1, 1), (15, 10), (28, 18))), (centre(frame), colour)


@pytest.mark.parametrize(("loop", "expected"), [(None, 1), (0, 0), (5, 6)])
def test_a_gif_that_plays_once_becomes_a_webp_that_plays_once_and_a_looping_one_loops_alike(loop, expected):
    """A GIF without the NETSCAPE extension plays once; its NETSCAPE count N repeats it N times after the
    first play (0: forever). WebP's ANIM count is the number of plays (0: forever)."""
    data = gif(**({} if loop is None else {"loop": loop}))
    assert (b"NETSCAPE2.0" in data) is (loop is not None)
    _, [variant] = render(data, VariantSpec("anim", 60, 60, "WEBP", animated=True))
    with Image.open(io.BytesIO(variant.data)) as im:
        assert im.is_animated and im.info["loop"] == expected


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_an_animated_webp_stays_animated_with_its_own_durations_and_loop_count(mode):
    """Also beside a still of the original's own size: that still is the decoded image itself, not a copy."""
    specs = VariantSpec("anim", 30, 30, "WEBP", animated=True), VariantSpec("still", 100, 100, "PNG")
    original, [variant, still] = render(webp(mode=mode), *specs)
    assert original.format == "WEBP" and variant.animated and variant.frames == 3
    with Image.open(io.BytesIO(still.data)) as im:
        assert im.size == (60, 40) and close(centre(im.convert("RGB")), RED)
        assert (im.mode == "RGBA") is (mode == "RGBA")
    with Image.open(io.BytesIO(variant.data)) as im:
        assert (im.n_frames, im.info["loop"], im.size) == (3, 2, (30, 20))
    frames = frames_of(variant.data)
    assert [duration for _, duration in frames] == [90, 160, 240]
    assert [close(centre(frame), colour) for (frame, _), colour in zip(frames, COLOURS, strict=False)] == [True] * 3
    assert [frame.getpixel((0, 0))[3] < 64 for frame, _ in frames] == [mode == "RGBA"] * 3  # alpha kept


def test_frames_are_resized_to_each_animated_variants_box():
    specs = (VariantSpec("big", 200, 200, "WEBP", animated=True), VariantSpec("small", 24, 24, "WEBP", animated=True))
    _, variants = render(gif(size=(120, 90)), *specs)
    assert [(v.width, v.height, v.animated) for v in variants] == [(120, 90, True), (24, 18, True)]
    for variant in variants:
        assert {frame.size for frame, _ in frames_of(variant.data)} == {(variant.width, variant.height)}


def test_an_animated_variant_is_rendered_as_webp_only_whatever_else_it_lists():
    specs = (VariantSpec("anim", 40, 40, ["AVIF", "WEBP", "JPEG"], animated=True),
             VariantSpec("still", 40, 40, ["AVIF", "WEBP", "JPEG"]))
    _, (anim, still) = render(gif(), *specs)
    assert tuple(f.format for f in anim.files) == ("WEBP",) and anim.animated
    assert tuple(f.format for f in still.files) == ("AVIF", "WEBP", "JPEG") and not still.animated
    for file in still.files:
        with Image.open(io.BytesIO(file.data)) as im:
            assert getattr(im, "n_frames", 1) == 1 and close(centre(im.convert("RGB")), RED), file.format


def test_without_animated_an_animated_gif_renders_its_first_frame_in_every_listed_format():
    _, [variant] = render(gif(), VariantSpec("still", 30, 30, ["AVIF", "WEBP", "JPEG", "PNG"]))
    assert not variant.animated and variant.frames == 1
    assert [f.format for f in variant.files] == ["AVIF", "WEBP", "JPEG", "PNG"]
    for file in variant.files:
        with Image.open(io.BytesIO(file.data)) as im:
            assert im.size == (30, 20) and not getattr(im, "is_animated", False), file.format
            assert close(centre(im.convert("RGB")), RED), file.format


def test_a_still_gif_asked_to_animate_renders_still_in_every_listed_format():
    data = encode(Image.new("RGB", (60, 40), BLUE), "GIF")
    _, [variant] = render(data, VariantSpec("anim", 30, 30, ["WEBP", "PNG"], animated=True))
    assert not variant.animated and [f.format for f in variant.files] == ["WEBP", "PNG"]
    with Image.open(io.BytesIO(variant.files[0].data)) as im:
        assert not getattr(im, "is_animated", False) and close(centre(im.convert("RGB")), BLUE)


def test_exif_orientation_turns_every_frame_upright():
    """Stored as a camera saw it (turned), with EXIF orientation 6: every frame is shown as quadrants(80, 40)."""
    shown = [quadrants(80, 40), quadrants(80, 40).transpose(Image.Transpose.FLIP_LEFT_RIGHT), quadrants(80, 40)]
    stored = [frame.transpose(Image.Transpose.ROTATE_90) for frame in shown]
    data = encode(stored[0], "WEBP", save_all=True, append_images=stored[1:], duration=[100, 200, 300],
                  exif=exif_bytes(6), lossless=True)
    original, [variant, still] = render(data, VariantSpec("anim", 40, 40, "WEBP", animated=True),
                                        VariantSpec("still", 40, 40, "PNG"))
    assert (original.width, original.height) == (80, 40)
    assert (variant.width, variant.height, variant.animated) == (40, 20, True) == (still.width, still.height, True)
    frames = frames_of(variant.data)
    assert [duration for _, duration in frames] == [100, 200, 300]
    for (frame, _), expected in zip(frames, shown, strict=True):
        assert frame.size == (40, 20)
        want = expected.resize((40, 20))
        for point in ((8, 4), (32, 4), (8, 16), (32, 16)):
            assert close(frame.getpixel(point), want.getpixel(point)), (point, frame.getpixel(point))


def test_an_animated_result_has_the_placeholder_of_its_first_frame():
    original, [variant] = render(gif(size=(90, 60)), VariantSpec("anim", 90, 90, "WEBP", animated=True))
    assert variant.animated and original.placeholder
    red = int(original.color[1:3], 16), int(original.color[3:5], 16), int(original.color[5:7], 16)
    assert close(red, RED)


# --- the budget -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("budget", "animated"), [
    (AnimationBudget(max_frames=4), True), (AnimationBudget(max_frames=3), False),
    (AnimationBudget(max_pixels=4 * 60 * 40), True), (AnimationBudget(max_pixels=4 * 60 * 40 - 1), False),
    (AnimationBudget(max_bytes=4 * 30 * 20 * 4), True), (AnimationBudget(max_bytes=4 * 30 * 20 * 4 - 1), False),
])
def test_an_animation_over_its_budget_renders_still_and_one_at_the_limit_animated(budget, animated):
    _, [variant] = render(gif(), VariantSpec("anim", 30, 30, ["WEBP", "JPEG"], animated=True), animation=budget)
    assert variant.animated is animated
    assert [f.format for f in variant.files] == (["WEBP"] if animated else ["WEBP", "JPEG"])
    with Image.open(io.BytesIO(variant.files[0].data)) as im:
        assert getattr(im, "n_frames", 1) == (4 if animated else 1)
        assert close(centre(im.convert("RGB")), RED)


def test_ten_thousand_frames_render_still_and_decoding_stops_at_the_frame_limit(monkeypatch):
    data = many_frame_gif(10_000)
    with Image.open(io.BytesIO(data)) as im:
        assert im.n_frames == 10_000  # the file really holds them all
    parsed = []
    real_seek = GifImagePlugin.GifImageFile._seek

    def spy(self, frame, *args, **kwargs):
        parsed.append(frame)
        return real_seek(self, frame, *args, **kwargs)

    monkeypatch.setattr(GifImagePlugin.GifImageFile, "_seek", spy)
    _, [variant] = render(data, VariantSpec("anim", 16, 16, ["WEBP", "PNG"], animated=True),
                          animation=AnimationBudget(max_frames=50))
    assert not variant.animated and [f.format for f in variant.files] == ["WEBP", "PNG"]
    assert parsed and max(parsed) <= 51, max(parsed)  # the 51st frame passes the budget: nothing after it is read


def test_the_sandbox_renders_animated_variants_and_applies_the_budget():
    spec = VariantSpec("anim", 30, 30, ["WEBP", "JPEG"], animated=True)
    original, [variant] = render_isolated(gif(loop=3), [spec], max_pixels=10**6)
    assert original.format == "GIF" and original.placeholder
    assert (variant.animated, variant.frames, [f.format for f in variant.files]) == (True, 4, ["WEBP"])
    assert [duration for _, duration in frames_of(variant.data)] == [80, 120, 200, 50]
    _, [still] = render_isolated(many_frame_gif(10_000), [spec], max_pixels=10**6,
                                 animation=AnimationBudget(max_frames=20))
    assert not still.animated and [f.format for f in still.files] == ["WEBP", "JPEG"]


def _gif_with_a_frame_past_its_screen(screen: int, frame: int) -> bytes:
    """A two-frame GIF of ``screen`` square whose second image descriptor claims ``frame`` square (GIF89a
    section 20: nothing stops a frame reaching past the logical screen; Pillow grows its canvas to hold it)."""
    data = bytearray(gif(durations=(80, 80), size=(screen, screen)))
    second = data.index(b"\x2c", data.index(b"\x2c") + 1)  # the second frame's image descriptor
    data[second + 5:second + 9] = struct.pack("<HH", frame, frame)
    return bytes(data)


def test_a_gif_frame_reaching_past_its_screen_ends_the_animation_before_it_is_rendered(monkeypatch):
    """Pillow grows the canvas for such a frame (5000 x 5000 here, from a 64 x 64 header): the animation
    stops at that frame and the variant renders still, so no frame escapes MAX_PIXELS or MAX_DECODE_BYTES."""
    data = _gif_with_a_frame_past_its_screen(64, 5000)
    converted, real = [], Image.Image.convert
    monkeypatch.setattr(Image.Image, "convert", lambda im, *a, **k: converted.append(im.size) or real(im, *a, **k))
    original, [variant] = render_variants(io.BytesIO(data), [VariantSpec("anim", 32, 32, "WEBP", animated=True)],
                                          max_pixels=10_000)
    assert (original.width, original.height) == (64, 64)
    assert variant.animated is False and (variant.width, variant.height) == (32, 32)
    assert (5000, 5000) not in converted


def test_a_truncated_animated_gif_renders_its_first_frame_whether_or_not_animation_is_asked():
    """Damage in the second frame (Pillow's reader raises IndexError or struct.error reading its header)
    is never the upload's failure: the intact first frame renders, animated only if the damage spared it."""
    data = animated_gif(2)
    second = data.index(b"\x2c", data.index(b"\x2c") + 1)  # the second frame's image descriptor
    for end in range(second, len(data)):
        for spec in (VariantSpec("s", 30, 30, "PNG"), VariantSpec("a", 30, 30, "WEBP", animated=True)):
            _, [variant] = render(data[:end], spec)
            assert (variant.width, variant.height) == (30, 20), end
            if spec.name == "s":
                assert variant.animated is False
