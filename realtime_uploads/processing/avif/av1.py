"""The largest frame an AVIF makes libavif and dav1d allocate, read before they run (stdlib only).

Pillow reports an AVIF's size from its primary ``ispe`` property, but dav1d
allocates the frame the AV1 headers declare: the sequence header's
``max_frame_width_minus_1``/``max_frame_height_minus_1``, or a frame header's
own size when it sets ``frame_size_override_flag`` (dav1d does not hold it to
the maximum). libavif adds a grid's canvas and scales tiles and alpha to their
own ``ispe`` (:mod:`.isobmff`). A 1 KB file declaring 100 x 100 decoded a
6000 x 6000 frame (77 MB): :func:`read_avif_header` applies the limits to the
largest of them all.

Layouts: AV1 Bitstream & Decoding Process Specification §5.3 (OBU header,
``leb128``), §5.5 (sequence header OBU), §5.9.2 and §5.9.5 (uncompressed
header up to ``frame_size()``), §4.10.3 (``uvlc``).
"""

from __future__ import annotations

from dataclasses import dataclass

from realtime_uploads.core.errors import CORRUPT_IMAGE, ProcessingError
from realtime_uploads.processing.avif.isobmff import Container, read_container
from realtime_uploads.processing.image.limits import ImageLimits, check_decode_bytes, check_size

OBU_SEQUENCE_HEADER, OBU_FRAME_HEADER, OBU_FRAME, OBU_REDUNDANT_FRAME_HEADER = 1, 3, 6, 7
#: dav1d reads a redundant frame header as the frame header when none is pending: all three are counted.
FRAME_HEADERS = (OBU_FRAME_HEADER, OBU_FRAME, OBU_REDUNDANT_FRAME_HEADER)
KEY_FRAME, INTRA_ONLY_FRAME, SWITCH_FRAME = 0, 2, 3
SELECT = 2  # SELECT_SCREEN_CONTENT_TOOLS, SELECT_INTEGER_MV
MAX_OBUS = 200_000  # in one file's payloads together (a tile per OBU: at most 4096 a frame)
MAX_HEADERS = 1024  # sequence and frame headers parsed in one file (a still has one of each per tile)


class _Bits:
    """MSB-first bit reader (AV1 §4.10.2 ``f(n)``); ValueError past the end."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def f(self, n: int) -> int:
        if self.pos + n > len(self.data) * 8:
            raise ValueError("AV1 header: truncated")
        value = 0
        for _ in range(n):
            value = (value << 1) | ((self.data[self.pos >> 3] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def uvlc(self) -> int:  # §4.10.3
        zeros = 0
        while not self.f(1):
            zeros += 1
            if zeros >= 32:  # the value would be 2^32 - 1, which dav1d refuses: so do we, without reading on
                raise ValueError("AV1 header: a uvlc() of 32 leading zeros")
        return self.f(zeros) + (1 << zeros) - 1


def _leb128(data, pos: int) -> tuple[int, int]:
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


def obus(data):
    """Yield ``(obu_type, temporal_id, spatial_id, payload)`` of each OBU in ``data`` (§5.3.1; without a
    size field an OBU runs to the end). ValueError for a set forbidden bit or a size past the end."""
    pos = 0
    while pos < len(data):
        header = data[pos]
        if header & 0x80:
            raise ValueError("AV1 OBU: forbidden bit set")
        kind, temporal, spatial = (header >> 3) & 15, 0, 0
        if header & 4:  # obu_extension_flag
            if pos + 1 >= len(data):
                raise ValueError("AV1 OBU: truncated extension header")
            temporal, spatial = data[pos + 1] >> 5, (data[pos + 1] >> 3) & 3
        pos += 2 if header & 4 else 1
        if header & 2:  # obu_has_size_field
            size, pos = _leb128(data, pos)
        else:
            size = len(data) - pos
        if pos + size > len(data):
            raise ValueError(f"AV1 OBU: {size} bytes declared, {len(data) - pos} left")
        yield kind, temporal, spatial, data[pos:pos + size]
        pos += size


@dataclass(frozen=True)
class SequenceHeader:
    """The fields of a sequence header OBU (§5.5) that size frames or that frame headers depend on."""

    max_width: int
    max_height: int
    width_bits: int
    height_bits: int
    reduced: bool = False
    decoder_model_info: bool = False
    equal_picture_interval: bool = False
    presentation_time_bits: int = 0
    removal_time_bits: int = 0
    operating_points: tuple[tuple[int, bool], ...] = ()  # (operating_point_idc, decoder_model_present)
    frame_id_bits: int = 0
    order_hint_bits: int = 0
    force_screen_content_tools: int = SELECT
    force_integer_mv: int = SELECT


def sequence_header(payload) -> SequenceHeader:
    """Parse a sequence header OBU's payload (§5.5.1) as far as ``order_hint_bits``. ValueError if truncated."""
    b = _Bits(payload)
    b.f(3), b.f(1)  # seq_profile, still_picture
    reduced = bool(b.f(1))
    model = equal = False
    presentation = removal = delay_bits = 0
    points: list[tuple[int, bool]] = []
    if reduced:
        b.f(5)  # seq_level_idx[0]
    else:
        if b.f(1):  # timing_info_present_flag
            b.f(32), b.f(32)  # num_units_in_display_tick, time_scale
            equal = bool(b.f(1))
            if equal:
                b.uvlc()  # num_ticks_per_picture_minus_1
            model = bool(b.f(1))
            if model:  # decoder_model_info()
                delay_bits = b.f(5) + 1
                b.f(32)  # num_units_in_decoding_tick
                removal, presentation = b.f(5) + 1, b.f(5) + 1
        display_delay = b.f(1)
        for _ in range(b.f(5) + 1):  # operating_points_cnt_minus_1
            idc = b.f(12)
            if b.f(5) > 7:  # seq_level_idx
                b.f(1)  # seq_tier
            present = bool(model and b.f(1))
            if present:  # operating_parameters_info()
                b.f(delay_bits), b.f(delay_bits), b.f(1)
            if display_delay and b.f(1):
                b.f(4)
            points.append((idc, present))
    width_bits, height_bits = b.f(4) + 1, b.f(4) + 1
    width, height = b.f(width_bits) + 1, b.f(height_bits) + 1
    frame_id_bits = 0
    if not reduced and b.f(1):  # frame_id_numbers_present_flag
        delta, additional = b.f(4), b.f(3)
        frame_id_bits = additional + delta + 3
    b.f(3)  # use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
    tools, integer_mv, hint_bits = SELECT, SELECT, 0
    if not reduced:
        b.f(4)  # interintra, masked compound, warped motion, dual filter
        order_hint = b.f(1)
        if order_hint:
            b.f(2)  # enable_jnt_comp, enable_ref_frame_mvs
        tools = SELECT if b.f(1) else b.f(1)
        integer_mv = (SELECT if b.f(1) else b.f(1)) if tools else SELECT
        hint_bits = b.f(3) + 1 if order_hint else 0
    return SequenceHeader(width, height, width_bits, height_bits, reduced, model, equal, presentation, removal,
                          tuple(points), frame_id_bits, hint_bits, tools, integer_mv)


