"""Reading ISOBMFF boxes safely (stdlib only): the primitives :mod:`.isobmff` is built on.

ISO/IEC 14496-12 §4.2 (box header: 32-bit size and type, a 64-bit
``largesize`` when size is 1, to the end when 0; a FullBox adds version and
flags). Every read is bounds-checked and raises :class:`ValueError` naming
the box; nothing reads past its data, and nothing recurses.
"""

from __future__ import annotations

from collections.abc import Iterator


def boxes(data, start: int = 0, end: int | None = None, *, lenient: bool = False) -> Iterator[tuple[bytes, int, int]]:
    """Yield ``(type, payload_start, payload_end)`` of each box in ``data[start:end]`` (§4.2).

    ``largesize`` and a size of 0 (to the end) are understood. A box whose size is
    too small or runs past ``end`` raises ValueError, or with ``lenient`` ends the walk
    (the file level: libavif stops reading once it has what it needs).
    """
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = int.from_bytes(data[pos:pos + 4], "big"), bytes(data[pos + 4:pos + 8])
        header = 8
        if size == 1 and pos + 16 <= end:
            size, header = int.from_bytes(data[pos + 8:pos + 16], "big"), 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            if lenient:
                return
            raise ValueError(f"box {kind!r}: size {size} does not fit in {end - pos} bytes")
        yield kind, pos + header, pos + size
        pos += size


def children(data, start: int, end: int) -> dict[bytes, list[tuple[int, int]]]:
    """type -> ``[(payload_start, payload_end)]`` of the boxes in ``data[start:end]``, in order."""
    found: dict[bytes, list[tuple[int, int]]] = {}
    for kind, s, e in boxes(data, start, end):
        found.setdefault(kind, []).append((s, e))
    return found


def one(found: dict, kind: bytes, where: str) -> tuple[int, int] | None:
    """The one ``kind`` box of :func:`children`'s ``found``, or None; ValueError when there are several."""
    places = found.get(kind, [])
    if len(places) > 1:  # libavif refuses a second iinf, iloc, pitm, stsz...: so do we
        raise ValueError(f"{where}: {len(places)} {kind.decode('latin-1')} boxes")
    return places[0] if places else None


class Reader:
    """Big-endian unsigned integers from ``data[pos:end]``; ValueError past ``end``."""

    def __init__(self, data, pos: int, end: int, box: str):
        self.data, self.pos, self.end, self.box = data, pos, end, box

    def uint(self, size: int) -> int:
        if self.pos + size > self.end:
            raise ValueError(f"box {self.box}: truncated")
        value = int.from_bytes(self.data[self.pos:self.pos + size], "big")
        self.pos += size
        return value

    def full_box(self) -> tuple[int, int]:
        value = self.uint(4)
        return value >> 24, value & 0xFFFFFF


def concat(source, places: list[tuple[int, int]], what: str, limit: int | None = None):
    """The bytes of ``places`` in ``source`` (at most ``limit``): a view for one extent; length 0 is no
    bytes, as libavif reads it. ValueError when the extents add up to more than ``source``."""
    if sum(length for _, length in places) > len(source):
        raise ValueError(f"{what}: its extents add up to more than the {len(source)} bytes they are in")
    for offset, length in places:
        if offset + length > len(source):
            raise ValueError(f"{what}: an extent ({offset}, {length}) runs past {len(source)} bytes")
    if len(places) == 1:
        offset, length = places[0]
        return source[offset:offset + (length if limit is None else min(length, limit))]
    parts, left = [], len(source) if limit is None else limit
    for offset, length in places:
        parts.append(bytes(source[offset:offset + min(length, left)]))
        left -= len(parts[-1])
    return b"".join(parts)
