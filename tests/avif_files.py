"""Hostile AVIF files, built from Pillow's own AVIF (libavif + aom) by rewriting boxes and AV1 headers.

Each builder follows the layout the product parses (ISO/IEC 14496-12, ISO/IEC
23008-12, AV1 spec §5) but is written independently of it, bit by bit, so a
test compares two readings of the spec, and libavif/dav1d decode the results
(the tests measure what they allocate).
"""

from __future__ import annotations

import struct

CONTAINERS = (b"meta", b"iprp", b"ipco", b"moov", b"trak", b"mdia", b"minf", b"stbl")


def box(kind: bytes, body: bytes, version: int | None = None, flags: int = 0) -> bytes:
    if version is not None:
        body = bytes([version]) + flags.to_bytes(3, "big") + body
    return struct.pack(">I", 8 + len(body)) + kind + body


def walk(data: bytes, start: int = 0, end: int | None = None):
    """(type, box start, payload start, end) of every box, descending into the containers above."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8]
        yield kind, pos, pos + 8, pos + size
        if kind in CONTAINERS:
            yield from walk(data, pos + 8 + (4 if kind == b"meta" else 0), pos + size)
        pos += size


def first(data: bytes, kind: bytes) -> bytes:
    """The whole first box of ``kind`` (header included)."""
    return next(data[s:e] for k, s, _, e in walk(data) if k == kind)


def item_payload(data: bytes) -> bytes:
    """The coded bytes of a Pillow AVIF's first item (iloc version 0, 4-byte offsets and lengths, one extent)."""
    iloc = first(data, b"iloc")
    assert iloc[8] == 0 and iloc[12:14] == b"\x44\x00", iloc[:16]
    offset, length = struct.unpack(">II", iloc[22:30])
    return data[offset:offset + length]


def ispe(width: int, height: int) -> bytes:
    return box(b"ispe", struct.pack(">II", width, height), version=0)


def build_avif(items, properties, associations, *, primary: int = 1, irefs: bytes = b"",
               iinf_count: int | None = None, extra_infe: bytes = b"") -> bytes:
    """An AVIF of ``items`` [(item_ID, type, data)] stored in ``mdat`` (iloc version 1, method 0; items
    whose ``data`` is the same object share one extent), ``properties`` [whole boxes, 1-based] and
    ``associations`` {item_ID: [(index, essential)]}."""
    ftyp = box(b"ftyp", b"avif\0\0\0\0avifmif1miaf")
    hdlr = box(b"hdlr", bytes(4) + b"pict" + bytes(12) + b"\0", version=0)
    pitm = box(b"pitm", struct.pack(">H", primary), version=0)
    infes = b"".join(box(b"infe", struct.pack(">HH", i, 0) + kind + b"\0", version=2) for i, kind, _ in items)
    count = len(items) if iinf_count is None else iinf_count
    iinf = box(b"iinf", struct.pack(">H", count) + infes + extra_infe, version=0)
    ipma = struct.pack(">I", len(associations))
    for item in sorted(associations):
        pairs = associations[item]
        ipma += struct.pack(">HB", item, len(pairs)) + bytes((0x80 if essential else 0) | i for i, essential in pairs)
    iprp = box(b"iprp", box(b"ipco", b"".join(properties)) + box(b"ipma", ipma, version=0))
    iref = box(b"iref", irefs, version=0) if irefs else b""

    def meta(offsets):
        body = bytes([0x44, 0x00]) + struct.pack(">H", len(items))
        for (item, _, data), offset in zip(items, offsets, strict=True):
            body += struct.pack(">HHHHII", item, 0, 0, 1, offset, len(data))
        return box(b"meta", hdlr + pitm + box(b"iloc", body, version=1) + iinf + iprp + iref, version=0)

    start = len(ftyp) + len(meta([0] * len(items))) + 8
    placed, offsets, mdat = {}, [], b""
    for _, _, data in items:
        if id(data) not in placed:
            placed[id(data)] = start + len(mdat)
            mdat += data
        offsets.append(placed[id(data)])
    return ftyp + meta(offsets) + box(b"mdat", mdat)


# --- AV1: a reduced still header rewritten as a full one whose key frame overrides its size ------------


def _bits(data: bytes) -> list[int]:
    return [(byte >> (7 - i)) & 1 for byte in data for i in range(8)]


def _bytes(bits: list[int]) -> bytes:
    bits = bits + [0] * (-len(bits) % 8)
    return bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))


def _num(value: int, n: int) -> list[int]:
    return [(value >> (n - 1 - i)) & 1 for i in range(n)]


def _leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _obus(data: bytes) -> list[tuple[int, bytes]]:
    pos, out = 0, []
    while pos < len(data):
        header = data[pos]
        pos += 2 if header & 4 else 1
        size, shift = 0, 0
        while True:
            byte = data[pos]
            pos += 1
            size, shift = size | (byte & 0x7F) << shift, shift + 7
            if not byte & 0x80:
                break
        out.append(((header >> 3) & 15, data[pos:pos + size]))
        pos += size
    return out


def obu(kind: int, payload: bytes) -> bytes:
    return bytes([(kind << 3) | 2]) + _leb128(len(payload)) + payload


