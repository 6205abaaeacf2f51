"""Small files that decode huge (issue 7, finding 2): memory, aspect ratio, CPU time and the queue, bounded."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
import time
import zlib

import pytest
from PIL import Image

from realtime_uploads.core.errors import (
    ASPECT_RATIO,
    TIME_LIMIT,
    TOO_LARGE_TO_DECODE,
    UNSUPPORTED_FORMAT,
    ProcessingError,
)
from realtime_uploads.core.object_store import ObjectInfo
from realtime_uploads.core.variants import VariantSpec
from realtime_uploads.processing.dispatcher import LocalDispatcher
from realtime_uploads.processing.image.limits import ImageLimits, estimate_decode_bytes
from realtime_uploads.processing.image.render import render_variants
from realtime_uploads.processing.image.sniff import sniff_format, webp_size
from realtime_uploads.processing.sandbox import render_isolated
from tests.unit.processing.image.test_render import BLUE, GREEN, RED, YELLOW, close, encode, loads, quadrants, reopen  # noqa: F401
from tests.unit.processing.test_callback_client import scripted_server  # noqa: F401 - a fixture
from tests.unit.processing.test_dispatcher import config as dispatcher_config

MIB = 1024 * 1024
THUMB = VariantSpec("thumb", 320, 320, "WEBP")


def huge_webp(side: int = 7000) -> bytes:
    """The probe's file: a lossless WebP of side x side black pixels, under 2 KB."""
    return encode(Image.new("RGB", (side, side)), "WEBP", lossless=True)


