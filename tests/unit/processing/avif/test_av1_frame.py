"""An AVIF that makes libavif or dav1d allocate more than its ``ispe`` claims is measured by what they allocate.

Pillow reports an AVIF's size from the primary ``ispe``; dav1d allocates the
frame the AV1 headers declare and libavif a grid's canvas and every tile's own
``ispe``. Measured before each fix (default limits, fresh process), every file
below passed the checks: a 6000² frame declared 100² (+77 MB), the same frame
through a key frame's size override (+61 MB), a 10 × 10 grid of 512² tiles
sharing one 4.9 KB extent (+198 MB), a 128² tile claiming 8000² (+194 MB; 6000² here,
under MAX_PIXELS).
The files are Pillow's own AVIFs with boxes and headers rewritten
(``tests/avif_files.py``); memory is the peak RSS of a fresh interpreter,
reset after start-up (``/proc/self/clear_refs``: ``ru_maxrss`` would
report the pytest parent's peak, inherited across fork and exec).
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys

import pytest
from PIL import Image

from realtime_uploads.core.errors import CORRUPT_IMAGE, TOO_LARGE_TO_DECODE, TOO_MANY_PIXELS, ProcessingError
from realtime_uploads.core.variants import VariantSpec
from realtime_uploads.processing.avif.av1 import avif_frame_size
from realtime_uploads.processing.avif.isobmff import read_container
from realtime_uploads.processing.image.render import render_variants
from tests.avif_files import box, build_avif, first, ispe, item_payload, override_frame
from tests.images import encode, heic

THUMB = VariantSpec("thumb", 64, 64, "WEBP")


def understated(data: bytes, size: tuple[int, int] = (100, 100)) -> bytes:
    """``data`` with every ``ispe`` property rewritten to declare ``size``."""
    out, at = bytearray(data), data.find(b"ispe")
    assert at > 0
    while at != -1:
        out[at + 8:at + 16] = struct.pack(">II", *size)
        at = data.find(b"ispe", at + 4)
    return bytes(out)


PEAK_SCRIPT = """
import io, json, sys
from realtime_uploads.core.errors import ProcessingError
from realtime_uploads.core.variants import VariantSpec
from realtime_uploads.processing.image.render import render_variants
def peak_kb():
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
data = sys.stdin.buffer.read()
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # peak RSS back to the current RSS
before = peak_kb()
try:
    render_variants(io.BytesIO(data), [VariantSpec("thumb", 64, 64, "WEBP")], max_pixels=50_000_000,
                    allowed_formats=["AVIF", "HEIF"])
    code, message = None, ""
except ProcessingError as exc:
    code, message = exc.code, exc.message
