"""Bring a decoded image to sRGB RGB or RGBA, converting colour after resizing where that is cheaper (no Django).

An embedded ICC profile (a phone's Display P3, a print CMYK), or the profile
:mod:`.icc` writes for a HEIC's or AVIF's ``nclx`` code points, is converted to
sRGB with LittleCMS. That conversion costs time in proportion to pixels, so
:func:`prepare` only builds the transform and :func:`finish` applies it to each
rendering, whose pixels are a fraction of the original's. Resampling before
the conversion happens in the source's own (gamma-encoded) space instead of
sRGB's; both are perceptual encodings, and measured here the difference is
below JPEG's own noise. Without a usable profile the image is converted at
once, as before.
"""

from __future__ import annotations

import contextlib
import io

from PIL import Image, ImageCms  # ImageCms imports without LittleCMS

from realtime_uploads.processing.image.icc import profile_for_nclx

#: Modes LittleCMS transforms and Pillow resizes as they are.
_CMS_MODES = ("RGB", "RGBA", "CMYK", "L")


def _fix_palette_alpha(im: Image.Image) -> None:
    alphas = im.info.get("transparency")
    if im.mode == "P" and isinstance(alphas, bytes):
        # PNG 3rd ed. 11.3.2.1: tRNS holds at most one alpha per palette entry; libpng ignores the
        # excess as a benign error, Pillow's convert() raises "palette index out of range".
        entries = min(256, len(im.getpalette() or ()) // 3)
        if len(alphas) > entries:
            im.info["transparency"] = alphas[:entries]


def prepare(im: Image.Image) -> tuple[Image.Image, ImageCms.ImageCmsTransform | None]:
    """``(image, transform)``: ``image`` resizable with an empty ``info``, maybe ``im`` itself; ``transform``
    turns a rendering of it into sRGB (None: it already is sRGB "RGB" or "RGBA")."""
    _fix_palette_alpha(im)
    if im.mode.startswith("I;16"):  # 16-bit grey PNG: scale, as a plain convert() clips at 255
        im = im.convert("I").point(lambda v: v / 257).convert("L")
    mode = "RGBA" if im.has_transparency_data else "RGB"
    if im.mode not in _CMS_MODES or "transparency" in im.info:
        im = im.convert(mode)  # palette, 1-bit, LA, colour-keyed ...: the modes LittleCMS lacks
    icc = im.info.get("icc_profile")
    if not icc and im.mode in ("RGB", "RGBA"):  # a HEIC's or AVIF's colour as H.273 code points instead
        icc = profile_for_nclx(im.info.get("nclx_profile"))
    if im.mode == "RGBA" and im.getextrema()[3][0] == 255:
        im = im.convert("RGB")  # alpha present but fully opaque
        mode = "RGB"
    transform = None
    if icc:
        with contextlib.suppress(Exception):  # no LittleCMS, a bad or unfit profile: convert() below
            profile, srgb = ImageCms.getOpenProfile(io.BytesIO(icc)), ImageCms.createProfile("sRGB")
            transform = ImageCms.buildTransform(profile, srgb, im.mode, mode)
    if transform is None and im.mode != mode:
        im = im.convert(mode)
    im.info = {}
    return im, transform


def finish(image: Image.Image, transform: ImageCms.ImageCmsTransform | None) -> Image.Image:
    """``image`` (a rendering of :func:`prepare`'s image) in sRGB with an empty ``info``."""
    if transform is not None:
        try:
            image = ImageCms.applyTransform(image, transform)
        except Exception:  # a transform LittleCMS built but cannot run on this image: colours as stored
            image = image.convert("RGBA" if image.mode == "RGBA" else "RGB")
    image.info = {}
    return image
