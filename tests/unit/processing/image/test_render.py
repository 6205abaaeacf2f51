"""realtime_uploads.processing.image.render: every input is generated here, no fixtures on disk."""

import hashlib
import io
import struct
import warnings
import zlib

import pytest
from PIL import ExifTags, Image, ImageCms, ImageFile, PngImagePlugin, WebPImagePlugin

from realtime_uploads.core.errors import (
    CORRUPT_IMAGE,
    NOT_AN_IMAGE,
    TOO_MANY_PIXELS,
    UNSUPPORTED_FORMAT,
    ProcessingError,
)
from realtime_uploads.core.formats import FORMAT_CONTENT_TYPES, FORMAT_EXTENSIONS, OUTPUT_FORMATS
from realtime_uploads.core.variants import VariantSpec
from realtime_uploads.processing.image.render import OriginalInfo, render_variants
from tests.images import BLUE, GREEN, RED, YELLOW, quadrants

WHITE, CYAN = (255, 255, 255), (0, 255, 255)
MAX_PIXELS = 50_000_000


def encode(im: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    return buffer.getvalue()


def render(data: bytes, *specs: VariantSpec, max_pixels: int = MAX_PIXELS, **kwargs):
    return render_variants(io.BytesIO(data), specs, max_pixels=max_pixels, **kwargs)


def reopen(variant) -> Image.Image:
    """Open a variant's bytes, checking Pillow reads the declared format."""
    im = Image.open(io.BytesIO(variant.data))
    assert im.format == variant.format
    assert im.size == (variant.width, variant.height)
    im.load()
    return im


def refusal(data: bytes, **kwargs) -> ProcessingError:
    with pytest.raises(ProcessingError) as info:
        render(data, VariantSpec("thumb", 64, 64, "JPEG"), **kwargs)
    return info.value


def close(pixel, expected, tolerance=12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def noise(size: int, seed: bytes = b"") -> bytes:
    """Deterministic incompressible bytes."""
    return hashlib.shake_256(seed).digest(size)


def bilevel_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG, all black: a few KB that claim width x height pixels."""

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    row, packer = b"\x00" + bytes((width + 7) // 8), zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


@pytest.fixture
def loads(monkeypatch):
    """Record the size of every image Pillow decodes."""
    sizes = []
    real_load = ImageFile.ImageFile.load

    def spy(self):
        if self._im is None:  # not decoded yet
            sizes.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return sizes


# --- orientation and metadata ---------------------------------------------------------------


def rotated_photo(orientation: int = 6, **extra) -> bytes:
    """A portrait JPEG with EXIF orientation 6 and GPS that displays as quadrants(400, 200)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 28.0, 38.0)
    stored = quadrants(400, 200).transpose(Image.Transpose.ROTATE_90)
    return encode(stored, "JPEG", quality=95, exif=exif, **extra)


@pytest.mark.parametrize("fmt", sorted(OUTPUT_FORMATS))
def test_exif_orientation_is_applied_and_exif_with_gps_is_dropped(fmt):
    data = rotated_photo()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # input has GPS
    original, [variant] = render(data, VariantSpec("v", 200, 200, fmt, quality=95))
    assert original == OriginalInfo(400, 200, "JPEG")  # as displayed, not as stored (200x400)
    assert (variant.width, variant.height) == (200, 100)
    im = reopen(variant).convert("RGB")
    expected = {(50, 25): RED, (150, 25): GREEN, (50, 75): BLUE, (150, 75): YELLOW}
    for (x, y), colour in expected.items():
        assert close(im.getpixel((x, y)), colour, tolerance=40), (x, y, im.getpixel((x, y)))
    assert not im.getexif() and "exif" not in im.info
    assert b"Exif\x00\x00" not in variant.data and b"eXIf" not in variant.data


@pytest.mark.parametrize(
    ("orientation", "with_icc"), [(6, True), (1, False)], ids=["rotated-icc", "as-decoded"]
)
def test_all_metadata_is_stripped_from_every_output(orientation, with_icc):
    """Also when a variant is the decoded file itself: upright, no ICC, no resize."""
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes() if with_icc else None
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>secret-xmp</rdf:RDF></x:xmpmeta>'
    data = rotated_photo(orientation, icc_profile=icc, xmp=xmp, comment=b"secret-comment")
    source = Image.open(io.BytesIO(data))
    assert {"xmp", "comment", "exif"} <= source.info.keys()  # the input has it all
    assert ("icc_profile" in source.info) == with_icc
    boxes = (120, 1000)  # resized, and full size
    specs = [VariantSpec(f"{f}{b}", b, b, f) for f in sorted(OUTPUT_FORMATS) for b in boxes]
    for variant in render(data, *specs)[1]:
        im = reopen(variant)
        assert not {"icc_profile", "xmp", "comment", "exif"} & im.info.keys(), variant.format
        for marker in (b"ICC_PROFILE", b"iCCP", b"secret-xmp", b"secret-comment", b"Exif\x00"):
            assert marker not in variant.data, (variant.format, marker)


def test_png_text_chunks_are_not_copied():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-text")
    info.add_itxt("Author", "secret-itxt")
    data = encode(Image.new("RGB", (50, 50), RED), "PNG", pnginfo=info)
    specs = VariantSpec("v", 40, 40, "PNG"), VariantSpec("f", 99, 99, "PNG")
    for variant in render(data, *specs)[1]:
        assert reopen(variant).text == {}
        for marker in (b"secret", b"tEXt", b"iTXt", b"zTXt"):
            assert marker not in variant.data


@pytest.mark.parametrize("source_format", ["JPEG", "PNG"])
def test_embedded_icc_profile_is_converted_and_not_carried_over(source_format, monkeypatch):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(Image.new("RGB", (60, 40), GREEN), source_format, icc_profile=icc)
    built, applied = [], []
    real_build, real_apply = ImageCms.buildTransform, ImageCms.applyTransform

    def build(*args, **kwargs):
        built.append(args[2:4])
        return real_build(*args, **kwargs)

    def apply(image, transform, *args, **kwargs):
        applied.append(image.size)
        return real_apply(image, transform, *args, **kwargs)

    monkeypatch.setattr(ImageCms, "buildTransform", build)
    monkeypatch.setattr(ImageCms, "applyTransform", apply)
    specs = [VariantSpec(f, 30, 30, f) for f in sorted(OUTPUT_FORMATS)]
    for variant in render(data, *specs)[1]:
        im = reopen(variant)
        assert "icc_profile" not in im.info and b"ICC_PROFILE" not in variant.data
        assert close(im.convert("RGB").getpixel((15, 10)), GREEN)
    assert built == [("RGB", "RGB")]  # one LittleCMS transform to sRGB, shared by all
    assert applied == [(30, 20)] * len(specs)  # run on each rendering's pixels, never on the full image


def test_unusable_icc_profile_falls_back_to_a_plain_conversion():
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()  # not an RGB profile
    for icc in (lab, b"not an ICC profile at all"):
        data = encode(Image.new("RGB", (40, 40), BLUE), "PNG", icc_profile=icc)
        [variant] = render(data, VariantSpec("v", 20, 20, "PNG"))[1]
        assert reopen(variant).getpixel((10, 10)) == BLUE


# --- colour and transparency ----------------------------------------------------------------


def half_transparent_png() -> bytes:
    im = Image.new("RGBA", (100, 50), (0, 0, 0, 0))
    im.paste((255, 0, 0, 255), (0, 0, 50, 50))
    return encode(im, "PNG")


def test_alpha_is_kept_for_webp_and_png_outputs():
    specs = VariantSpec("w", 100, 100, "WEBP"), VariantSpec("p", 100, 100, "PNG")
    for variant in render(half_transparent_png(), *specs)[1]:
        im = reopen(variant)
        assert im.mode == "RGBA", variant.format
        assert im.getpixel((90, 25))[3] == 0, variant.format
        assert im.getpixel((10, 25))[3] == 255 and close(im.getpixel((10, 25))[:3], RED)


def test_alpha_is_flattened_on_white_for_jpeg_output():
    [variant] = render(half_transparent_png(), VariantSpec("j", 100, 100, "JPEG"))[1]
    im = reopen(variant)
    assert im.mode == "RGB"
    assert close(im.getpixel((90, 25)), WHITE) and close(im.getpixel((10, 25)), RED)


def test_fully_opaque_alpha_channel_is_dropped():
    data = encode(Image.new("RGBA", (30, 30), (0, 255, 0, 255)), "PNG")
    [variant] = render(data, VariantSpec("p", 30, 30, "PNG"))[1]
    assert reopen(variant).mode == "RGB"


def test_animated_gif_uses_first_frame_and_keeps_palette_transparency():
    first = Image.new("P", (40, 40), 0)  # index 0 is transparent
    first.putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255])
    first.paste(1, (10, 10, 30, 30))  # a red square on a transparent field
    second = first.copy()
    second.paste(2, (0, 0, 40, 40))  # all blue
    data = encode(first, "GIF", save_all=True, append_images=[second], transparency=0, duration=100)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    specs = VariantSpec("p", 40, 40, "PNG"), VariantSpec("w", 40, 40, "WEBP")
    original, variants = render(data, *specs)
    assert original.format == "GIF"
    for variant in variants:
        im = reopen(variant)
        assert im.getpixel((2, 2))[3] == 0, variant.format
        assert close(im.getpixel((20, 20)), (*RED, 255)), variant.format