def tall_png(height: int = 49_000_000) -> bytes:
    """A valid 1 x ``height`` greyscale PNG of about 95 KB (the probe's second file)."""

    def chunk(tag: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + tag + body + zlib.crc32(tag + body).to_bytes(4, "big")

    packer, rows = zlib.compressobj(9), bytes(2 * 1_000_000)  # filter byte + one pixel, per row
    idat = b"".join(packer.compress(rows) for _ in range(height // 1_000_000)) + packer.flush()
    header = (1).to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


PEAK_SCRIPT = """
import io, json, resource, sys, time
from realtime_uploads.core.errors import ProcessingError
from realtime_uploads.core.variants import VariantSpec
from realtime_uploads.processing.image.render import render_variants
data = sys.stdin.buffer.read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.process_time()
try:
    render_variants(io.BytesIO(data), [VariantSpec("thumb", 320, 320, "WEBP")], max_pixels=50_000_000)
    code = None
except ProcessingError as exc:
    code = exc.code
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"code": code, "grew_kb": after - before, "cpu": time.process_time() - started}))
"""


def peak_of_rendering(data: bytes) -> dict:
    """Render ``data`` with the default limits in a fresh interpreter; its code, RSS growth (KB), CPU (s).

    A process of its own: tracemalloc cannot see Pillow's C allocations, and ru_maxrss only grows."""
    result = subprocess.run([sys.executable, "-c", PEAK_SCRIPT], input=data, capture_output=True, check=True,
                            timeout=60)
    return json.loads(result.stdout)


# --- memory -----------------------------------------------------------------------------------


def test_tiny_lossless_webp_of_7000_squared_is_refused_before_decoding_with_memory_flat():
    """Was: 1.7 s and +800 MB in the web process, under MAX_PIXELS (49 M < 50 M)."""
    data = huge_webp()
    assert len(data) < 4000
    outcome = peak_of_rendering(data)
    assert outcome["code"] == TOO_LARGE_TO_DECODE
    assert outcome["grew_kb"] < 50 * 1024  # not even libwebp's canvases (Pillow's open allocates them)
    assert outcome["cpu"] < 0.5


def test_decode_estimate_counts_the_mode_the_decoder_and_the_copies():
    assert estimate_decode_bytes((1000, 1000), "RGB", "PNG") == 4_000_000  # Pillow pads RGB to 4 bytes
    assert estimate_decode_bytes((1000, 1000), "L", "PNG") == 1_000_000
    assert estimate_decode_bytes((1000, 1000), "P", "GIF") == 5_000_000  # + the RGB(A) copy
    assert estimate_decode_bytes((1000, 1000), "RGBA", "WEBP") == 12_000_000  # libwebp's two canvases
    assert estimate_decode_bytes((1000, 1000), "RGB", "JPEG", transposed=True, converted=True) == 12_000_000


def test_over_max_decode_bytes_is_refused_naming_the_limit(loads):  # noqa: F811
    data = encode(Image.new("RGB", (1000, 1000)), "PNG")
    with pytest.raises(ProcessingError) as info:
        render_variants(io.BytesIO(data), [THUMB], max_pixels=10**8, limits=ImageLimits(max_decode_bytes=3 * MIB))
    assert info.value.code == TOO_LARGE_TO_DECODE and "3 MiB" in info.value.message
    assert loads == []


def test_jpeg_over_the_bound_in_full_is_decoded_by_draft_under_it_into_correct_variants(loads):  # noqa: F811
    data = encode(quadrants(4000, 4000), "JPEG", quality=60)
    limits = ImageLimits(max_decode_bytes=16 * MIB)  # full decode: 64 MB; at 1/8: 1 MB
    original, [variant] = render_variants(io.BytesIO(data), [THUMB], max_pixels=10**8, limits=limits)
    assert (original.width, original.height) == (4000, 4000)
    assert loads == [(500, 500)]
    thumb = reopen(variant).convert("RGB")
    assert thumb.size == (320, 320)
    for (x, y), colour in (((80, 80), RED), ((240, 80), GREEN), ((80, 240), BLUE), ((240, 240), YELLOW)):
        assert close(thumb.getpixel((x, y)), colour, 30)
    loads.clear()
    with pytest.raises(ProcessingError) as info:  # a variant too large for draft to help: refused, not decoded
        render_variants(io.BytesIO(data), [VariantSpec("big", 4000, 4000, "JPEG")], max_pixels=10**8, limits=limits)
    assert info.value.code == TOO_LARGE_TO_DECODE and loads == []


def test_webp_canvas_is_read_from_its_header():
    for params in ({"lossless": True}, {"quality": 50}, {"lossless": True, "exif": b"Exif\0\0MM"}):
        for mode in ("RGB", "RGBA"):
            assert webp_size(encode(Image.new(mode, (1234, 567)), "WEBP", **params)[:30]) == (1234, 567)
    assert webp_size(b"RIFF\0\0\0\0WEBPVP8 " + bytes(20)) is None


# --- aspect ratio -----------------------------------------------------------------------------


def test_one_by_49_million_png_is_refused_as_aspect_ratio_without_decoding(loads):  # noqa: F811
    """Was: +1 GB. 49 M pixels pass MAX_PIXELS; the shape does not."""
    data = tall_png()
    assert len(data) < 150_000
    started = time.process_time()
    with pytest.raises(ProcessingError) as info:
        render_variants(io.BytesIO(data), [THUMB], max_pixels=50_000_000)
    assert info.value.code == ASPECT_RATIO and "1x49000000" in info.value.message
    assert loads == [] and time.process_time() - started < 0.5


def test_aspect_ratio_limit_is_a_setting_and_inclusive():
    data = encode(Image.new("L", (500, 10)), "PNG")  # 50:1
    original, _ = render_variants(io.BytesIO(data), [THUMB], max_pixels=10**6)
    assert (original.width, original.height) == (500, 10)
    with pytest.raises(ProcessingError) as info:
        render_variants(io.BytesIO(data), [THUMB], max_pixels=10**6, limits=ImageLimits(max_aspect_ratio=49.9))
    assert info.value.code == ASPECT_RATIO


# --- CPU time -----------------------------------------------------------------------------------


def expensive_png() -> bytes:
    """A 3000 x 3000 noisy PNG: decoding and resampling it takes a few hundred ms of CPU."""
    return encode(Image.effect_noise((3000, 3000), 64).convert("RGB"), "PNG", compress_level=1)


def test_cpu_time_limit_stops_an_expensive_image_mid_decode():
    data = expensive_png()
    specs = [THUMB, VariantSpec("large", 1280, 1280, "JPEG")]
    started = time.monotonic()
    with pytest.raises(ProcessingError) as info:
        render_isolated(data, specs, max_pixels=10**8, limits=ImageLimits(cpu_seconds=0.05))
    assert info.value.code == TIME_LIMIT and "0.05 seconds" in info.value.message
    assert time.monotonic() - started < 3
    original, variants = render_isolated(data, specs, max_pixels=10**8)  # the default limit lets it through
    assert (original.width, len(variants)) == (3000, 2)


def test_isolated_rendering_reports_the_same_refusals_as_in_process():
    with pytest.raises(ProcessingError) as info:
        render_isolated(huge_webp(), [THUMB], max_pixels=50_000_000)
    assert info.value.code == TOO_LARGE_TO_DECODE
    with pytest.raises(ProcessingError) as info:
        render_isolated(encode(Image.new("RGB", (8, 8)), "BMP"), [THUMB], max_pixels=100)
    assert info.value.code == UNSUPPORTED_FORMAT and "BMP" in info.value.message


# --- only allowed decoders ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "ICO", "PPM", "QOI", "JPEG2000", "PSD", "TGA", "PCX"])
def test_no_decoder_of_a_refused_format_ever_parses_the_bytes(fmt, monkeypatch):
    """Their plugins' _open would run on hostile bytes just to name them; magic bytes name them now."""
    Image.init()
    opened = []
    for name, (_factory, accept) in list(Image.OPEN.items()):
        if name not in ("JPEG", "PNG", "GIF", "WEBP"):
            monkeypatch.setitem(Image.OPEN, name, (lambda *a, name=name: opened.append(name), accept))
    data = (b"8BPS\0\1" + bytes(40)) if fmt == "PSD" else encode(Image.new("RGB", (16, 16), RED), fmt)
    with pytest.raises(ProcessingError):
        render_variants(io.BytesIO(data), [THUMB], max_pixels=10**6)
    assert opened == []


def test_magic_bytes_name_the_formats():
    assert sniff_format(b"II*\0" + bytes(28)) == "TIFF"
    assert sniff_format(b"BM" + bytes(12) + (40).to_bytes(4, "little") + bytes(14)) == "BMP"
    assert sniff_format(b"BMW is a car" + bytes(20)) is None
    assert sniff_format(b"P6\n16 16\n255\n") == "PPM"
    assert sniff_format(b"qoif" + bytes(28)) == "QOI"
    assert sniff_format(b"%PDF-1.7 not a picture") is None  # not an image at all: not_an_image, as before


# --- the local processor's queue ----------------------------------------------------------------


class SlowStore:
    """An in-memory ObjectStore holding one file per key."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.written = files, {}

    def head(self, key):
        return ObjectInfo(size=len(self.files[key]), etag='"v1"')

    def open(self, key, *, etag=None):
        return io.BytesIO(self.files[key])

    def put(self, key, data, *, content_type, cache_control):
        self.written[key] = data

    def mark_completed(self, key):
        pass


def test_twenty_tiny_bombs_are_bounded_by_the_queue_and_do_not_delay_a_real_upload(scripted_server):  # noqa: F811
    """The probe: 20 such uploads (38 KB) delayed a legitimate one by 34 s and took memory to 1.9 GB."""
    url, _, seen = scripted_server
    bomb = huge_webp()
    upload = "8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b{:03d}"
    keys = [f"uploads/{upload.format(n)}/a.webp" for n in range(21)]
    files = dict.fromkeys(keys[:20], bomb) | {keys[20]: encode(quadrants(800, 600), "JPEG")}
    store = SlowStore(files)
    config = dataclasses.replace(dispatcher_config(url), allowed_formats={"JPEG", "WEBP"}, max_pixels=50_000_000)
    dispatcher = LocalDispatcher(store=store, config=config, threads=1, max_queued=5)
    assert dispatcher.config.isolate  # rendered in a bounded child, not in the server's heap
    try:
        accepted = [dispatcher.submit(k) for k in keys[:20]]
        assert sum(f is not None for f in accepted) <= 6  # 1 running + 5 queued; the rest wait for the sweep
        started = time.monotonic()
        outcomes = [f.result(timeout=30) for f in accepted if f is not None]
        assert {o.reason for o in outcomes} == {TOO_LARGE_TO_DECODE}
        legit = dispatcher.submit(keys[20])
        assert legit.result(timeout=30).status == "completed"
        assert time.monotonic() - started < 10
    finally:
        dispatcher.shutdown(wait=True, timeout=10)
    assert any(b'"too_large_to_decode"' in body for _, body, _ in seen)


# --- settings -------------------------------------------------------------------------------------


def test_the_limits_are_settings_of_django_and_of_the_processor_environment(settings):
    from realtime_uploads.local.runner import processor_config
    from realtime_uploads.processing.config import config_from_env

    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "MAX_ASPECT_RATIO": 3.0,
                                 "MAX_DECODE_BYTES": 1_234_567, "IMAGE_CPU_SECONDS": 2.5}
    assert processor_config().limits == ImageLimits(3.0, 1_234_567, 2.5)
    env = {"REALTIME_UPLOADS_CALLBACK_SECRET": "s", "REALTIME_UPLOADS_MAX_DECODE_BYTES": "2000000",
           "REALTIME_UPLOADS_IMAGE_CPU_SECONDS": "0.5", "REALTIME_UPLOADS_MAX_ASPECT_RATIO": "4"}
    assert config_from_env(env).limits == ImageLimits(4.0, 2_000_000, 0.5)
    assert config_from_env({"REALTIME_UPLOADS_CALLBACK_SECRET": "s"}).limits == ImageLimits()


def test_a_renderer_crash_is_logged_and_reported_as_internal_error_without_internals(scripted_server, caplog):  # noqa: F811
    """An exception the pipeline does not know, raised in the child, reaches the log, not the user."""
    from realtime_uploads.processing.pipeline import process_object
    from realtime_uploads.processing.sandbox import RendererCrashed

    with pytest.raises(RendererCrashed, match="max_pixels must be a positive"):
        render_isolated(encode(Image.new("RGB", (8, 8)), "PNG"), [THUMB], max_pixels=0)
    url, _, seen = scripted_server
    key = "uploads/8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1/a.png"
    config = dataclasses.replace(dispatcher_config(url), allowed_formats={"PNG"}, max_pixels=0, isolate=True)
    outcome = process_object(key, store=SlowStore({key: encode(Image.new("RGB", (8, 8)), "PNG")}), config=config)
    assert (outcome.status, outcome.reason) == ("failed", "internal_error")
    report = json.loads(seen[-1][1])
    assert "try again" in report["error"]["message"] and "max_pixels" not in report["error"]["message"]
    assert any("max_pixels must be a positive" in (r.exc_text or "") for r in caplog.records)
