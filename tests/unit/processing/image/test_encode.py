"""Encoding variants (realtime_uploads.processing.image.encode through render_variants): AVIF, WebP, JPEG and PNG files
of the same pixels, at each format's quality, with no metadata, and CodecMissing when AVIF cannot be written."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image, features

from realtime_uploads.core.errors import CodecMissing
from realtime_uploads.core.formats import DEFAULT_QUALITY
from realtime_uploads.core.variants import VariantSpec
from realtime_uploads.processing.image.encode import AVIF_SPEED, WEBP_METHOD, encode_file
from realtime_uploads.processing.image.render import render_variants
from tests.images import RED, display_p3_icc, encode, exif_bytes, quadrants

ALLOWED = ("JPEG", "PNG", "WEBP", "AVIF")
XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">tell-tale-xmp</rdf:RDF></x:xmpmeta>'
       b'<?xpacket end="r"?>')


def render(data: bytes, *specs: VariantSpec):
    return render_variants(io.BytesIO(data), specs, max_pixels=10**7, allowed_formats=ALLOWED)


def photo(width: int, height: int, seed: str = "photo") -> Image.Image:
    """Quadrants under a gradient and deterministic noise: detail a lossy encoder has to spend bytes on."""
    noise = Image.frombytes("RGB", (width, height), hashlib.shake_256(seed.encode()).digest(width * height * 3))
    ramp = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    return Image.blend(Image.blend(quadrants(width, height), ramp, 0.3), noise, 0.25)


def files(variant) -> dict[str, bytes]:
    return {file.format: file.data for file in variant.files}


def reopen(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def with_metadata(fmt: str) -> bytes:
    """A photo carrying EXIF (a camera make, a GPS-free orientation 1), a Display P3 profile and XMP."""
    return encode(photo(240, 160), fmt, exif=exif_bytes(1, Make="TellTaleCam"), icc_profile=display_p3_icc(),
                  xmp=XMP, quality=90)


# --- AVIF -------------------------------------------------------------------------------------------


def test_an_avif_variant_reopens_as_avif_at_the_variants_size_in_rgb():
    _, [variant] = render(encode(photo(400, 300), "PNG"), VariantSpec("thumb", 200, 200, "AVIF"))
    im = reopen(variant.data)
    assert (variant.width, variant.height) == (200, 150)
    assert (im.format, im.size, im.mode) == ("AVIF", (200, 150), "RGB")
    assert variant.content_type == "image/avif" and variant.extension == "avif"


def test_an_avif_variant_of_a_transparent_image_keeps_its_alpha():
    source = photo(200, 200).convert("RGBA")
    source.paste((0, 0, 0, 0), (0, 0, 100, 200))  # the left half transparent
    _, [variant] = render(encode(source, "PNG"), VariantSpec("thumb", 100, 100, "AVIF"))
    im = reopen(variant.data)
    assert (im.format, im.mode, im.size) == ("AVIF", "RGBA", (100, 100))
    assert im.getpixel((20, 50))[3] <= 8 and im.getpixel((80, 50))[3] >= 247


@pytest.mark.parametrize("source_format", ["JPEG", "AVIF"])
def test_no_exif_icc_or_xmp_reaches_an_avif_file_even_when_the_source_had_them(source_format):
    data = with_metadata(source_format)
    source = Image.open(io.BytesIO(data))
    assert {"exif", "icc_profile", "xmp"} <= set(source.info)  # the source really carries all three
    _, [variant] = render(data, VariantSpec("thumb", 120, 120, ["AVIF", "WEBP", "JPEG"]))
    for fmt, payload in files(variant).items():
        for tell_tale in (b"TellTaleCam", b"tell-tale-xmp", b"Display P3 (test)", b"rdf+xml", b"colrprof", b"rICC"):
            assert tell_tale not in payload, (fmt, tell_tale)
        im = reopen(payload)
        assert not {"exif", "icc_profile", "xmp"} & set(im.info), (fmt, set(im.info))
        assert not im.getexif(), fmt


def test_encode_file_writes_no_metadata_from_the_image_it_is_given():
    source = Image.open(io.BytesIO(with_metadata("JPEG")))
    source.load()
    source.getexif()  # the EXIF Pillow caches on the image is not written either
    for fmt in ("AVIF", "WEBP", "JPEG", "PNG"):
        payload = encode_file(source.copy(), fmt, 80).data
        assert b"TellTaleCam" not in payload and b"tell-tale-xmp" not in payload and b"colrprof" not in payload, fmt
        assert not {"exif", "icc_profile", "xmp"} & set(reopen(payload).info), fmt


def test_a_lower_avif_quality_gives_a_smaller_file():
    data = encode(photo(320, 240), "PNG")
    sizes = [len(render(data, VariantSpec("v", 320, 320, "AVIF", quality=q))[1][0].data) for q in (30, 60, 90)]
    assert sizes[0] < sizes[1] < sizes[2], sizes


# --- every format of a variant ----------------------------------------------------------------------


def test_every_format_of_a_variant_has_the_same_size_and_picture():
    _, [variant] = render(encode(photo(1000, 700), "JPEG", quality=95),
                          VariantSpec("large", 320, 320, ["AVIF", "WEBP", "JPEG", "PNG"]))
    assert [f.format for f in variant.files] == ["AVIF", "WEBP", "JPEG", "PNG"] and variant.format == "PNG"
    exact = reopen(files(variant)["PNG"]).convert("RGB")
    assert exact.size == (variant.width, variant.height) == (320, 224)
    for fmt, payload in files(variant).items():
        im = reopen(payload).convert("RGB")
        assert (reopen(payload).format, im.size) == (fmt, exact.size)
        difference = sum(abs(a - b) for a, b in zip(im.tobytes(), exact.tobytes(), strict=True)) / len(im.tobytes())
        assert difference < 12, (fmt, difference)  # the same pixels, give or take each codec's loss


def test_each_format_is_encoded_at_its_own_quality():
    """The original is the variant's size, so the pipeline encodes the decoded pixels as they are: each
    file is what Pillow writes of them at the quality the spec gives that format (WebP at its default)."""
    pixels = photo(200, 150)
    spec = VariantSpec("v", 200, 200, ["AVIF", "WEBP", "JPEG"], quality={"AVIF": 40, "JPEG": 90})
    assert dict(spec.qualities) == {"AVIF": 40, "WEBP": DEFAULT_QUALITY["WEBP"], "JPEG": 90}
    _, [variant] = render(encode(pixels, "PNG"), spec)

    def reference(fmt: str, quality: int) -> bytes:
        options = {"AVIF": {"speed": AVIF_SPEED}, "WEBP": {"method": WEBP_METHOD},
                   "JPEG": {"optimize": True, "progressive": True}}[fmt]
        return encode(pixels, fmt, quality=quality, **options)

    for fmt, quality in spec.qualities:
        assert files(variant)[fmt] == reference(fmt, quality), fmt
        others = {len(reference(fmt, q)) for q in (20, 60, 95) if q != quality}
        assert len(files(variant)[fmt]) not in others, fmt  # the quality is what made these bytes


def test_jpeg_of_a_transparent_source_is_flattened_on_white_while_the_other_formats_keep_alpha():
    source = Image.new("RGBA", (120, 80), (0, 0, 0, 0))
    source.paste((*RED, 255), (0, 0, 40, 80))
    source.paste((*RED, 128), (80, 0, 120, 80))  # half-transparent red
    _, [variant] = render(encode(source, "PNG"), VariantSpec("v", 120, 120, ["WEBP", "PNG", "JPEG"]))
    jpeg = reopen(files(variant)["JPEG"])
    assert jpeg.mode == "RGB"
    expected = {(20, 40): RED, (60, 40): (255, 255, 255), (100, 40): (255, 127, 127)}
    for point, colour in expected.items():
        assert all(abs(a - b) <= 10 for a, b in zip(jpeg.getpixel(point), colour, strict=True)), (point, colour)
    for fmt in ("WEBP", "PNG"):
        im = reopen(files(variant)[fmt])
        assert im.mode == "RGBA" and im.getpixel((60, 40))[3] == 0, fmt


def test_jpeg_variants_are_progressive():
    _, [variant] = render(encode(photo(300, 200), "PNG"), VariantSpec("v", 300, 300, "JPEG"))
    im = reopen(variant.data)
    assert im.info.get("progressive") and im.info.get("progression")
    plain = reopen(encode(photo(300, 200), "JPEG"))
    assert not plain.info.get("progressive")  # what the check tells apart


# --- a Pillow without AVIF ---------------------------------------------------------------------------


@pytest.fixture
def no_avif(monkeypatch):
    real = features.check
    monkeypatch.setattr(features, "check", lambda feature: False if feature == "avif" else real(feature))


def test_an_avif_variant_without_libavif_is_codec_missing_naming_pillow_11_3(no_avif):
    data = encode(photo(100, 100), "PNG")

    def png(*specs):
        return render_variants(io.BytesIO(data), specs, max_pixels=10**6, allowed_formats=("PNG",))

    with pytest.raises(CodecMissing, match="AVIF variants need Pillow 11.3") as info:
        png(VariantSpec("v", 50, 50, ["AVIF", "JPEG"]))
    assert isinstance(info.value, ValueError)
    with pytest.raises(CodecMissing, match="AVIF variants need Pillow 11.3"):
        encode_file(photo(10, 10), "AVIF", 60)
    _, [variant] = png(VariantSpec("v", 50, 50, ["WEBP", "JPEG"]))  # the other formats still render
    assert [f.format for f in variant.files] == ["WEBP", "JPEG"]


def test_avif_input_without_libavif_is_codec_missing_before_any_decoding(no_avif):
    with pytest.raises(CodecMissing, match="AVIF input needs Pillow 11.3"):
        render_variants(io.BytesIO(b"not even read"), [VariantSpec("v", 50, 50, "JPEG")], max_pixels=10**6,
                        allowed_formats=("JPEG", "AVIF"))