def frame_size(seq: SequenceHeader, payload, temporal: int = 0, spatial: int = 0) -> tuple[int, int] | None:
    """The size of the frame a frame header OBU's payload (or an OBU_FRAME's) decodes: its own when it
    overrides (§5.9.5), else ``seq``'s maximum; None when it shows an existing frame. For an
    overriding inter frame (sized after its references, §5.9.7) the most its size fields can hold,
    2^bits per side. ValueError if truncated."""
    largest = seq.max_width, seq.max_height
    if seq.reduced:
        return largest  # frame_size_override_flag is 0 (§5.9.2)
    b = _Bits(payload)
    if b.f(1):  # show_existing_frame
        return None
    frame_type, show = b.f(2), b.f(1)
    intra = frame_type in (KEY_FRAME, INTRA_ONLY_FRAME)
    if show and seq.decoder_model_info and not seq.equal_picture_interval:
        b.f(seq.presentation_time_bits)  # temporal_point_info()
    if not show:
        b.f(1)  # showable_frame
    error_resilient = 1 if frame_type == SWITCH_FRAME or (frame_type == KEY_FRAME and show) else b.f(1)
    b.f(1)  # disable_cdf_update
    tools = b.f(1) if seq.force_screen_content_tools == SELECT else seq.force_screen_content_tools
    if tools and seq.force_integer_mv == SELECT:
        b.f(1)  # force_integer_mv
    b.f(seq.frame_id_bits)  # current_frame_id
    if not (frame_type == SWITCH_FRAME or b.f(1)):  # frame_size_override_flag
        return largest
    if not intra:
        return 1 << seq.width_bits, 1 << seq.height_bits
    b.f(seq.order_hint_bits)  # order_hint; an intra frame has no primary_ref_frame
    if seq.decoder_model_info and b.f(1):  # buffer_removal_time_present_flag
        for idc, present in seq.operating_points:
            if present and (idc == 0 or ((idc >> temporal) & 1 and (idc >> (spatial + 8)) & 1)):
                b.f(seq.removal_time_bits)
    refresh = 0xFF if frame_type == KEY_FRAME and show else b.f(8)
    if refresh != 0xFF and error_resilient and seq.order_hint_bits:
        b.f(8 * seq.order_hint_bits)  # ref_order_hint[8]
    return b.f(seq.width_bits) + 1, b.f(seq.height_bits) + 1


