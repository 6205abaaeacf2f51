"""A HEIC or AVIF that states its colour as H.273 code points (``nclx``) comes out in sRGB.

Expected colours are computed here from CSS Color 4's published matrices
(https://www.w3.org/TR/css-color-4/#color-conversion-code: linear Display P3 and
BT.2020 to XYZ, XYZ to linear sRGB) and the sRGB curve of IEC 61966-2-1, not
from the product's profile builder. The files: pillow-heif writes a HEIC with
the nclx it is given; Pillow's AVIF has its ``colr nclx`` primaries rewritten.
"""

from __future__ import annotations

import io
import struct

import pillow_heif
import pytest
from PIL import Image, ImageCms

from realtime_uploads.core.variants import VariantSpec
from realtime_uploads.processing.avif.isobmff import read_container
from realtime_uploads.processing.image.icc import profile_for_nclx
from realtime_uploads.processing.image.render import render_variants
from tests.images import display_p3_icc, encode, in_srgb

TO_XYZ = {
    12: ((0.4865709486482162, 0.26566769316909306, 0.1982172852343625),
         (0.2289745640697488, 0.6917385218365064, 0.079286914093745),
         (0.0, 0.04511338185890264, 1.043944368900976)),
    9: ((0.6369580483012914, 0.14461690358620832, 0.1688809751502128),
        (0.2627002120112671, 0.6779980715188708, 0.05930171646986196),
        (0.0, 0.028072693049087428, 1.060985057710791)),
}
XYZ_TO_SRGB = ((3.2409699419045226, -1.537383177570094, -0.4986107602930034),
               (-0.9692436362808796, 1.8759675015077202, 0.04155505740717559),
               (0.05563007969699366, -0.20397695888897652, 1.0569715142428786))
COLOURS = [(200, 120, 60), (30, 200, 90), (90, 60, 220), (128, 128, 128), (250, 250, 250), (12, 12, 12)]
THUMB = VariantSpec("thumb", 32, 32, "PNG")


def linear(v: float) -> float:
    v /= 255
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def encoded(v: float) -> int:
    v = min(1.0, max(0.0, v))
    return round(255 * (12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055))


def expected(colour, primaries: int) -> tuple[int, int, int]:
    rgb = [linear(v) for v in colour]
    xyz = [sum(TO_XYZ[primaries][r][k] * rgb[k] for k in range(3)) for r in range(3)]
    return tuple(encoded(sum(XYZ_TO_SRGB[r][k] * xyz[k] for k in range(3))) for r in range(3))


def near(a, b, tolerance: int) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("primaries", [12, 9])
def test_the_profile_of_p3_and_bt2020_code_points_converts_as_css_color_4_does(primaries):
    icc = profile_for_nclx({"color_primaries": primaries, "transfer_characteristics": 13})
    ImageCms.getOpenProfile(io.BytesIO(icc))  # LittleCMS reads it
    for colour in COLOURS:
        assert near(in_srgb(colour, icc), expected(colour, primaries), 1), colour
    assert in_srgb((200, 120, 60), icc) != (200, 120, 60)


def test_it_agrees_with_an_independently_written_display_p3_profile():
    """tests/images.py writes Apple's D50-adapted Display P3 colourants by hand, gamma 2.2 (H.273 transfer 4)."""
    ours = profile_for_nclx({"color_primaries": 12, "transfer_characteristics": 4})
    for colour in COLOURS:
        assert near(in_srgb(colour, ours), in_srgb(colour, display_p3_icc()), 1), colour


def test_linear_and_gamma_curves():
    linear_709 = profile_for_nclx({"color_primaries": 1, "transfer_characteristics": 8})
    assert near(in_srgb((128, 128, 128), linear_709), (encoded(128 / 255),) * 3, 1)
    gamma_28 = profile_for_nclx({"color_primaries": 1, "transfer_characteristics": 5})
    assert near(in_srgb((128, 128, 128), gamma_28), (encoded((128 / 255) ** 2.8),) * 3, 1)


@pytest.mark.parametrize("nclx", [
    {"color_primaries": 1, "transfer_characteristics": 13},  # sRGB: nothing to do
    {"color_primaries": 2, "transfer_characteristics": 2},  # unspecified
    {"color_primaries": 1, "transfer_characteristics": 1},  # BT.709's curve, shown as sRGB
    {"color_primaries": 9, "transfer_characteristics": 16},  # PQ (HDR): kept as stored
    {"color_primaries": 99, "transfer_characteristics": 13},
    {"color_primaries": "12"}, {"color_primaries": [12], "transfer_characteristics": {}},
    {"color_primaries": True, "transfer_characteristics": 13},
    {"color_primaries": 12.0, "transfer_characteristics": 13},
    None, "nclx", [],
])
def test_srgb_unconvertible_or_malformed_code_points_give_no_profile(nclx):
    assert profile_for_nclx(nclx) is None


def p3_heic(colour) -> bytes:
    heif = pillow_heif.from_pillow(Image.new("RGB", (64, 48), colour))
    heif.info["nclx_profile"] = {"color_primaries": 12, "transfer_characteristics": 13,
                                 "matrix_coefficients": 6, "full_range_flag": 1}
    out = io.BytesIO()
    heif.save(out, quality=95)
    return out.getvalue()


def p3_avif(colour) -> bytes:
    data = bytearray(encode(Image.new("RGB", (64, 48), colour), "AVIF", quality=95))
    at = data.find(b"colrnclx")
    assert read_container(bytes(data)).nclx["color_primaries"] == 1  # libavif writes sRGB's code points
    data[at + 8:at + 10] = (12).to_bytes(2, "big")
    assert read_container(bytes(data)).nclx == {"color_primaries": 12, "transfer_characteristics": 13,
                                         "matrix_coefficients": 6, "full_range_flag": 1}
    return bytes(data)


@pytest.mark.parametrize(("make", "fmt"), [(p3_heic, "HEIF"), (p3_avif, "AVIF")])
def test_a_display_p3_heic_or_avif_without_icc_renders_in_srgb(make, fmt):
    colour = (200, 120, 60)
    original, [variant] = render_variants(io.BytesIO(make(colour)), [THUMB], max_pixels=10**6,
                                          allowed_formats=[fmt])
    pixel = Image.open(io.BytesIO(variant.fallback.data)).convert("RGB").getpixel((10, 10))
    assert near(pixel, expected(colour, 12), 3), pixel  # (213, 115, 42); as stored it was (200, 120, 60)
    assert near(bytes.fromhex(original.color[1:]), expected(colour, 12), 4)


def test_an_icc_profile_wins_over_the_code_points():
    """An AVIF with a Display P3 ICC profile whose code points are rewritten to say BT.2020: the profile
    is what is applied ((214, 116, 38); BT.2020 would give (237, 105, 40))."""
    colour = (200, 120, 60)
    data = bytearray(encode(Image.new("RGB", (64, 48), colour), "AVIF", quality=95, icc_profile=display_p3_icc()))
    at = data.find(b"colrnclx")
    data[at + 8:at + 12] = struct.pack(">HH", 9, 13)
    data = bytes(data)
    assert read_container(data).nclx["color_primaries"] == 9
    assert not near(in_srgb(colour, display_p3_icc()), expected(colour, 9), 5)  # the two readings differ
    _, [variant] = render_variants(io.BytesIO(data), [THUMB], max_pixels=10**6, allowed_formats=["AVIF"])
    pixel = Image.open(io.BytesIO(variant.fallback.data)).convert("RGB").getpixel((10, 10))
    assert near(pixel, in_srgb(colour, display_p3_icc()), 3), pixel