print(json.dumps({"code": code, "message": message, "grew_kb": peak_kb() - before}))
"""


def peak(data: bytes) -> dict:
    """Render ``data`` (AVIF and HEIF allowed, default limits) in a fresh interpreter: code, message, growth (KB)."""
    result = subprocess.run([sys.executable, "-c", PEAK_SCRIPT], input=data, capture_output=True, check=True,
                            timeout=60)
    return json.loads(result.stdout)


def refused_unread(data: bytes, code: str, size: str) -> None:
    outcome = peak(data)
    assert outcome["code"] == code and size in outcome["message"], outcome
    assert outcome["grew_kb"] < 15 * 1024, outcome


def props(data: bytes) -> list[bytes]:
    """The pixi, av1C and colr properties of a Pillow AVIF, to reuse around other items."""
    return [first(data, b"pixi"), first(data, b"av1C"), first(data, b"colr")]


def one_item(payload: bytes, source: bytes) -> bytes:
    return build_avif([(1, b"av01", payload)], [ispe(100, 100), *props(source)],
                      {1: [(1, False), (2, False), (3, True), (4, False)]})


@pytest.fixture(scope="module")
def big_still() -> bytes:
    return encode(Image.new("L", (6000, 6000)), "AVIF", quality=10, speed=10)


def test_an_avif_declaring_100_squared_over_a_6000_squared_frame_is_refused_before_decoding(big_still):
    data = understated(big_still)
    assert len(data) < 2000 and Image.open(io.BytesIO(data)).size == (100, 100)  # what Pillow believes
    refused_unread(data, TOO_LARGE_TO_DECODE, "6000x6000")


def test_a_key_frame_overriding_its_sequence_headers_maximum_is_measured_by_its_own_size(big_still):
    data = one_item(override_frame(item_payload(big_still)), big_still)
    assert Image.open(io.BytesIO(data)).size == (100, 100)
    refused_unread(data, TOO_LARGE_TO_DECODE, "6000x6000")
    small = encode(Image.new("RGB", (64, 48), (200, 30, 30)), "AVIF")  # the same recoding decodes
    recoded = one_item(override_frame(item_payload(small)), small)
    assert avif_frame_size(recoded) == (100, 100)  # the sequence header's maximum is the larger
    assert Image.open(io.BytesIO(recoded)).convert("RGB").getpixel((10, 10))[0] > 150


def grid(tile: bytes, source: bytes, per_side: int, side: int, tile_claim: int) -> bytes:
    """A per_side² grid of ``tile`` (each tile the same bytes), canvas per_side x side, primary ispe 100²."""
    tiles = list(range(2, 2 + per_side * per_side))
    canvas = struct.pack(">BBBBII", 0, 1, per_side - 1, per_side - 1, per_side * side, per_side * side)
    pixi, av1c, colr = props(source)
    associations = {1: [(1, False), (4, False), (5, False)]}
    associations |= {t: [(2, False), (3, True), (4, False)] for t in tiles}
    references = box(b"dimg", struct.pack(">HH", 1, len(tiles)) + b"".join(struct.pack(">H", t) for t in tiles))
    return build_avif([(1, b"grid", canvas)] + [(t, b"av01", tile) for t in tiles],
                      [ispe(100, 100), ispe(tile_claim, tile_claim), av1c, pixi, colr], associations,
                      irefs=references)


def test_a_grid_canvas_and_a_tile_scaled_to_its_own_ispe_are_measured():
    source = encode(Image.new("RGB", (512, 512), (30, 120, 200)), "AVIF", quality=30, speed=10)
    tile = item_payload(source)
    canvas = grid(tile, source, 10, 512, 512)
    assert len(canvas) < 6000
    refused_unread(canvas, TOO_LARGE_TO_DECODE, "5120x5120")
    refused_unread(grid(tile, source, 1, 512, 6000), TOO_LARGE_TO_DECODE, "6000x6000")
    honest = grid(tile, source, 2, 512, 512)  # a real grid still renders
    assert avif_frame_size(honest) == (1024, 1024)
    _, [variant] = render_variants(io.BytesIO(honest), [THUMB], max_pixels=10**7, allowed_formats=["AVIF"])
    assert variant.width == 64


def test_a_heic_declaring_100_squared_over_a_3000_squared_frame_is_refused_by_libheif_unread():
    """libheif compares the HEVC SPS with ispe before decoding: such a file costs nothing."""
    refused_unread(understated(heic(Image.new("RGB", (3000, 3000)), quality=10)), CORRUPT_IMAGE, "3000x3000")


def test_the_frame_counted_is_the_largest_of_every_item_and_track():
    for mode, size in (("RGB", (321, 123)), ("RGBA", (64, 48)), ("L", (17, 9))):  # RGBA: an alpha item too
        assert avif_frame_size(encode(Image.new(mode, size), "AVIF")) == size
    frames = [Image.new("RGBA", (90, 60), (40 * i, 0, 0, 99)) for i in range(3)]
    sequence = encode(frames[0], "AVIF", save_all=True, append_images=frames[1:], duration=100)
    assert len(read_container(sequence).payloads) == 4  # colour and alpha: items and first samples
    assert avif_frame_size(sequence) == (90, 60)
    assert avif_frame_size(encode(Image.new("RGB", (8, 8)), "PNG")) is None


def test_an_understated_frame_within_the_limits_still_renders_and_the_pixel_limit_is_the_frames():
    data = understated(encode(Image.new("RGB", (600, 400), (200, 30, 30)), "AVIF"))
    _, [variant] = render_variants(io.BytesIO(data), [THUMB], max_pixels=10**6, allowed_formats=["AVIF"])
    assert variant.width <= 64 and variant.files[0].data
    with pytest.raises(ProcessingError) as info:
        render_variants(io.BytesIO(data), [THUMB], max_pixels=200_000, allowed_formats=["AVIF"])
    assert info.value.code == TOO_MANY_PIXELS and "600x400" in info.value.message


def test_bytes_after_the_boxes_libavif_reads_are_ignored_as_libavif_ignores_them():
    data = encode(Image.new("RGB", (64, 48), (200, 30, 30)), "AVIF")
    for junk in (b"\x01" * 16, b"\0\0\0\x10free" + bytes(4), b"\xff" * 12):
        _, [variant] = render_variants(io.BytesIO(data + junk), [THUMB], max_pixels=10**6, allowed_formats=["AVIF"])
        assert variant.width == 64


@pytest.mark.parametrize("damage", ["box runs past the end", "extent past the end", "forbidden bit",
                                    "truncated header"])
def test_a_damaged_container_or_sequence_header_is_corrupt_image_naming_it(damage):
    data = bytearray(encode(Image.new("RGB", (64, 64)), "AVIF"))
    meta, payload = data.find(b"meta") - 4, item_payload(bytes(data))
    at = data.find(payload)
    if damage == "box runs past the end":
        data[meta:meta + 4] = struct.pack(">I", len(data))
    elif damage == "extent past the end":
        data = data[:at + len(payload) // 2]
    elif damage == "forbidden bit":
        data[at] |= 0x80
    else:  # the sequence header OBU says 2 bytes: its frame size is not in them
        assert payload[:3] == bytes([0x12, 0x00, 0x0A])  # a temporal delimiter, then the sequence header
        data[at + 3] = 2
    with pytest.raises(ProcessingError) as info:
        render_variants(io.BytesIO(bytes(data)), [THUMB], max_pixels=10**6, allowed_formats=["AVIF"])
    assert info.value.code == CORRUPT_IMAGE and "AVIF" in info.value.message


# --- the container as libavif reads it --------------------------------------------------------------


def test_an_uncounted_infe_cannot_hide_an_item(big_still):
    """libavif reads exactly entry_count infe boxes: an extra one re-typing item 1 as text changes nothing."""
    payload, plist = item_payload(big_still), [ispe(100, 100), *props(big_still)]
    extra = box(b"infe", struct.pack(">HH", 1, 0) + b"mime\0text/plain\0", version=2)
    data = build_avif([(1, b"av01", payload)], plist, {1: [(1, False), (2, False), (3, True), (4, False)]},
                      iinf_count=1, extra_infe=extra)
    assert avif_frame_size(data) == (6000, 6000)


def track_file(sample: bytes, tables) -> bytes:
    """ftyp, a moov whose one trak has an av01 sample entry and ``tables(offset)``, then ``sample`` at offset."""
    def build(offset: int) -> bytes:
        stsd = box(b"stsd", struct.pack(">I", 1) + box(b"av01", bytes(78)), version=0)
        trak = box(b"trak", box(b"mdia", box(b"minf", box(b"stbl", stsd + b"".join(tables(offset))))))
        return box(b"ftyp", b"avis\0\0\0\0avismsf1") + box(b"moov", trak)
    return build(len(build(0))) + sample


def test_track_tables_are_read_as_libavif_reads_them_or_refused():
    sample = item_payload(encode(Image.new("RGB", (64, 48)), "AVIF"))  # a real sequence header, 64 x 48

    def stsz(size: int, count: int, *entries: int) -> bytes:
        return box(b"stsz", struct.pack(f">II{len(entries)}I", size, count, *entries), version=0)

    def stco(*offsets: int) -> bytes:
        return box(b"stco", struct.pack(f">I{len(offsets)}I", len(offsets), *offsets), version=0)

    counted = track_file(sample, lambda at: [stsz(0, 1, len(sample)), stco(at)])
    assert avif_frame_size(counted) == (64, 48)
    uncounted = track_file(sample, lambda at: [stsz(len(sample), 0), stco(at)])  # libavif ignores the count
    assert avif_frame_size(uncounted) == (64, 48)
    for tables in (lambda at: [stsz(0, 0), stsz(0, 1, len(sample)), stco(at)],  # an empty stsz first
                   lambda at: [stsz(0, 1, len(sample)), stco(), stco(at)]):  # an empty stco first
        with pytest.raises(ValueError, match="2 st"):  # libavif would merge them: refused rather than guessed
            read_container(track_file(sample, tables))


def test_items_in_an_idat_are_read_from_it():
    """iloc version 1, construction_method 1: offsets into the meta's idat (ISO/IEC 14496-12 §8.11.3)."""
    coded = bytes([(1 << 3) | 2, 4]) + b"seqh"
    infe = box(b"infe", struct.pack(">HH", 1, 0) + b"av01" + b"\0", version=2)
    iinf = box(b"iinf", struct.pack(">H", 1) + infe, version=0)
    iloc = box(b"iloc", bytes([0x44, 0x00]) + struct.pack(">HHHHHII", 1, 1, 1, 0, 1, 3, len(coded)), version=1)
    data = box(b"ftyp", b"avif\0\0\0\0avifmif1") + box(b"meta", iinf + iloc + box(b"idat", b"pad" + coded),
                                                       version=0)
    assert [bytes(p) for p in read_container(data).payloads] == [coded]


