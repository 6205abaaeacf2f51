"""Find the coded AV1 payloads of an AVIF file without a decoder (stdlib only).

An AVIF's declared size (the ``ispe`` property Pillow reports) is only a claim:
libavif hands each payload to dav1d, which allocates the frame its AV1 sequence
header declares. :mod:`.av1` reads those headers from the payloads found here.

Layouts: ISO/IEC 14496-12 (ISOBMFF) §4.2 (box header), §8.11.3 (``iloc``),
§8.11.6 (``iinf``/``infe``), §8.11.11 (``idat``), §8.5.2 (``stsd``), §8.7.3
(``stsz``), §8.7.5 (``stco``/``co64``); the AV1 Image File Format spec §2.1
(item type ``av01``) and §3 (image sequences: an ``av01`` sample entry).
Everything is bounds-checked: a truncated or inconsistent structure raises
:class:`ValueError` naming the box, never reads past the data.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

_TRACK_PATH = (b"moov", b"trak", b"mdia", b"minf", b"stbl")


def boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """Yield ``(type, payload_start, payload_end)`` of each box in ``data[start:end]`` (§4.2).

    A 64-bit ``largesize`` and a size of 0 (to the end) are understood; ValueError
    for a box whose size is too small or runs past ``end``.
    """
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8]
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise ValueError(f"box {kind!r}: truncated largesize")
            size, header = int.from_bytes(data[pos + 8:pos + 16], "big"), 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError(f"box {kind!r}: size {size} does not fit in {end - pos} bytes")
        yield kind, pos + header, pos + size
        pos += size


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    return next(((s, e) for k, s, e in boxes(data, start, end) if k == kind), None)


class _Reader:
    """Big-endian unsigned integers from ``data[pos:end]``; ValueError past ``end``."""

    def __init__(self, data: bytes, pos: int, end: int, box: str):
        self.data, self.pos, self.end, self.box = data, pos, end, box

    def uint(self, size: int) -> int:
        if self.pos + size > self.end:
            raise ValueError(f"box {self.box}: truncated")
        value = int.from_bytes(self.data[self.pos:self.pos + size], "big")
        self.pos += size
        return value


def _item_types(data: bytes, start: int, end: int) -> dict[int, bytes]:
    """item_ID -> item_type of each ``infe`` of version 2 or 3 in an ``iinf`` (§8.11.6)."""
    head = _Reader(data, start, end, "iinf")
    version = head.uint(4) >> 24
    head.uint(2 if version == 0 else 4)  # entry_count: the boxes that follow are counted instead
    types = {}
    for kind, s, e in boxes(data, head.pos, end):
        if kind != b"infe":
            continue
        infe = _Reader(data, s, e, "infe")
        version = infe.uint(4) >> 24
        if version >= 2:
            item_id = infe.uint(2 if version == 2 else 4)
            infe.uint(2)  # item_protection_index
            types[item_id] = data[infe.pos:infe.pos + 4]
    return types


def _item_extents(data: bytes, start: int, end: int) -> dict[int, tuple[int, list[tuple[int, int]]]]:
    """item_ID -> (construction_method, [(offset, length)]) from an ``iloc`` (§8.11.3); length 0: to the end."""
    r = _Reader(data, start, end, "iloc")
    version = r.uint(4) >> 24
    if version > 2:
        raise ValueError(f"box iloc: version {version}")
    sizes = r.uint(2)
    offset_size, length_size, base_size, index_size = sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15, sizes & 15
    if version == 0:
        index_size = 0
    if any(n not in (0, 4, 8) for n in (offset_size, length_size, base_size, index_size)):
        raise ValueError("box iloc: a field size other than 0, 4 or 8")
    items = {}
    for _ in range(r.uint(2 if version < 2 else 4)):
        item_id = r.uint(2 if version < 2 else 4)
        method = r.uint(2) & 15 if version in (1, 2) else 0
        r.uint(2)  # data_reference_index
        base = r.uint(base_size)
        extents = []
        for _ in range(r.uint(2)):
            r.uint(index_size)
            extents.append((base + r.uint(offset_size), r.uint(length_size)))
        items[item_id] = (method, extents)
    return items


def _concat(source: bytes, extents: list[tuple[int, int]], what: str) -> bytes:
    parts = []
    for offset, length in extents:
        stop = len(source) if length == 0 else offset + length
        if offset > len(source) or stop > len(source):
            raise ValueError(f"{what}: an extent ({offset}, {length}) runs past {len(source)} bytes")
        parts.append(source[offset:stop])
    return b"".join(parts)


def av01_item_payloads(data: bytes) -> list[bytes]:
    """The coded bytes of every ``av01`` item in the file's top-level ``meta`` (§8.11.3 construction
    methods 0, file offsets, and 1, ``idat`` offsets; an item built from other items, method 2, is
    made of ones listed here). Empty when the file has no ``meta``; ValueError when it is malformed."""
    meta = _child(data, 0, len(data), b"meta")
    if meta is None:
        return []
    start, end = meta[0] + 4, meta[1]  # meta is a FullBox
    iinf, iloc, idat = (_child(data, start, end, k) for k in (b"iinf", b"iloc", b"idat"))
    if iinf is None or iloc is None:
        return []
    types = _item_types(data, *iinf)
    payloads = []
    for item_id, (method, extents) in _item_extents(data, *iloc).items():
        if types.get(item_id) != b"av01" or method == 2:
            continue
        if method == 1:
            if idat is None:
                raise ValueError(f"item {item_id}: stored in an idat the file does not have")
            payloads.append(_concat(data[idat[0]:idat[1]], extents, f"item {item_id}"))
        elif method == 0:
            payloads.append(_concat(data, extents, f"item {item_id}"))
        else:
            raise ValueError(f"item {item_id}: construction_method {method}")
    return payloads


def primary_nclx(data: bytes) -> dict | None:
    """The ``nclx`` colour of the primary item (ISO/IEC 23008-12 §6.5.5 ``colr``, §6.5 ``ipma``), as
    pi-heif reports it: ``color_primaries``, ``transfer_characteristics``, ``matrix_coefficients``
    (ITU-T H.273 code points), ``full_range_flag``. None when the primary item has none (an ICC
    profile, ``prof``, is Pillow's to read); ValueError when a box is truncated."""
    meta = _child(data, 0, len(data), b"meta")
    if meta is None:
        return None
    start, end = meta[0] + 4, meta[1]
    pitm, iprp = _child(data, start, end, b"pitm"), _child(data, start, end, b"iprp")
    if pitm is None or iprp is None:
        return None
    head = _Reader(data, pitm[0], pitm[1], "pitm")
    primary = head.uint(2 if head.uint(4) >> 24 == 0 else 4)
    ipco, ipma = _child(data, *iprp, b"ipco"), _child(data, *iprp, b"ipma")
    if ipco is None or ipma is None:
        return None
    properties = list(boxes(data, *ipco))
    r = _Reader(data, ipma[0], ipma[1], "ipma")
    version_flags = r.uint(4)
    version, wide = version_flags >> 24, version_flags & 1
    for _ in range(r.uint(4)):
        item_id = r.uint(2 if version < 1 else 4)
        indices = [r.uint(2 if wide else 1) & (0x7FFF if wide else 0x7F) for _ in range(r.uint(1))]
        if item_id != primary:
            continue
        for index in indices:  # 1-based; 0 means "no property"
            if 0 < index <= len(properties) and properties[index - 1][0] == b"colr":
                _, s, e = properties[index - 1]
                if data[s:s + 4] == b"nclx" and e - s >= 11:
                    primaries, transfer, matrix = struct.unpack(">HHH", data[s + 4:s + 10])
                    return {"color_primaries": primaries, "transfer_characteristics": transfer,
                            "matrix_coefficients": matrix, "full_range_flag": data[s + 10] >> 7}
    return None


def av01_first_samples(data: bytes) -> list[bytes]:
    """The first sample of every track whose sample description is ``av01`` (an image sequence,
    AVIF §3): the frame a still rendering decodes. The first sample starts the first chunk (§8.7.5)
    and has the size ``stsz`` gives it (§8.7.3). ValueError when a table is truncated."""
    samples = []
    for stbl in _tables(data, 0, len(data)):
        stsd, stsz = _child(data, *stbl, b"stsd"), _child(data, *stbl, b"stsz")
        chunks = _child(data, *stbl, b"stco") or _child(data, *stbl, b"co64")
        wide = chunks is not None and _child(data, *stbl, b"stco") is None
        if stsd is None or stsz is None or chunks is None:
            continue
        entries = stsd[0] + 8  # FullBox header and entry_count
        if not any(kind == b"av01" for kind, _, _ in boxes(data, entries, stsd[1])):
            continue
        sizes = _Reader(data, stsz[0] + 4, stsz[1], "stsz")
        size, count = sizes.uint(4), sizes.uint(4)
        offsets = _Reader(data, chunks[0] + 4, chunks[1], "co64" if wide else "stco")
        if not count or not offsets.uint(4):
            continue
        size = size or sizes.uint(4)
        if size:
            samples.append(_concat(data, [(offsets.uint(8 if wide else 4), size)], "first sample"))
    return samples


def _tables(data: bytes, start: int, end: int, path: tuple[bytes, ...] = _TRACK_PATH) -> Iterator[tuple[int, int]]:
    """The ``stbl`` boxes at moov/trak/mdia/minf/stbl (§8.1–8.5): a fixed path, so nesting cannot recurse deeper."""
    for kind, s, e in boxes(data, start, end):
        if kind == path[0]:
            if len(path) == 1:
                yield s, e
            else:
                yield from _tables(data, s, e, path[1:])