def test_animated_webp_uses_first_frame():
    frames = [Image.new("RGB", (30, 20), colour) for colour in (RED, BLUE)]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    original, [variant] = render(data, VariantSpec("p", 30, 20, "PNG"))
    assert original == OriginalInfo(30, 20, "WEBP")
    assert reopen(variant).getpixel((15, 10)) == RED


def test_cmyk_jpeg_becomes_rgb_with_sensible_colours():
    im = Image.new("CMYK", (80, 40), (0, 255, 255, 0))  # red
    im.paste((255, 0, 0, 0), (40, 0, 80, 40))  # cyan
    data = encode(im, "JPEG", quality=95)
    source = Image.open(io.BytesIO(data))
    assert source.mode == "CMYK" and "adobe" in source.info  # Pillow writes Adobe-inverted CMYK
    [variant] = render(data, VariantSpec("j", 80, 40, "JPEG", quality=95))[1]
    out = reopen(variant)
    assert out.mode == "RGB"
    assert close(out.getpixel((15, 20)), RED, 30)
    assert close(out.getpixel((65, 20)), CYAN, 30)


def test_sixteen_bit_grey_png_is_scaled_not_clipped():
    im = Image.new("I;16", (20, 20), 32768)  # mid grey; a plain convert("L") would clip it to white
    [variant] = render(encode(im, "PNG"), VariantSpec("p", 20, 20, "PNG"))[1]
    assert close(reopen(variant).getpixel((5, 5)), (128, 128, 128), 2)


