"""Frames dav1d holds at once, and frames it reads with another payload's sequence header, are counted.

Measured before the fix (default limits, fresh process; Pillow's AVIFs rewritten
by ``tests/avif_files.py``): eight hidden 4096² key frames in one item, each
kept in a reference slot (+524 MB, the check saw one frame); an 8 × 8 grid of
2000² frames whose tiles each get their own dav1d (an ``lsel`` on one tile)
(+442 MB); a grid tile without a sequence header, decoded with the previous
tile's by the dav1d the tiles share, overriding its size (+61 MB); a key frame
carried by an OBU_REDUNDANT_FRAME_HEADER, which dav1d reads as the frame header
when none is pending (+61 MB).
"""

from __future__ import annotations

import struct

from PIL import Image

from realtime_uploads.core.errors import TOO_LARGE_TO_DECODE
from realtime_uploads.processing.avif.av1 import avif_frame_size, measure
from realtime_uploads.processing.avif.isobmff import read_container
from tests.avif_files import box, build_avif, first, hidden_key_frames, ispe, item_payload, obu
from tests.images import encode
from tests.unit.processing.avif.test_av1_frame import refused_unread
from tests.unit.processing.avif.test_av1_syntax import write_frame_header, write_sequence_header


def one_item(payload: bytes, source: bytes, claim: tuple[int, int] = (100, 100)) -> bytes:
    return build_avif([(1, b"av01", payload)], [ispe(*claim), first(source, b"pixi"), first(source, b"av1C"),
                                                 first(source, b"colr")],
                      {1: [(1, False), (2, False), (3, True), (4, False)]})


def test_hidden_reference_frames_add_up():
    source = encode(Image.new("RGB", (4096, 4096), (200, 30, 30)), "AVIF", quality=10, speed=10,
                    subsampling="4:4:4")
    data = one_item(hidden_key_frames(item_payload(source), 8), source, (4096, 4096))
    assert len(data) < 6000
    assert measure(read_container(data)).frame_pixels == 8 * 4096 * 4096
    refused_unread(data, TOO_LARGE_TO_DECODE, "4096x4096")
    single = one_item(hidden_key_frames(item_payload(source), 1), source, (4096, 4096))
    assert measure(read_container(single)).frame_pixels == 4096 * 4096


def grid_of(tile: bytes, source: bytes, per_side: int, *, lsel: bool) -> bytes:
    tiles = list(range(2, 2 + per_side * per_side))
    canvas = struct.pack(">BBBBHH", 0, 0, per_side - 1, per_side - 1, 64 * per_side, 64 * per_side)
    associations = {1: [(1, False), (4, False), (5, False)]} | {t: [(2, False), (3, True), (4, False)] for t in tiles}
    if lsel:  # a layer selector on one tile: libavif then gives every tile a dav1d of its own
        associations[2] = associations[2] + [(6, True)]
    references = box(b"dimg", struct.pack(">HH", 1, len(tiles)) + b"".join(struct.pack(">H", t) for t in tiles))
    properties = [ispe(64 * per_side, 64 * per_side), ispe(64, 64), first(source, b"av1C"), first(source, b"pixi"),
                  first(source, b"colr"), box(b"lsel", struct.pack(">H", 0))]
    return build_avif([(1, b"grid", canvas)] + [(t, b"av01", tile) for t in tiles], properties, associations,
                      irefs=references)


def test_grid_tiles_add_up_even_when_they_share_their_bytes():
    source = encode(Image.new("L", (2000, 2000), 90), "AVIF", quality=10, speed=10)
    data = grid_of(item_payload(source), source, 8, lsel=True)
    assert len(read_container(data).items) == 1  # one payload, read once, counted for its 64 tiles
    assert measure(read_container(data)).frame_pixels == 64 * 2000 * 2000
    refused_unread(data, TOO_LARGE_TO_DECODE, "2000x2000")
    small = encode(Image.new("L", (512, 512), 90), "AVIF", quality=10, speed=10)
    assert measure(read_container(grid_of(item_payload(small), small, 4, lsel=False))).decode_bytes() < 2**27


def test_a_frame_before_any_sequence_header_is_measured_with_the_files_other_headers():
    sequence, frame = write_sequence_header(100, 100, bits=14), write_frame_header({}, size=(6000, 4000))
    honest = obu(2, b"") + obu(1, sequence) + obu(6, write_frame_header({}, override=False))
    orphan = obu(2, b"") + obu(6, frame)  # decoded with the shared dav1d's last sequence header
    data = build_avif([(1, b"grid", struct.pack(">BBBBHH", 0, 0, 0, 1, 200, 100)), (2, b"av01", honest),
                       (3, b"av01", orphan)], [ispe(200, 100)], {1: [(1, False)]})
    assert avif_frame_size(data) == (6000, 4000)


def test_a_redundant_frame_header_is_read_as_a_frame_header():
    sequence = write_sequence_header(100, 100, bits=14)
    payload = obu(2, b"") + obu(1, sequence) + obu(7, write_frame_header({}, size=(6000, 4000))) + obu(4, b"tiles")
    assert avif_frame_size(build_avif([(1, b"av01", payload)], [ispe(100, 100)], {1: [(1, False)]})) == (6000, 4000)