def test_extents_cannot_multiply_the_work_or_the_memory():
    """Zero-sized iloc fields make an extent cost 0 bytes, and overlapping items could copy the file again
    and again: both are refused by their caps (they took 2.2 s and 329 MB, and 114 MB)."""
    def with_iloc(body: bytes, items: int, tail: bytes = b"") -> bytes:
        infes = b"".join(box(b"infe", struct.pack(">HH", i, 0) + b"av01\0", version=2) for i in range(1, items + 1))
        meta = box(b"iloc", body, version=1) + box(b"iinf", struct.pack(">H", items) + infes, version=0)
        return box(b"ftyp", b"avif\0\0\0\0avifmif1") + box(b"meta", meta, version=0) + tail

    free = bytes([0x00, 0x00]) + struct.pack(">H", 60) + b"".join(struct.pack(">HHHH", i, 0, 0, 65535)
                                                                  for i in range(1, 61))
    blob = bytes(50_000)
    overlapping = bytes([0x44, 0x00]) + struct.pack(">H", 200) + b"".join(
        struct.pack(">HHHHII", i, 0, 0, 1, 100 + i, len(blob) - 200) for i in range(1, 201))
    for data, message in ((with_iloc(free, 60), "extents"), (with_iloc(overlapping, 200, blob), "overlap")):
        with pytest.raises(ValueError, match=message):  # refused by the cap, not worked through
            read_container(data)
