"""An AVIF or HEIC whose ``ispe`` understates its coded frame: the limits apply to the frame decoded.

Pillow reports an AVIF's size from ``ispe``, but dav1d allocates the frame the
AV1 sequence header declares. Measured before the fix: a 6000 x 6000 frame
declared 100 x 100 passed every check and grew the process by 77 MB.
The files are Pillow's own AVIF (libavif + aom) and pillow-heif's HEIC, with
their ``ispe`` rewritten; the sequence headers of the syntax tests are written
bit by bit from the AV1 specification, §5.5.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from realtime_uploads.processing.av1 import avif_frame_size, max_frame_size, obus
from realtime_uploads.processing.errors import CORRUPT_IMAGE, TOO_LARGE_TO_DECODE, TOO_MANY_PIXELS, ProcessingError
from realtime_uploads.processing.image import VariantSpec, render_variants
from realtime_uploads.processing.isobmff import av01_item_payloads

from .images import encode, heic

MIB = 1024 * 1024
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
import io, json, resource, sys
from realtime_uploads.processing.errors import ProcessingError
from realtime_uploads.processing.image import VariantSpec, render_variants
data = sys.stdin.buffer.read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    render_variants(io.BytesIO(data), [VariantSpec("thumb", 64, 64, "WEBP")], max_pixels=50_000_000,
                    allowed_formats=["AVIF", "HEIF"])
    code, message = None, ""
except ProcessingError as exc:
    code, message = exc.code, exc.message
grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"code": code, "message": message, "grew_kb": grew}))
"""


def peak(data: bytes) -> dict:
    """Render ``data`` (AVIF and HEIF allowed, default limits) in a fresh interpreter: code, message, RSS growth."""
    result = subprocess.run([sys.executable, "-c", PEAK_SCRIPT], input=data, capture_output=True, check=True,
                            timeout=60)
    return json.loads(result.stdout)


def test_an_avif_declaring_100_squared_with_a_6000_squared_frame_is_refused_before_decoding():
    data = understated(encode(Image.new("L", (6000, 6000)), "AVIF", quality=10, speed=10))
    assert len(data) < 2000 and Image.open(io.BytesIO(data)).size == (100, 100)  # what Pillow believes
    outcome = peak(data)
    assert outcome["code"] == TOO_LARGE_TO_DECODE and "6000x6000" in outcome["message"], outcome
    assert outcome["grew_kb"] < 20 * 1024, outcome  # was +77 MB: dav1d's planes of the real frame


def test_a_heic_declaring_100_squared_with_a_3000_squared_frame_is_refused_by_libheif_unread():
    """libheif compares the HEVC SPS with ispe before decoding: such a file costs nothing."""
    data = understated(heic(Image.new("RGB", (3000, 3000)), quality=10))
    outcome = peak(data)
    assert outcome["code"] == CORRUPT_IMAGE and "3000x3000" in outcome["message"], outcome
    assert outcome["grew_kb"] < 20 * 1024, outcome


def test_the_frame_counted_is_the_larger_of_every_item_and_track():
    for mode, size in (("RGB", (321, 123)), ("RGBA", (64, 48)), ("L", (17, 9))):  # RGBA: an alpha item too
        assert avif_frame_size(encode(Image.new(mode, size), "AVIF")) == size
    frames = [Image.new("RGBA", (90, 60), (40 * i, 0, 0, 99)) for i in range(3)]
    sequence = encode(frames[0], "AVIF", save_all=True, append_images=frames[1:], duration=100)
    assert avif_frame_size(sequence) == (90, 60)  # items and the first samples of both tracks
    assert avif_frame_size(encode(Image.new("RGB", (8, 8)), "PNG")) is None


def test_an_understated_frame_within_the_limits_still_renders_and_the_pixel_limit_is_the_frames():
    data = understated(encode(Image.new("RGB", (600, 400), (200, 30, 30)), "AVIF"))
    original, [variant] = render_variants(io.BytesIO(data), [THUMB], max_pixels=10**6, allowed_formats=["AVIF"])
    assert variant.width <= 64 and variant.files[0].data
    with pytest.raises(ProcessingError) as info:
        render_variants(io.BytesIO(data), [THUMB], max_pixels=200_000, allowed_formats=["AVIF"])
    assert info.value.code == TOO_MANY_PIXELS and "600x400" in info.value.message


@pytest.mark.parametrize("damage", ["box runs past the end", "extent past the end", "forbidden bit",
                                    "truncated header"])
def test_a_damaged_container_or_sequence_header_is_corrupt_image_naming_it(damage):
    data = bytearray(encode(Image.new("RGB", (64, 64)), "AVIF"))
    meta = data.find(b"meta") - 4
    payload = av01_item_payloads(bytes(data))[0]
    at = data.find(payload)
    if damage == "box runs past the end":
        data[meta:meta + 4] = struct.pack(">I", len(data))
    elif damage == "extent past the end":
        data = data[:at + len(payload) // 2]
    elif damage == "forbidden bit":
        data[at] |= 0x80
    else:  # the sequence header OBU says 2 bytes: the frame size is not in them
        assert payload[:3] == bytes([0x12, 0x00, 0x0A])  # a temporal delimiter, then the sequence header
        data[at + 3] = 2
    with pytest.raises(ProcessingError) as info:
        render_variants(io.BytesIO(bytes(data)), [THUMB], max_pixels=10**6, allowed_formats=["AVIF"])
    assert info.value.code == CORRUPT_IMAGE and "AVIF" in info.value.message


# --- the sequence header's syntax, every branch (AV1 §5.5.1) ------------------------------------


class Bits:
    def __init__(self):
        self.bits = []

    def put(self, value: int, n: int) -> Bits:
        self.bits += [(value >> (n - 1 - i)) & 1 for i in range(n)]
        return self

    def uvlc(self, value: int) -> Bits:
        zeros = (value + 1).bit_length() - 1
        return self.put(0, zeros).put(1, 1).put(value + 1 - (1 << zeros), zeros)

    def bytes(self) -> bytes:
        bits = self.bits + [0] * (-len(self.bits) % 8)
        return bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))