def avif_frame_size(data: bytes) -> tuple[int, int] | None:
    """The largest (width, height), by area, that ``data`` makes libavif or dav1d allocate: over every
    ``av01`` item's and first track sample's sequence and frame headers, and every ``ispe``, grid output
    and track header size. None when ``data`` is not an ISOBMFF file (no ``ftyp`` first) or holds none.

    ValueError, naming what is wrong, when a box, OBU or header is malformed: libavif
    might read it otherwise, so the caller refuses the file.
    """
    return measure(read_container(data)).largest if data[4:8] == b"ftyp" else None


@dataclass(frozen=True)
class Measure:
    """``largest``: the largest single size (width, height) to be allocated, or None; ``frame_pixels``: the
    pixels of every frame decoded, summed (each item's, or each track's first sample's, whichever is more):
    dav1d keeps reference frames and libavif may decode tiles with a codec each, so they add up."""

    largest: tuple[int, int] | None
    frame_pixels: int

    def decode_bytes(self) -> int:
        """Estimated peak bytes: 8 a pixel of the largest size (the RGB(A) buffer and Pillow's copy) and 4
        a pixel of every frame (the codec's planes); one plain image is 12 a pixel, as for WebP and HEIF."""
        if self.largest is None:
            return 0
        return 8 * self.largest[0] * self.largest[1] + 4 * max(self.frame_pixels, self.largest[0] * self.largest[1])


def measure(container: Container) -> Measure:
    """:class:`Measure` of a :func:`.isobmff.read_container` result. ValueError for a malformed header."""
    counts, sequences = {"obus": 0, "headers": 0}, []
    items = [(*_walk(payload, sequences, counts), copies) for payload, copies in container.items]
    samples = [(*_walk(payload, sequences, counts), 1) for payload in container.samples]

    def decoded(frames, orphans) -> list[tuple[int, int]]:
        # A frame before any sequence header in its payload is decoded with another payload's: tiles of a
        # grid share one dav1d. Each counts at the largest size any of the file's sequence headers gives it.
        for body, temporal, spatial in orphans:
            options = [size for seq in sequences if (size := frame_size(seq, body, temporal, spatial))]
            frames = frames + [max(options, key=lambda s: s[0] * s[1])] if options else frames
        return frames

    def pixels(walked) -> int:
        return sum(copies * sum(w * h for w, h in decoded(frames, orphans)) for frames, orphans, copies in walked)

    sizes = list(container.sizes) + [(seq.max_width, seq.max_height) for seq in sequences]
    sizes += [size for frames, orphans, _ in items + samples for size in decoded(frames, orphans)]
    largest = max(sizes, key=lambda s: s[0] * s[1], default=None)
    return Measure(largest, max(pixels(items), pixels(samples)))


def _walk(payload, sequences: list, counts: dict) -> tuple[list[tuple[int, int]], list[tuple]]:
    """(the sizes of the frames ``payload`` decodes, the frame headers before its first sequence header);
    its sequence headers are added to ``sequences``."""
    seq, frames, orphans = None, [], []
    for kind, temporal, spatial, body in obus(payload):
        counts["obus"] += 1
        if counts["obus"] > MAX_OBUS:
            raise ValueError(f"AV1: over {MAX_OBUS} OBUs")
        if kind != OBU_SEQUENCE_HEADER and kind not in FRAME_HEADERS:
            continue
        counts["headers"] += 1
        if counts["headers"] > MAX_HEADERS:
            raise ValueError(f"AV1: over {MAX_HEADERS} sequence and frame headers")
        if kind == OBU_SEQUENCE_HEADER:
            seq = sequence_header(body)
            sequences.append(seq)
        elif seq is None:
            orphans.append((body, temporal, spatial))
        elif size := frame_size(seq, body, temporal, spatial):
            frames.append(size)
    return frames, orphans


def read_avif_header(data: bytes, max_pixels: int, limits: ImageLimits) -> dict | None:
    """Check an AVIF file before libavif decodes it; return its primary item's ``nclx`` colour or None.

    ``max_pixels`` and ``limits`` apply to :func:`avif_frame_size`'s frame, not to the
    ``ispe`` size Pillow reports. The ``nclx`` dict (:class:`.isobmff.Container`) is
    returned because Pillow does not read it. Raises ProcessingError:
    ``too_many_pixels``, ``aspect_ratio``, ``too_large_to_decode``, or
    ``corrupt_image`` for a structure we cannot read.
    """
    try:
        container = read_container(data)
        found = measure(container)
    except ValueError as exc:
        raise ProcessingError(CORRUPT_IMAGE, f"The file looks like AVIF but its structure is damaged ({exc}).") from exc
    if found.largest:
        check_size(found.largest, max_pixels, limits)
        check_decode_bytes(found.decode_bytes(), found.largest, limits.max_decode_bytes)
    return container.nclx