def override_frame(payload: bytes, claim: tuple[int, int] = (100, 100), bits: int = 13) -> bytes:
    """Pillow's still ``payload`` (temporal delimiter, reduced sequence header, frame) recoded with a full
    sequence header whose maximum is ``claim`` and a key frame whose frame_size_override_flag carries the
    real size (AV1 §5.5.1, §5.9.2, §5.9.5): the same pixels, a different declared maximum."""
    units = _obus(payload)
    seq, frame = next(b for k, b in units if k == 1), next(b for k, b in units if k == 6)
    s = _bits(seq)
    profile, reduced, level = int("".join(map(str, s[0:3])), 2), s[4], int("".join(map(str, s[5:10])), 2)
    assert reduced == 1, "libaom writes stills with a reduced header"
    p = 10
    width_bits, height_bits = int("".join(map(str, s[p:p + 4])), 2) + 1, int("".join(map(str, s[p + 4:p + 8])), 2) + 1
    p += 8
    width = int("".join(map(str, s[p:p + width_bits])), 2) + 1
    height = int("".join(map(str, s[p + width_bits:p + width_bits + height_bits])), 2) + 1
    rest = s[p + width_bits + height_bits:]
    while rest[-1] == 0:
        rest.pop()
    rest.pop()  # trailing_one_bit
    superblock_and_intra, after = rest[:3], rest[3:]  # then enable_superres, cdef, restoration, colour...
    header = _num(profile, 3) + [1, 0] + [0, 0] + _num(0, 5) + _num(0, 12) + _num(level, 5) + ([0] if level > 7 else [])
    header += _num(bits - 1, 4) * 2 + _num(claim[0] - 1, bits) + _num(claim[1] - 1, bits)
    header += [0] + superblock_and_intra + [0, 0, 0, 0, 0] + [1, 1] + after + [1]
    f = _bits(frame)
    p = 2 + f[1]  # disable_cdf_update, allow_screen_content_tools, [force_integer_mv]
    q = p
    superres = after[0]
    used = 0
    if superres:
        used = f[q]
        q += 1 + (3 if used else 0)
    q += 1 + (32 if f[q] else 0)  # render_and_frame_size_different, render size
    if f[1] and not (superres and used):
        q += 1  # allow_intrabc
    tail = f[p:q] + ([1] if not f[0] else []) + f[q:]  # disable_frame_end_update_cdf, implied 1 when reduced
    # show_existing_frame 0, KEY_FRAME, show_frame 1; then frame_size_override_flag 1 and the real size
    new = [0, 0, 0, 1] + f[:p] + [1] + _num(width - 1, bits) + _num(height - 1, bits) + tail
    assert (len(new) - len(f)) % 8 == 0
    return b"".join(obu(1, _bytes(header)) if k == 1 else obu(6, _bytes(new)) if k == 6 else obu(k, b)
                    for k, b in units)


def hidden_key_frames(payload: bytes, count: int, bits: int = 12) -> bytes:
    """Pillow's still ``payload`` recoded as ``count`` hidden key frames (show_frame 0, each refreshing its own
    reference slot, each overriding to the real size) and a show_existing_frame: dav1d keeps every one."""
    units = _obus(payload)
    seq, frame = next(b for k, b in units if k == 1), next(b for k, b in units if k == 6)
    s = _bits(seq)
    profile, level = int("".join(map(str, s[0:3])), 2), int("".join(map(str, s[5:10])), 2)
    width_bits, height_bits = int("".join(map(str, s[10:14])), 2) + 1, int("".join(map(str, s[14:18])), 2) + 1
    width = int("".join(map(str, s[18:18 + width_bits])), 2) + 1
    height = int("".join(map(str, s[18 + width_bits:18 + width_bits + height_bits])), 2) + 1
    rest = s[18 + width_bits + height_bits:]
    while rest[-1] == 0:
        rest.pop()
    rest.pop()
    superblock_and_intra, after = rest[:3], rest[3:]
    header = _num(profile, 3) + [1, 0] + [0, 0] + _num(0, 5) + _num(0, 12) + _num(level, 5) + ([0] if level > 7 else [])
    header += _num(bits - 1, 4) * 2 + _num(99, bits) + _num(99, bits) + [0] + superblock_and_intra
    header += [0, 0, 0, 0, 0] + [1, 1] + after + [1]
    f = _bits(frame)
    p = q = 2 + f[1]
    superres, used = after[0], 0
    if superres:
        used = f[q]
        q += 1 + (3 if used else 0)
    q += 1 + (32 if f[q] else 0)
    if f[1] and not (superres and used):
        q += 1
    tail = f[p:q] + ([1] if not f[0] else []) + f[q:]

    def hidden(slot: int) -> bytes:  # KEY_FRAME, show_frame 0, showable 1, error_resilient 1, override 1
        new = [0, 0, 0, 0, 1, 1] + f[:p] + [1] + _num(1 << slot, 8) + _num(width - 1, bits) + _num(height - 1, bits)
        return _bytes(new + tail)

    shown = obu(3, bytes([0x88]))  # show_existing_frame of slot 0
    return obu(2, b"") + obu(1, _bytes(header)) + b"".join(obu(6, hidden(i)) for i in range(count)) + shown