def sequence_header(width: int, height: int, *, reduced=False, timing=False, decoder_model=False,
                    display_delay=False, operating_points=1) -> bytes:
    b = Bits().put(0, 3).put(1, 1).put(int(reduced), 1)
    if reduced:
        b.put(8, 5)
    else:
        b.put(int(timing), 1)
        if timing:
            b.put(1, 32).put(30, 32).put(1, 1).uvlc(4).put(int(decoder_model), 1)
            if decoder_model:
                b.put(9, 5).put(1, 32).put(31, 5).put(31, 5)
        b.put(int(display_delay), 1).put(operating_points - 1, 5)
        for i in range(operating_points):
            b.put(0x101, 12).put(9 if i % 2 else 4, 5)  # seq_level_idx 9 > 7: a seq_tier bit follows
            if i % 2:
                b.put(1, 1)
            if decoder_model:
                b.put(1, 1).put(3, 10).put(5, 10).put(0, 1)
            if display_delay:
                b.put(1, 1).put(7, 4)
    bits = max(width - 1, height - 1, 1).bit_length()
    return b.put(bits - 1, 4).put(bits - 1, 4).put(width - 1, bits).put(height - 1, bits).put(0, 7).bytes()


@pytest.mark.parametrize("flags", [{}, {"reduced": True}, {"timing": True}, {"timing": True, "decoder_model": True},
                                   {"display_delay": True, "operating_points": 3},
                                   {"timing": True, "decoder_model": True, "display_delay": True,
                                    "operating_points": 32}])
def test_sequence_header_syntax(flags):
    assert max_frame_size(sequence_header(16384, 9000, **flags)) == (16384, 9000)
    assert max_frame_size(sequence_header(1, 2, **flags)) == (1, 2)


def test_obus_with_and_without_size_fields_and_extension_headers():
    header = sequence_header(640, 480)
    stream = (bytes([(2 << 3) | 2, 0])  # a temporal delimiter
              + bytes([(1 << 3) | 4 | 2, 0x18, len(header)]) + header  # extension header
              + bytes([(6 << 3)]) + b"frame data to the end")  # no size field
    assert [kind for kind, _ in obus(stream)] == [2, 1, 6]
    assert max_frame_size(list(obus(stream))[1][1]) == (640, 480)
    with pytest.raises(ValueError, match="declared"):
        list(obus(bytes([(1 << 3) | 2, 50]) + header))


def test_items_in_an_idat_are_read_from_it():
    """iloc version 1, construction_method 1: offsets into the meta's idat (ISO/IEC 14496-12 §8.11.3)."""
    def box(kind: bytes, body: bytes, version: int | None = None) -> bytes:
        body = (bytes([version, 0, 0, 0]) + body) if version is not None else body
        return struct.pack(">I", 8 + len(body)) + kind + body

    header = sequence_header(7000, 5000)
    coded = bytes([(1 << 3) | 2, len(header)]) + header
    infe = box(b"infe", struct.pack(">HH", 1, 0) + b"av01" + b"\0", version=2)
    iinf = box(b"iinf", struct.pack(">H", 1) + infe, version=0)
    iloc = box(b"iloc", bytes([0x44, 0x00]) + struct.pack(">HHHHHII", 1, 1, 1, 0, 1, 3, len(coded)), version=1)
    idat = box(b"idat", b"pad" + coded)
    data = box(b"ftyp", b"avif\0\0\0\0avifmif1") + box(b"meta", iinf + iloc + idat, version=0)
    assert av01_item_payloads(data) == [coded]
    assert avif_frame_size(data) == (7000, 5000)


# --- fuzzing: hostile bytes raise only ValueError (which render_variants reports as corrupt_image) ----------

_REAL = encode(Image.new("RGBA", (40, 30), (9, 99, 199, 120)), "AVIF")


@given(st.lists(st.tuples(st.integers(0, len(_REAL) - 1), st.integers(0, 255)), min_size=1, max_size=8),
       st.integers(16, len(_REAL)))
def test_fuzz_a_damaged_avif_header_parses_or_raises_value_error(flips, keep):
    data = bytearray(_REAL[:keep])
    for at, value in flips:
        if at < len(data):
            data[at] = value
    try:
        size = avif_frame_size(bytes(data))
    except ValueError:
        return
    assert size is None or (size[0] >= 1 and size[1] >= 1)


@given(st.binary(max_size=64))
def test_fuzz_any_bytes_as_a_sequence_header_or_obu_stream(data):
    for parse in (max_frame_size, lambda d: list(obus(d))):
        try:
            parse(data)
        except ValueError:
            pass


def test_deeply_nested_boxes_do_not_recurse():
    depth = 5000  # a moov in a moov in a moov...: RecursionError, an internal_error, if followed
    nested = b"".join(struct.pack(">I", 8 * (depth - i)) + b"moov" for i in range(depth))
    assert avif_frame_size(struct.pack(">I", 16) + b"ftypavis\0\0\0\0" + nested) is None
