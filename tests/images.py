"""Test images the tests write themselves: HEIC (pillow-heif's encoder), AVIF, animations, phone-style photos.

pillow-heif is a test-only dependency (its x265 encoder is GPL): the app decodes with pi-heif. Its encoder
is used through ``pillow_heif.from_pillow`` and never registered with Pillow, so every HEIC the tests open
goes through pi-heif's plugin, as in production.
"""

from __future__ import annotations

import io
import struct

from PIL import ExifTags, Image, ImageCms

RED, GREEN, BLUE, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)


def quadrants(width: int, height: int) -> Image.Image:
    """Red top-left, green top-right, blue bottom-left, yellow bottom-right."""
    im = Image.new("RGB", (width, height))
    for box, colour in (((0, 0), RED), ((1, 0), GREEN), ((0, 1), BLUE), ((1, 1), YELLOW)):
        x, y = box[0] * width // 2, box[1] * height // 2
        im.paste(colour, (x, y, x + width // 2, y + height // 2))
    return im


def exif_bytes(orientation: int = 1, **tags) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    for name, value in tags.items():
        exif[getattr(ExifTags.Base, name)] = value
    return exif.tobytes()


def heic(im: Image.Image, *, quality: int = 90, exif: bytes | None = None, icc: bytes | None = None) -> bytes:
    """``im`` as a HEIC file (HEVC in HEIF). With an EXIF orientation, pillow-heif writes it as an iPhone
    does: the pixels as stored, an ``irot``/``imir`` transform, and the EXIF block keeping its orientation."""
    import pillow_heif

    extra = {key: value for key, value in (("exif", exif), ("icc_profile", icc)) if value is not None}
    out = io.BytesIO()
    pillow_heif.from_pillow(im).save(out, quality=quality, **extra)  # in info instead, it would turn the pixels
    return out.getvalue()


def encode(im: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def display_p3_icc() -> bytes:
    """A Display P3 ICC profile (v2, matrix/TRC), as phones embed: its D50-adapted primaries are Apple's,
    its tone curve a 2.2 gamma. Pillow cannot build RGB profiles other than sRGB, so it is written here
    by the ICC.1:2001-04 layout: a 128-byte header, a tag table, XYZType and curveType tags."""

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + bytes(4) + _s15(x) + _s15(y) + _s15(z)

    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, round(2.2 * 256)) + bytes(2)
    desc_text = b"Display P3 (test)\0"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(desc_text)) + desc_text + bytes(4 + 4 + 2 + 1 + 67)
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", xyz(0.5151, 0.2412, -0.0011)),
            (b"gXYZ", xyz(0.2920, 0.6922, 0.0419)), (b"bXYZ", xyz(0.1571, 0.0666, 0.7841)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for sig, data in tags:
        data += bytes(-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"lcms" + bytes.fromhex("02100000") + b"mntrRGB XYZ " + bytes(12)
              + b"acsp" + bytes(4 + 4 + 4 + 4 + 8 + 4) + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + bytes(4 + 16 + 28))
    assert len(header) == 128
    return header + table + body


def iphone_heic(width: int = 400, height: int = 200, picture: Image.Image | None = None) -> bytes:
    """A phone photo of ``picture`` (default ``quadrants(width, height)``) as an iPhone writes it: stored
    turned as the sensor saw it, with ``irot`` and EXIF orientation 6 (shown as ``picture`` once turned
    back), a Display P3 ICC profile, Apple's EXIF make and a GPS position."""
    picture = picture or quadrants(width, height)
    stored = picture.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif.load(exif_bytes(6, Make="Apple", Model="iPhone 15"))
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] = (51.0, 28.0, 38.0)
    return heic(stored, exif=exif.tobytes(), icc=display_p3_icc())


def in_srgb(colour: tuple[int, int, int], icc: bytes) -> tuple[int, int, int]:
    """What LittleCMS makes of ``colour`` in the profile ``icc`` once converted to sRGB."""
    pixel = Image.new("RGB", (1, 1), colour)
    source = ImageCms.getOpenProfile(io.BytesIO(icc))
    return ImageCms.profileToProfile(pixel, source, ImageCms.createProfile("sRGB")).getpixel((0, 0))


def animated_gif(frames: int = 4, size: tuple[int, int] = (60, 40), duration: int = 80, loop: int = 0) -> bytes:
    """``frames`` frames cycling red, green, blue, yellow, each ``duration`` ms, looping ``loop`` times."""
    colours = [RED, GREEN, BLUE, YELLOW]
    images = [Image.new("RGB", size, colours[i % 4]) for i in range(frames)]
    return encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=duration, loop=loop)


def animated_webp(frames: int = 3, size: tuple[int, int] = (60, 40), duration: int = 120) -> bytes:
    colours = [RED, GREEN, BLUE, YELLOW]
    images = [Image.new("RGBA", size, colours[i % 4]) for i in range(frames)]
    return encode(images[0], "WEBP", save_all=True, append_images=images[1:], duration=duration, loop=0,
                  lossless=True)
