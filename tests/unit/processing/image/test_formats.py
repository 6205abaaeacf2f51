"""HEIC/HEIF (pi-heif) and AVIF (Pillow's libavif) originals: opt-in, identified from the bytes, oriented and
colour-converted like any photo, and refused as clearly as the other formats when hostile.

The HEIC files are written by pillow-heif's encoder (tests/images.py); the app reads them with pi-heif.
"""

from __future__ import annotations

import io
import struct
import sys

import pytest
from PIL import ExifTags, Image

from realtime_uploads.core.errors import (
    CORRUPT_IMAGE,
    TOO_MANY_PIXELS,
    UNSUPPORTED_FORMAT,
    CodecMissing,
    Invalid,
    ProcessingError,
)
from realtime_uploads.core.formats import formats_for
from realtime_uploads.core.setting_kinds import ContentTypes
from realtime_uploads.core.variants import VariantSpec
from realtime_uploads.processing.image import codecs
from realtime_uploads.processing.image.codecs import enable_decoders
from realtime_uploads.processing.image.render import render_variants
from realtime_uploads.processing.image.sniff import sniff_format
from tests.images import (
    BLUE,
    GREEN,
    RED,
    YELLOW,
    display_p3_icc,
    encode,
    exif_bytes,
    heic,
    in_srgb,
    iphone_heic,
    quadrants,
)

PHONE = ("JPEG", "PNG", "WEBP", "GIF", "AVIF", "HEIF")
SPEC = VariantSpec("thumb", 100, 100, ["AVIF", "WEBP", "JPEG"])


def render(data: bytes, *specs: VariantSpec, allowed=PHONE, max_pixels: int = 10**7):
    return render_variants(io.BytesIO(data), specs or (SPEC,), max_pixels=max_pixels, allowed_formats=allowed)


def close(pixel, expected, tolerance=14) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], expected, strict=True))


