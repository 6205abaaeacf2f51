"""Name an image format from its first bytes, without running any decoder (stdlib only).

Used to word an ``unsupported_format`` error: a file that none of the allowed
Pillow plugins accepted is named here from a table of magic numbers, so no
parser of a format we refuse (TIFF, PSD, JPEG 2000, BMP, ICO…) ever reads
hostile bytes. Each signature is the one its specification puts at offset 0
(ISO-BMFF ``ftyp`` brands for AVIF/HEIF: ISO/IEC 14496-12 §4.3; WebP: the
RIFF container, Google's "WebP Container Specification"; TIFF: TIFF 6.0 §2;
PNG: PNG 3rd ed. §5.2; JPEG 2000: ISO/IEC 15444-1 Annex I and A.4.1).
"""

from __future__ import annotations

import re

#: (prefix, format name), tried in order; the first whose bytes start the file wins.
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),  # BigTIFF
    (b"MM\x00+", "TIFF"),
    (b"8BPS", "PSD"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG2000"),
    (b"\xff\x4f\xff\x51", "JPEG2000"),  # a bare codestream (.j2k)
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEGXL"),
    (b"\xff\x0a", "JPEGXL"),
    (b"qoif", "QOI"),
    (b"DDS ", "DDS"),
    (b"icns", "ICNS"),
)
_AVIF_BRANDS = {b"avif", b"avis"}
_HEIF_BRANDS = set(b"heic heix hevc hevx heim heis hevm hevs mif1 msf1".split())
# BITMAPFILEHEADER "BM", then at offset 14 the size of one of the DIB headers (12 … 124 bytes).
_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}
_NETPBM = re.compile(rb"P[1-7][ \t\r\n#]")


def sniff_format(head: bytes) -> str | None:
    """The image format ``head`` (the file's first bytes, 32 or more) starts with, or None.

    Names JPEG, PNG, GIF, WEBP, TIFF, BMP, PSD, JPEG2000, JPEGXL, QOI, PPM
    (any Netpbm), ICO, AVIF, HEIF, SVG, DDS and ICNS. TGA has no magic
    number and is never named; neither is anything shorter than its signature.
    """
    for prefix, name in MAGIC:
        if head.startswith(prefix):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "BMP"
    if _NETPBM.match(head):
        return "PPM"
    if head[4:8] == b"ftyp":
        end = min(int.from_bytes(head[:4], "big"), len(head))
        brands = {head[8:12]} | {head[i : i + 4] for i in range(16, end - 3, 4)}
        if brands & _AVIF_BRANDS:
            return "AVIF"
        if brands & _HEIF_BRANDS:
            return "HEIF"
    if head[:4] in (b"\0\0\1\0", b"\0\0\2\0") and head[4:6] != b"\0\0":  # reserved 0, type 1/2, count > 0
        return "ICO"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"<?xml", b"<svg", b"<!--")) and re.search(rb"<svg[\s>]", text):
        return "SVG"
    return None


def webp_size(head: bytes) -> tuple[int, int] | None:
    """The canvas (width, height) in pixels a WebP file's first 30 bytes declare, or None.

    Read here because Pillow's WebP ``open`` already has libwebp allocate the whole
    canvas; the layouts are those of the WebP Container Specification (VP8X, VP8L)
    and RFC 6386 §9.1 (a lossy VP8 key frame).
    """
    if len(head) < 30 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return None
    chunk = head[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little")
    if chunk == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        return int.from_bytes(head[26:28], "little") & 0x3FFF, int.from_bytes(head[28:30], "little") & 0x3FFF
    return None
