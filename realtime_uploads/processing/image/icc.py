"""ICC profiles for images that state their colour as CICP code points (an ``nclx`` ``colr`` box) (stdlib only).

A HEIC or AVIF from an Android camera often says "Display P3" not with an ICC
profile but with ITU-T H.273 code points: ``colour_primaries`` 12 and
``transfer_characteristics`` 13. Rendered as stored, its colours lose
saturation in every browser, which reads our metadata-free variants as sRGB.
:func:`profile_for_nclx` writes the ICC profile those code points describe, so
:mod:`.colour` converts them to sRGB with LittleCMS as it does an embedded
profile.

Sources: ITU-T H.273 (07/2024) Table 2 (primaries) and Table 3 (transfer);
ICC.1:2001-04 (the v2 matrix/TRC profile layout: header §6.1, tag table
§6.2, ``XYZType`` §6.5.26, ``curveType`` §6.5.3); the Bradford adaptation to
the D50 profile connection space, ICC.1:2010 Annex E.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Mapping

#: colour_primaries -> red, green, blue, white (CIE 1931 x, y), ITU-T H.273 Table 2.
PRIMARIES = {
    1: ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060), (0.3127, 0.3290)),  # BT.709, sRGB
    4: ((0.67, 0.33), (0.21, 0.71), (0.14, 0.08), (0.310, 0.316)),  # BT.470 System M
    5: ((0.64, 0.33), (0.29, 0.60), (0.15, 0.06), (0.3127, 0.3290)),  # BT.601 625
    6: ((0.630, 0.340), (0.310, 0.595), (0.155, 0.070), (0.3127, 0.3290)),  # BT.601 525, SMPTE 170M
    7: ((0.630, 0.340), (0.310, 0.595), (0.155, 0.070), (0.3127, 0.3290)),  # SMPTE 240M
    8: ((0.681, 0.319), (0.243, 0.692), (0.145, 0.049), (0.310, 0.316)),  # generic film
    9: ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046), (0.3127, 0.3290)),  # BT.2020, BT.2100
    11: ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), (0.314, 0.351)),  # DCI-P3 (SMPTE RP 431-2)
    12: ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), (0.3127, 0.3290)),  # Display P3 (SMPTE EG 432-1)
    22: ((0.630, 0.340), (0.295, 0.605), (0.155, 0.077), (0.3127, 0.3290)),  # EBU Tech 3213-E
}
#: Table 3 code points -> the tone curve used for them. 13 is IEC 61966-2-1 (sRGB); the BT.709 family
#: (1, 6, 14, 15) and "unspecified" (2) are taken as sRGB, which is how stills carrying them are
#: displayed as stored; 4 and 5 are pure gammas, 8 linear. Others (PQ 16, HLG 18: HDR; logarithmic;
#: SMPTE 240M) are not converted: the image keeps its stored values.
TRANSFERS = {1: "srgb", 2: "srgb", 6: "srgb", 13: "srgb", 14: "srgb", 15: "srgb", 4: 2.2, 5: 2.8, 8: 1.0}
UNSPECIFIED_PRIMARIES = 2
_D50 = (0.9642, 1.0, 0.8249)  # the ICC profile connection space's illuminant
_BRADFORD = ((0.8951, 0.2664, -0.1614), (-0.7502, 1.7135, 0.0367), (0.0389, -0.0685, 1.0296))


def profile_for_nclx(nclx: Mapping | None) -> bytes | None:
    """The ICC profile (bytes) that ``nclx`` describes, or None when it is sRGB already or not convertible.

    ``nclx`` has pi-heif's keys: ``color_primaries`` and ``transfer_characteristics``
    (ITU-T H.273 code points; others are ignored). None for sRGB (primaries 1 or
    unspecified with an sRGB-like curve), for primaries or curves not in
    :data:`PRIMARIES`/:data:`TRANSFERS`, and for anything that is not such a mapping.
    """
    if not isinstance(nclx, Mapping):
        return None
    primaries, transfer = nclx.get("color_primaries"), nclx.get("transfer_characteristics")
    if type(primaries) is not int or type(transfer) is not int:  # noqa: E721 - not bool, float, list...
        return None
    if primaries == UNSPECIFIED_PRIMARIES:
        primaries = 1
    if primaries not in PRIMARIES or transfer not in TRANSFERS:
        return None
    if primaries == 1 and TRANSFERS[transfer] == "srgb":
        return None
    return rgb_profile(primaries, TRANSFERS[transfer])


@functools.lru_cache(maxsize=32)
def rgb_profile(primaries: int, curve: str | float) -> bytes:
    """A v2 matrix/TRC ICC profile for H.273 ``primaries`` and ``curve`` ("srgb" or a gamma; 1.0 linear).

    The colourants are adapted to D50 with Bradford, as ICC.1 requires; the white
    point tag is D50 (the adapted white), so every rendering intent gives the same
    result. KeyError for primaries not in :data:`PRIMARIES`.
    """
    red, green, blue, white = PRIMARIES[primaries]
    columns = _rgb_to_xyz(red, green, blue, white)
    adapt = _bradford(_xyz(white), _D50)
    rx, gx, bx = (_apply(adapt, column) for column in columns)
    desc_text = f"realtime-uploads H.273 primaries {primaries}, {curve}".encode() + b"\0"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(desc_text)) + desc_text + bytes(4 + 4 + 2 + 1 + 67)
    trc = _curve(curve)
    tags = [(b"desc", desc), (b"wtpt", _xyz_tag(_D50)), (b"rXYZ", _xyz_tag(rx)), (b"gXYZ", _xyz_tag(gx)),
            (b"bXYZ", _xyz_tag(bx)), (b"rTRC", trc), (b"gTRC", trc), (b"bTRC", trc)]
    offset = 128 + 4 + 12 * len(tags)
    table, body, placed = struct.pack(">I", len(tags)), b"", {}
    for signature, data in tags:
        data += bytes(-len(data) % 4)
        if data not in placed:  # the three TRCs share one copy (ICC.1 §6.2: tags may share data)
            placed[data] = offset + len(body)
            body += data
        table += signature + struct.pack(">II", placed[data], len(data))
    size = offset + len(body)
    header = (struct.pack(">I", size) + bytes(4) + bytes.fromhex("02100000") + b"mntrRGB XYZ " + bytes(12)
              + b"acsp" + bytes(4 + 4 + 4 + 4 + 8 + 4) + b"".join(_s15(v) for v in _D50) + bytes(4 + 16 + 28))
    return header + table + body


def _curve(curve: str | float) -> bytes:
    if curve == "srgb":  # IEC 61966-2-1 §5.2, as a 1024-entry table (curveType holds tables or a gamma)
        points = [i / 1023 for i in range(1024)]
        values = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in points]
        return b"curv" + bytes(4) + struct.pack(">I", 1024) + b"".join(struct.pack(">H", round(v * 65535))
                                                                       for v in values)
    if curve == 1.0:
        return b"curv" + bytes(4) + struct.pack(">I", 0)  # count 0: identity
    return b"curv" + bytes(4) + struct.pack(">IH", 1, round(curve * 256))  # u8Fixed8Number gamma


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz_tag(xyz) -> bytes:
    return b"XYZ " + bytes(4) + b"".join(_s15(v) for v in xyz)


def _xyz(xy) -> tuple[float, float, float]:
    x, y = xy
    return x / y, 1.0, (1 - x - y) / y


def _apply(matrix, vector) -> tuple[float, float, float]:
    return tuple(sum(matrix[r][c] * vector[c] for c in range(3)) for r in range(3))


def _multiply(a, b):
    return tuple(tuple(sum(a[r][k] * b[k][c] for k in range(3)) for c in range(3)) for r in range(3))


def _inverse(m):
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return ((((e * i - f * h) / det), ((c * h - b * i) / det), ((b * f - c * e) / det)),
            (((f * g - d * i) / det), ((a * i - c * g) / det), ((c * d - a * f) / det)),
            (((d * h - e * g) / det), ((b * g - a * h) / det), ((a * e - b * d) / det)))


def _rgb_to_xyz(red, green, blue, white):
    """The XYZ of full red, green and blue (white Y = 1): the columns of the RGB -> XYZ matrix."""
    primaries = [_xyz(p) for p in (red, green, blue)]
    matrix = tuple(tuple(primaries[c][r] for c in range(3)) for r in range(3))
    scale = _apply(_inverse(matrix), _xyz(white))
    return [tuple(v * scale[c] for v in primaries[c]) for c in range(3)]


def _bradford(source, target):
    cone_source, cone_target = _apply(_BRADFORD, source), _apply(_BRADFORD, target)
    ratio = tuple(tuple((cone_target[r] / cone_source[r]) if r == c else 0.0 for c in range(3)) for r in range(3))
    return _multiply(_inverse(_BRADFORD), _multiply(ratio, _BRADFORD))