def corners(im: Image.Image) -> list[tuple]:
    w, h = im.size
    return [im.getpixel((x, y)) for x, y in ((w // 4, h // 4), (3 * w // 4, h // 4), (w // 4, 3 * h // 4),
                                              (3 * w // 4, 3 * h // 4))]


def test_heic_and_avif_are_content_types_a_project_may_allow():
    assert ContentTypes().check(["image/heic", "image/heif", "image/avif"]) == ("image/heic", "image/heif",
                                                                                 "image/avif")
    assert formats_for(["image/heic"]) == formats_for(["image/heif"]) == {"HEIF"}
    assert formats_for(["image/avif", "image/jpeg"]) == {"AVIF", "JPEG"}
    with pytest.raises(Invalid):
        ContentTypes().check(["image/heic", "image/jxl"])


def test_a_heic_becomes_variants_in_every_listed_format():
    original, [variant] = render(heic(quadrants(300, 200)))
    assert (original.width, original.height, original.format) == (300, 200, "HEIF")
    assert [f.format for f in variant.files] == ["AVIF", "WEBP", "JPEG"]
    for file in variant.files:
        with Image.open(io.BytesIO(file.data)) as im:
            assert (im.format, im.size) == (file.format, (100, 67))
            assert all(close(p, c) for p, c in zip(corners(im.convert("RGB")), (RED, GREEN, BLUE, YELLOW),
                                                   strict=True))


def test_an_iphone_heic_is_shown_upright_in_srgb_without_its_metadata():
    """Stored turned with irot and EXIF orientation 6 (libheif applies irot; the EXIF tag must not turn it
    twice), a Display P3 profile converted to sRGB, and no EXIF, GPS or ICC left in any variant."""
    colour = (200, 100, 50)
    picture = quadrants(400, 200)
    picture.paste(colour, (0, 0, 200, 100))  # top-left: a colour P3 and sRGB tell apart
    original, [variant] = render(iphone_heic(picture=picture))
    assert (original.width, original.height) == (400, 200)  # as displayed, landscape
    expected = in_srgb(colour, display_p3_icc())
    assert not close(expected, colour, 8)  # the profile matters for this colour
    for file in variant.files:
        with Image.open(io.BytesIO(file.data)) as im:
            assert im.size == (100, 50)
            top_left, top_right, bottom_left, bottom_right = corners(im.convert("RGB"))
            assert close(top_left, expected) and close(top_right, GREEN), (file.format, top_left, expected)
            assert close(bottom_left, BLUE) and close(bottom_right, YELLOW)
            assert not {"exif", "icc_profile", "xmp"} & set(im.info), (file.format, list(im.info))
            assert im.getexif().get(ExifTags.Base.Orientation) in (None, 1)
            assert b"Apple" not in file.data and b"iPhone" not in file.data


def test_an_avif_with_orientation_and_alpha_is_rendered_upright_keeping_alpha():
    stored = quadrants(200, 100).transpose(Image.Transpose.ROTATE_90).convert("RGBA")
    stored.putpixel((0, 0), (0, 0, 0, 0))
    data = encode(stored, "AVIF", quality=95, exif=exif_bytes(6))
    original, [variant] = render(data, VariantSpec("t", 200, 200, ["AVIF", "PNG"]))
    assert (original.width, original.height, original.format) == (200, 100, "AVIF")
    for file in variant.files:
        with Image.open(io.BytesIO(file.data)) as im:
            assert im.size == (200, 100) and im.mode == "RGBA"
            assert all(close(p, c) for p, c in zip(corners(im), (RED, GREEN, BLUE, YELLOW), strict=True))


def test_heic_and_avif_are_opt_in_and_refused_by_name_otherwise():
    for data, name in ((heic(quadrants(64, 64)), "HEIF"), (encode(quadrants(64, 64), "AVIF"), "AVIF")):
        assert sniff_format(data[:64]) == name
        with pytest.raises(ProcessingError) as info:
            render(data, allowed=("JPEG", "PNG", "WEBP", "GIF"))
        assert info.value.code == UNSUPPORTED_FORMAT and name in info.value.message


def test_a_truncated_heic_or_avif_is_a_corrupt_image():
    for data in (heic(quadrants(256, 256)), encode(quadrants(256, 256), "AVIF")):
        for cut in (len(data) // 2, 200, 40):
            with pytest.raises(ProcessingError) as info:
                render(data[:cut])
            assert info.value.code == CORRUPT_IMAGE, (cut, info.value)


def _patch_ispe(data: bytes, width: int, height: int) -> bytes:
    """The HEIF with every ``ispe`` (image spatial extents, ISO/IEC 23008-12 6.5.3) claiming width x height."""
    out, at = bytearray(data), data.find(b"ispe")
    assert at > 0
    while at > 0:
        out[at + 8:at + 16] = struct.pack(">II", width, height)  # after the box type: version/flags, then W, H
        at = data.find(b"ispe", at + 4)
    return bytes(out)


def test_a_heic_claiming_a_huge_size_is_refused_before_any_decoding(monkeypatch):
    decoded = []
    monkeypatch.setattr(Image.Image, "frombytes", lambda self, *a, **k: decoded.append(self.size))
    bomb = _patch_ispe(heic(quadrants(64, 64)), 40_000, 40_000)
    with pytest.raises(ProcessingError) as info:
        render(bomb)
    assert info.value.code == TOO_MANY_PIXELS and "1600000000" in info.value.message, info.value
    assert decoded == []


def test_without_pi_heif_allowing_heic_names_what_to_install(monkeypatch):
    monkeypatch.setattr(codecs, "_heif_registered", False)
    monkeypatch.setitem(sys.modules, "pi_heif", None)  # import pi_heif now raises ImportError
    with pytest.raises(CodecMissing, match="pip install pi-heif"):
        enable_decoders(["HEIF"])
    enable_decoders(["JPEG", "PNG"])  # nothing else needs it


def test_heif_is_registered_with_pillow_only_once_it_is_allowed():
    import subprocess

    code = ("from PIL import Image; import realtime_uploads.processing.image.render, io;"
            "from realtime_uploads.processing.image.codecs import enable_decoders;"
            "Image.init(); print('HEIF' in Image.OPEN);"
            "enable_decoders(['HEIF']); print('HEIF' in Image.OPEN)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True"]


def test_allowing_heic_without_pi_heif_is_a_setting_error_naming_the_package(monkeypatch):
    import importlib.util

    from realtime_uploads.core.errors import SettingError
    from realtime_uploads.core.settings_schema import validate

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pi_heif" else real(name, *a))
    with pytest.raises(SettingError, match=r"ALLOWED_CONTENT_TYPES.*pip install pi-heif"):
        validate({"ALLOWED_CONTENT_TYPES": ["image/jpeg", "image/heic"]})
    validate({"ALLOWED_CONTENT_TYPES": ["image/jpeg"]})  # only those who ask for HEIC need it


def test_the_browser_client_and_the_presign_map_the_same_extensions():
    """sniff.js's EXTENSION_TYPES and formats.EXTENSION_CONTENT_TYPES are one table written twice."""
    import re
    from pathlib import Path

    from realtime_uploads.core.formats import EXTENSION_CONTENT_TYPES

    source = (Path(__file__).resolve().parents[4] / "realtime_uploads/static/realtime_uploads/sniff.js").read_text()
    table = source[source.index("EXTENSION_TYPES = Object.freeze({"):]
    table = table[:table.index("});")]
    assert dict(re.findall(r"(\w+): \"([^\"]+)\"", table)) == EXTENSION_CONTENT_TYPES