# --- sizes --------------------------------------------------------------------------------------


def test_variants_fit_their_boxes_keep_aspect_and_come_back_in_spec_order():
    data = encode(quadrants(1000, 500), "PNG")
    specs = [
        VariantSpec("small", 64, 64, "WEBP"),
        VariantSpec("tall", 100, 300, "JPEG"),
        VariantSpec("large", 400, 400, "PNG"),
    ]
    original, variants = render(data, *specs)
    assert original == OriginalInfo(1000, 500, "PNG")
    assert [v.name for v in variants] == ["small", "tall", "large"]
    assert [(v.width, v.height) for v in variants] == [(64, 32), (100, 50), (400, 200)]
    for variant, spec in zip(variants, specs, strict=True):
        assert variant.format == spec.format and variant.size == len(variant.data) > 0
        assert variant.content_type == FORMAT_CONTENT_TYPES[spec.format]
        assert variant.extension == FORMAT_EXTENSIONS[spec.format]
        reopen(variant)


def test_image_smaller_than_the_box_is_not_upscaled():
    data = encode(quadrants(50, 30), "PNG")
    [variant] = render(data, VariantSpec("big", 800, 800, "PNG"))[1]
    assert (variant.width, variant.height) == (50, 30)
    assert reopen(variant).getpixel((5, 5)) == RED


