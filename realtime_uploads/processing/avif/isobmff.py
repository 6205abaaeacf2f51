"""What an AVIF file will make libavif decode and allocate, read without a decoder (stdlib only).

An AVIF's declared size (the primary item's ``ispe``, which Pillow reports) is
only a claim: libavif hands each coded payload to dav1d, which allocates the
frame the AV1 headers declare (:mod:`.av1` reads them from the payloads found
here), allocates a grid's canvas from the grid's own ``output_width`` and
``output_height``, and scales every tile and alpha plane to its own ``ispe``.
:func:`read_container` gathers all of these, mirroring how libavif reads the
boxes where the two could differ (``infe`` counted by ``entry_count``, track
tables), and refusing what libavif refuses or could read otherwise.

Layouts: ISO/IEC 14496-12 (ISOBMFF) §4.2 (box header), §8.3.2 (``tkhd``),
§8.5.2 (``stsd``), §8.7.3 (``stsz``), §8.7.5 (``stco``/``co64``), §8.11.3
(``iloc``), §8.11.6 (``iinf``/``infe``), §8.11.11 (``idat``); ISO/IEC 23008-12
(HEIF) §6.5.3 (``ispe``), §6.5.5 (``colr``), §6.6.2.3 (``grid``), §9.3
(``ipma``); the AV1 Image File Format §2.1 (``av01`` items) and §3 (sequences).
Every read is bounds-checked: a truncated or inconsistent structure raises
:class:`ValueError` naming the box. Work and memory are bounded by the file's
size: payloads are views, never copies of overlapping data.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from realtime_uploads.processing.avif.boxes import Reader, boxes, children, concat, one

MAX_EXTENTS = 100_000  # in all iloc entries together: an extent may cost 0 bytes of iloc
MAX_TRACKS = 16  # an AVIF sequence has a colour track and maybe an alpha track


@dataclass
class Container:
    """What :func:`read_container` found: ``items`` (the coded bytes of the ``av01`` items, each with
    the number of items that share them), ``samples`` (of the first sample of each ``av01`` track; libavif
    decodes the items or the tracks, not both), ``sizes`` (every (width, height) libavif may allocate
    from the boxes alone: each ``ispe``, grid output and track header), ``nclx`` (the primary item's
    ``colr nclx`` as pi-heif reports a HEIC's, or None)."""

    items: list[tuple[object, int]] = field(default_factory=list)  # (payload, how many items share it)
    samples: list = field(default_factory=list)
    sizes: list[tuple[int, int]] = field(default_factory=list)
    nclx: dict | None = None

    @property
    def payloads(self) -> list:
        """Every distinct payload: the items', then the first samples'."""
        return [payload for payload, _ in self.items] + self.samples


def read_container(data: bytes) -> Container:
    """Read the top-level ``meta`` and ``moov`` of an ISOBMFF file. ValueError when malformed."""
    view, found = memoryview(data), Container()
    top: dict[bytes, tuple[int, int]] = {}
    for kind, s, e in boxes(view, lenient=True):
        top.setdefault(kind, (s, e))
    if b"meta" in top:
        _read_meta(view, *top[b"meta"], found)
    if b"moov" in top:
        seen: set[tuple[int, int]] = set()
        for number, (stbl, tkhd) in enumerate(_tracks(view, *top[b"moov"])):
            if number >= MAX_TRACKS:
                raise ValueError(f"moov: over {MAX_TRACKS} tracks")
            _read_track(view, stbl, tkhd, found, seen)
    return found


def _read_meta(data, start: int, end: int, found: Container) -> None:
    meta = children(data, start + 4, end)  # meta is a FullBox
    iinf, iloc, idat, pitm, iprp = (one(meta, k, "meta") for k in (b"iinf", b"iloc", b"idat", b"pitm", b"iprp"))
    types = _item_types(data, *iinf) if iinf else {}
    wanted = {item for item, kind in types.items() if kind in (b"av01", b"grid")}
    extents = _item_extents(data, *iloc, wanted) if iloc else {}
    shared: dict[tuple, int] = {}  # (method, extents) -> index in found.items: tiles sharing bytes read once
    total = 0
    for item in sorted(wanted & extents.keys()):
        method, places = extents[item]
        source = data[idat[0]:idat[1]] if method == 1 and idat else data
        if method == 1 and not idat:
            raise ValueError(f"item {item}: stored in an idat the file does not have")
        key = (method, tuple(places))
        if types[item] == b"grid":
            found.sizes.append(_grid_size(concat(source, places, f"grid item {item}", limit=12), item))
        elif key in shared:
            payload, count = found.items[shared[key]]
            found.items[shared[key]] = (payload, count + 1)
        else:
            total += sum(length for _, length in places)
            if total > len(data):  # items of a real file never overlap: so reading stays O(file size)
                raise ValueError("meta: av01 items overlap one another")
            shared[key] = len(found.items)
            found.items.append((concat(source, places, f"item {item}"), 1))
    if iprp:
        properties, associations = _properties(data, *iprp)
        found.sizes += [_ispe(data, s, e) for kind, s, e in properties if kind == b"ispe"]
        if pitm:
            head = Reader(data, *pitm, "pitm")
            primary = head.uint(2 if head.full_box()[0] == 0 else 4)
            found.nclx = _nclx(data, properties, associations.get(primary, []))


def _item_types(data, start: int, end: int) -> dict[int, bytes]:
    """item_ID -> item_type of the ``entry_count`` ``infe`` boxes of an ``iinf`` (§8.11.6), as libavif counts."""
    head = Reader(data, start, end, "iinf")
    version, _ = head.full_box()
    count = head.uint(2 if version == 0 else 4)
    types: dict[int, bytes] = {}
    walk = boxes(data, head.pos, end)
    for _ in range(count):
        kind, s, e = next(walk, (None, 0, 0))
        if kind != b"infe":
            raise ValueError(f"box iinf: entry {len(types) + 1} of {count} is {kind!r}, not an infe")
        infe = Reader(data, s, e, "infe")
        version, _ = infe.full_box()
        if version < 2:
            continue
        item = infe.uint(2 if version == 2 else 4)
        infe.uint(2)  # item_protection_index
        if item in types:
            raise ValueError(f"box iinf: item {item} twice")
        types[item] = bytes(infe.uint(4).to_bytes(4, "big"))
    return types


def _item_extents(data, start: int, end: int, wanted: set[int]) -> dict[int, tuple[int, list[tuple[int, int]]]]:
    """item_ID -> (construction_method, [(offset, length)]) of the ``wanted`` items of an ``iloc`` (§8.11.3)."""
    r = Reader(data, start, end, "iloc")
    version, _ = r.full_box()
    if version > 2:
        raise ValueError(f"box iloc: version {version}")
    sizes = r.uint(2)
    offset_size, length_size, base_size, index_size = sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15, sizes & 15
    if version == 0:
        index_size = 0
    if any(n not in (0, 4, 8) for n in (offset_size, length_size, base_size, index_size)):
        raise ValueError("box iloc: a field size other than 0, 4 or 8")
    items, total = {}, 0
    for _ in range(r.uint(2 if version < 2 else 4)):
        item = r.uint(2 if version < 2 else 4)
        method = r.uint(2) & 15 if version in (1, 2) else 0
        r.uint(2)  # data_reference_index
        base, count = r.uint(base_size), r.uint(2)
        total += count
        if total > MAX_EXTENTS:
            raise ValueError(f"box iloc: over {MAX_EXTENTS} extents")
        places = []
        for _ in range(count):
            r.uint(index_size)
            places.append((base + r.uint(offset_size), r.uint(length_size)))
        if item in wanted:
            if method not in (0, 1):  # 2, from other items: libavif refuses it too
                raise ValueError(f"item {item}: construction_method {method}")
            items[item] = (method, places)
    return items


def _grid_size(payload, item: int) -> tuple[int, int]:
    r = Reader(payload, 0, len(payload), f"grid item {item}")
    r.uint(1)  # version
    wide = r.uint(1) & 1
    r.uint(1), r.uint(1)  # rows_minus_one, columns_minus_one
    return r.uint(4 if wide else 2), r.uint(4 if wide else 2)


def _properties(data, start: int, end: int):
    """(``ipco``'s properties as ``(type, start, end)``, 1-based; item_ID -> property indices of every ``ipma``)."""
    iprp = children(data, start, end)
    ipco = one(iprp, b"ipco", "iprp")
    properties = list(boxes(data, *ipco)) if ipco else []
    associations: dict[int, list[int]] = {}
    for s, e in iprp.get(b"ipma", []):
        r = Reader(data, s, e, "ipma")
        version, flags = r.full_box()
        for _ in range(r.uint(4)):
            item = r.uint(2 if version < 1 else 4)
            indices = [r.uint(2 if flags & 1 else 1) & (0x7FFF if flags & 1 else 0x7F) for _ in range(r.uint(1))]
            associations.setdefault(item, []).extend(indices)
    return properties, associations


def _ispe(data, start: int, end: int) -> tuple[int, int]:
    r = Reader(data, start, end, "ispe")
    r.full_box()
    return r.uint(4), r.uint(4)


def _nclx(data, properties, indices: list[int]) -> dict | None:
    for index in indices:  # 1-based; 0 means "no property"
        if 0 < index <= len(properties) and properties[index - 1][0] == b"colr":
            _, s, e = properties[index - 1]
            if bytes(data[s:s + 4]) == b"nclx" and e - s >= 11:
                primaries, transfer, matrix = struct.unpack(">HHH", data[s + 4:s + 10])
                return {"color_primaries": primaries, "transfer_characteristics": transfer,
                        "matrix_coefficients": matrix, "full_range_flag": data[s + 10] >> 7}
    return None


def _tracks(data, start: int, end: int) -> Iterator[tuple[tuple[int, int], tuple[int, int] | None]]:
    """(stbl, tkhd) of each ``trak`` of a ``moov``, along the fixed path moov/trak/mdia/minf/stbl."""
    for kind, s, e in boxes(data, start, end):
        if kind != b"trak":
            continue
        trak = children(data, s, e)
        mdia = one(trak, b"mdia", "trak")
        minf = one(children(data, *mdia), b"minf", "mdia") if mdia else None
        stbl = one(children(data, *minf), b"stbl", "minf") if minf else None
        if stbl:
            yield stbl, one(trak, b"tkhd", "trak")


def _read_track(data, stbl: tuple[int, int], tkhd: tuple[int, int] | None, found: Container,
                seen: set[tuple[int, int]]) -> None:
    """An ``av01`` track's first sample (the first chunk's first bytes, §8.7.5, of the size ``stsz`` gives
    it, §8.7.3: libavif ignores ``sample_count`` when ``sample_size`` is set) and its ``tkhd`` size."""
    table = children(data, *stbl)
    stsd, stsz, stco, co64 = (one(table, k, "stbl") for k in (b"stsd", b"stsz", b"stco", b"co64"))
    if stsd is None or not any(kind == b"av01" for kind, _, _ in boxes(data, stsd[0] + 8, stsd[1])):
        return
    if stco and co64:
        raise ValueError("box stbl: both stco and co64")
    if tkhd:
        r = Reader(data, *tkhd, "tkhd")
        version, _ = r.full_box()
        r.pos += (32 if version == 1 else 20) + 52  # times, track_ID, duration; reserved, layer ... matrix
        found.sizes.append((r.uint(4) >> 16, r.uint(4) >> 16))  # 16.16 fixed point
    chunks = stco or co64
    if stsz is None or chunks is None:
        return
    sizes = Reader(data, stsz[0] + 4, stsz[1], "stsz")
    size, count = sizes.uint(4), sizes.uint(4)
    if not size:
        size = sizes.uint(4) if count else 0
    offsets = Reader(data, chunks[0] + 4, chunks[1], "co64" if co64 else "stco")
    if size and offsets.uint(4):
        place = (offsets.uint(8 if co64 else 4), size)
        if place not in seen:  # tracks sharing a sample are read once; distinct ones never overlap
            seen.add(place)
            if sum(length for _, length in seen) > len(data):
                raise ValueError("moov: first samples overlap one another")
            found.samples.append(concat(data, [place], "first sample"))
