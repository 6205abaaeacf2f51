"""The frame size an AVIF's AV1 bitstream declares, read before libavif decodes it (stdlib only).

Pillow reports an AVIF's size from its ``ispe`` property, but dav1d allocates
the frame the AV1 sequence header declares (``max_frame_width_minus_1`` and
``max_frame_height_minus_1``), whatever ``ispe`` says: a 1 KB file declaring
100 x 100 decoded a 6000 x 6000 frame (77 MB). :func:`avif_frame_size`
reads the largest frame any payload may decode to, so the limits apply to it.

Layouts: AV1 Bitstream & Decoding Process Specification §5.3 (OBU header,
``leb128``), §5.5 (sequence header OBU), §4.10.3 (``uvlc``); the payloads come
from :mod:`.isobmff`.
"""

from __future__ import annotations

from .errors import CORRUPT_IMAGE, ProcessingError
from .isobmff import av01_first_samples, av01_item_payloads, primary_nclx
from .limits import ImageLimits, check_decode_bytes, check_size, estimate_decode_bytes

OBU_SEQUENCE_HEADER = 1


class _Bits:
    """MSB-first bit reader over ``data`` (AV1 §4.10.2 ``f(n)``); ValueError past its end."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def f(self, n: int) -> int:
        if self.pos + n > len(self.data) * 8:
            raise ValueError("AV1 sequence header: truncated")
        value = 0
        for _ in range(n):
            value = (value << 1) | ((self.data[self.pos >> 3] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def uvlc(self) -> int:  # §4.10.3
        zeros = 0
        while not self.f(1):
            zeros += 1
            if zeros >= 32:
                return (1 << 32) - 1
        return self.f(zeros) + (1 << zeros) - 1


def _leb128(data: bytes, pos: int) -> tuple[int, int]:
    """(value, next position) of the ``leb128()`` at ``pos`` (§4.10.5: at most 8 bytes)."""
    value = 0
    for i in range(8):
        if pos + i >= len(data):
            raise ValueError("AV1 OBU: truncated size")
        byte = data[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, pos + i + 1
    raise ValueError("AV1 OBU: a size over 8 bytes")


def obus(data: bytes):
    """Yield ``(obu_type, payload)`` of each OBU in ``data`` (§5.3.1; an OBU without a size field
    runs to the end). ValueError for a set forbidden bit or a size past the end."""
    pos = 0
    while pos < len(data):
        header = data[pos]
        if header & 0x80:
            raise ValueError("AV1 OBU: forbidden bit set")
        kind, extension, has_size = (header >> 3) & 15, header & 4, header & 2
        pos += 2 if extension else 1
        if has_size:
            size, pos = _leb128(data, pos)
        else:
            size = len(data) - pos
        if pos + size > len(data):
            raise ValueError(f"AV1 OBU: {size} bytes declared, {len(data) - pos} left")
        yield kind, data[pos:pos + size]
        pos += size


def max_frame_size(header: bytes) -> tuple[int, int]:
    """(width, height) in pixels, the largest frame a sequence header OBU's payload allows (§5.5.1)."""
    b = _Bits(header)
    b.f(3)  # seq_profile
    b.f(1)  # still_picture
    if b.f(1):  # reduced_still_picture_header
        b.f(5)  # seq_level_idx[0]
    else:
        decoder_model_info = False
        buffer_delay_length = 0
        if b.f(1):  # timing_info_present_flag
            b.f(32), b.f(32)  # num_units_in_display_tick, time_scale
            if b.f(1):  # equal_picture_interval
                b.uvlc()
            decoder_model_info = bool(b.f(1))
            if decoder_model_info:
                buffer_delay_length = b.f(5) + 1
                b.f(32), b.f(5), b.f(5)
        initial_display_delay = b.f(1)
        for _ in range(b.f(5) + 1):  # operating_points_cnt_minus_1
            b.f(12)  # operating_point_idc
            if b.f(5) > 7:  # seq_level_idx
                b.f(1)  # seq_tier
            if decoder_model_info and b.f(1):  # decoder_model_present_for_this_op
                b.f(buffer_delay_length), b.f(buffer_delay_length), b.f(1)
            if initial_display_delay and b.f(1):
                b.f(4)
    width_bits, height_bits = b.f(4) + 1, b.f(4) + 1
    return b.f(width_bits) + 1, b.f(height_bits) + 1


def avif_frame_size(data: bytes) -> tuple[int, int] | None:
    """The largest (width, height) any ``av01`` item or first track sample of ``data`` declares in
    its sequence headers (by area), or None when none has one (libavif then fails on its own) or
    ``data`` is not an ISOBMFF file (no ``ftyp`` box first).

    ValueError, naming what is wrong, when a container box, OBU or sequence header is
    malformed: libavif might read it differently, so the caller refuses the file.
    """
    if data[4:8] != b"ftyp":
        return None
    largest = None
    for payload in av01_item_payloads(data) + av01_first_samples(data):
        for kind, body in obus(payload):
            if kind == OBU_SEQUENCE_HEADER:
                size = max_frame_size(body)
                if largest is None or size[0] * size[1] > largest[0] * largest[1]:
                    largest = size
    return largest


def read_avif_header(data: bytes, max_pixels: int, limits: ImageLimits) -> dict | None:
    """Check an AVIF file before libavif decodes it; return its primary item's ``nclx`` colour or None.

    ``max_pixels`` and ``limits`` apply to :func:`avif_frame_size`'s frame, the one
    dav1d will allocate, not to the ``ispe`` size Pillow reports. The ``nclx`` dict
    (:func:`.isobmff.primary_nclx`) is returned because Pillow does not read it.
    Raises ProcessingError: ``too_many_pixels``, ``aspect_ratio``,
    ``too_large_to_decode``, or ``corrupt_image`` for a structure we cannot read.
    """
    try:
        frame, nclx = avif_frame_size(data), primary_nclx(data)
    except ValueError as exc:
        raise ProcessingError(CORRUPT_IMAGE, f"The file looks like AVIF but its structure is damaged ({exc}).") from exc
    if frame:
        check_size(frame, max_pixels, limits)
        check_decode_bytes(estimate_decode_bytes(frame, "RGBA", "AVIF"), frame, limits.max_decode_bytes)
    return nclx