def test_smaller_variants_are_resized_from_larger_renderings(monkeypatch):
    resized, real = [], Image.Image.resize

    def spy(self, size, *args, **kwargs):
        resized.append((self.size, tuple(size)))
        return real(self, size, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "resize", spy)
    data = encode(quadrants(2000, 1000), "PNG")
    render(data, VariantSpec("s", 100, 100, "PNG"), VariantSpec("l", 800, 800, "PNG"))
    # ... and the placeholder from the smallest rendering (box-filtered to 32 px for its ThumbHash)
    assert resized == [((2000, 1000), (800, 400)), ((800, 400), (100, 50)), ((100, 50), (32, 16))]


@pytest.mark.parametrize("orientation", [1, 6])
def test_large_jpeg_is_decoded_in_draft_mode_but_reports_its_full_size(orientation, loads):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    data = encode(quadrants(4000, 3000), "JPEG", quality=50, exif=exif)
    original, [variant] = render(data, VariantSpec("thumb", 320, 320, "JPEG"))
    assert (original.width, original.height) == ((4000, 3000) if orientation == 1 else (3000, 4000))
    assert (variant.width, variant.height) == ((320, 240) if orientation == 1 else (240, 320))
    [decoded] = loads
    assert decoded == (500, 375)  # libjpeg scaled by 1/8: still at least the variant on both axes


# --- refusals -------------------------------------------------------------------------------


def test_decompression_bomb_is_refused_before_decoding(loads):
    data = bilevel_png(20_000, 20_000)  # 400 megapixels in a few kilobytes
    assert len(data) < 100_000
    error = refusal(data)
    assert error.code == TOO_MANY_PIXELS and "400000000" in error.message
    assert loads == []


def test_image_over_max_pixels_is_refused_from_its_header(loads):
    error = refusal(encode(Image.new("L", (3000, 2000)), "PNG"), max_pixels=1_000_000)
    assert error.code == TOO_MANY_PIXELS
    assert "6000000" in error.message and "1000000" in error.message
    assert loads == []


@pytest.mark.parametrize("action", ["ignore", "error"])
def test_pillow_pixel_limit_applies_whatever_the_warning_filters(action):
    assert Image.MAX_IMAGE_PIXELS is not None and 100_000_000 > Image.MAX_IMAGE_PIXELS
    limit = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter(action, Image.DecompressionBombWarning)
        error = refusal(bilevel_png(10_000, 10_000), max_pixels=10**9)
    assert error.code == TOO_MANY_PIXELS
    assert Image.MAX_IMAGE_PIXELS == limit  # never changed


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_truncated_image_is_corrupt(fmt):
    data = encode(Image.frombytes("RGB", (64, 64), noise(64 * 64 * 3)), fmt)
    assert refusal(data[: len(data) // 2]).code == CORRUPT_IMAGE


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (encode(Image.new("RGB", (10, 10)), "PNG")[:20], "PNG"),
        (b"\x89PNG\r\n\x1a\n" + noise(200, b"png"), "PNG"),
        (b"\xff\xd8\xff" + noise(200, b"jpeg"), "JPEG"),
        (b"GIF89a" + noise(3, b"gif"), "GIF"),
    ],
    ids=["png-cut-in-header", "png-magic-then-garbage", "jpeg-magic-then-garbage", "gif-cut"],
)
def test_damaged_header_of_an_allowed_format_is_corrupt_not_unknown(data, fmt):
    error = refusal(data)
    assert error.code == CORRUPT_IMAGE and fmt in error.message


@pytest.mark.parametrize(
    "data",
    [noise(5000), b"Just a text file.\nNothing to see here.\n" * 20, b""],
    ids=["random-bytes", "text", "empty"],
)
def test_non_image_is_not_an_image(data):
    assert refusal(data).code == NOT_AN_IMAGE


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "ICO", "PPM", "QOI", "JPEG2000"])
def test_recognised_format_that_is_not_allowed_is_unsupported_and_never_decoded(fmt, loads):
    error = refusal(encode(Image.new("RGB", (32, 32), RED), fmt))
    assert error.code == UNSUPPORTED_FORMAT and fmt in error.message
    assert loads == []


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (struct.pack(">I", 24) + b"ftypheic\x00\x00\x00\x00mif1heic" + noise(64), "HEIF"),
        (struct.pack(">I", 28) + b"ftypavif\x00\x00\x00\x00avifmif1miaf" + noise(64), "AVIF"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
    ],
    ids=["heif", "avif", "svg"],
)
def test_heif_avif_and_svg_are_named_without_a_decoder(data, name):
    error = refusal(data)
    assert error.code == UNSUPPORTED_FORMAT and name in error.message


def test_allowed_formats_limit_which_decoders_run():
    data = encode(Image.new("P", (20, 20)), "GIF")
    error = refusal(data, allowed_formats=("JPEG", "PNG"))
    assert error.code == UNSUPPORTED_FORMAT and "GIF" in error.message
    original, _ = render(data, VariantSpec("p", 10, 10, "PNG"), allowed_formats=["gif"])
    assert original.format == "GIF"


def test_disallowed_webp_is_named_without_running_libwebp(monkeypatch):
    data = encode(Image.new("RGB", (20, 20), RED), "WEBP")
    calls = []
    monkeypatch.setattr(WebPImagePlugin._webp, "WebPAnimDecoder", lambda *a: calls.append(a))
    error = refusal(data, allowed_formats=["JPEG"])
    assert error.code == UNSUPPORTED_FORMAT and "WEBP" in error.message
    assert calls == []


# --- inputs and arguments -------------------------------------------------------------------


def test_mpo_is_reported_as_jpeg():
    frames = [quadrants(40, 20), Image.new("RGB", (40, 20), BLUE)]
    data = encode(frames[0], "MPO", save_all=True, append_images=frames[1:])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    original, [variant] = render(data, VariantSpec("j", 40, 20, "JPEG"))
    assert original == OriginalInfo(40, 20, "JPEG")
    assert close(reopen(variant).getpixel((5, 5)), RED, 30)


def test_unreadable_exif_block_is_ignored_not_fatal():
    data = encode(quadrants(40, 20), "JPEG", exif=b"Exif\x00\x00" + noise(40, b"exif"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow may warn about the garbage while parsing it
        original, [variant] = render(data, VariantSpec("j", 40, 40, "JPEG"))
    assert original == OriginalInfo(40, 20, "JPEG") and (variant.width, variant.height) == (40, 20)


def test_unseekable_stream_is_read_into_memory():
    class Unseekable(io.RawIOBase):
        def __init__(self, data):
            self._inner = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            return self._inner.readinto(buffer)

    stream = io.BufferedReader(Unseekable(encode(quadrants(20, 20), "PNG")))
    assert not stream.seekable()
    original, [variant] = render_variants(stream, [VariantSpec("p", 10, 10, "PNG")], max_pixels=400)
    assert original == OriginalInfo(20, 20, "PNG") and (variant.width, variant.height) == (10, 10)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "", "width": 10, "height": 10, "format": "JPEG"},
        {"name": "v", "width": 0, "height": 10, "format": "JPEG"},
        {"name": "v", "width": 10, "height": 10, "format": "GIF"},
        {"name": "v", "width": 10, "height": 10, "format": "JPEG", "quality": 101},
    ],
)
def test_invalid_variant_spec_is_refused(kwargs):
    with pytest.raises(ValueError, match="name|width|format|quality"):
        VariantSpec(**kwargs)


def test_variant_format_is_case_insensitive():
    assert VariantSpec("v", 10, 10, "webp").format == "WEBP"


@pytest.mark.parametrize(
    "kwargs",
    [{"max_pixels": 0}, {"max_pixels": 100, "allowed_formats": ["NOPE"]}],
)
def test_bad_arguments_are_programming_errors_not_processing_errors(kwargs):
    with pytest.raises(ValueError, match="max_pixels|allowed_formats"):
        render_variants(io.BytesIO(b""), [], **kwargs)
    specs = [VariantSpec("v", 10, 10, "PNG"), VariantSpec("v", 20, 20, "PNG")]
    with pytest.raises(ValueError, match="unique"):
        render_variants(io.BytesIO(b""), specs, max_pixels=100)
