"""Downscaling with Pillow's LANCZOS, in horizontal bands so the full-size copies Pillow makes stay small.

``Image.resize`` of an RGBA image first converts the whole image to
premultiplied alpha (a full-size copy: 16 MB for a 2560 x 1600 screenshot),
and every resize holds an intermediate of output width x input height. Both
were most of the pipeline's peak memory on large PNGs. :func:`resize` gives
the same pixels (Pillow's resampler, the same coefficients; within 2 levels
where a window's edge rounds the other way in a band) computed a band
of output rows at a time: each band crops the input rows its filter window
needs, premultiplies just those, and resamples them with ``box`` set so that
its filter windows are the full image's. Large reductions first ``reduce()``
each band by a whole factor, as ``resize(reducing_gap=...)`` does for the image.

Pillow resamples in two passes, rounding to 8 bits (and clipping LANCZOS'
overshoot) between them, so their order shows in the pixels. Since Pillow 13
the vertical pass runs first when the height shrinks by more than twice as
many pixels as the width (``ImagingResampleInner``, libImaging/Resample.c),
judged on the image it is handed; a band would be judged on its own rows (its
margins alone tip a near-identity resize), so each band runs the two passes
itself, in the order the whole image gets.
"""

from __future__ import annotations

import math

import PIL
from PIL import Image

#: Image.resize: "indistinguishable from fair resampling" from 3.0 on (Pillow's handbook, Image.resize).
REDUCING_GAP = 3.0
#: Output rows per band: enough to amortise each band's crop, small enough that a band is a fraction of the image.
BAND_ROWS = 128
#: Below this many input pixels Pillow's own resize is used: its copies are small anyway.
BANDED_ABOVE = 2_000_000
_SUPPORT = 3.0  # LANCZOS' support, in input pixels per output pixel (Pillow's lanczos filter: a = 3)
_PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}
_VERTICAL_FIRST = int(PIL.__version__.split(".")[0]) >= 13  # Pillow 13 chooses the order of its passes


def resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``image`` resampled to ``size`` (a downscale) with LANCZOS and a reducing gap of 3; the same mode."""
    if image.width * image.height <= BANDED_ABOVE or size[1] <= BAND_ROWS:
        return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
    factor_x = max(1, int(image.width / size[0] / REDUCING_GAP))
    factor_y = max(1, int(image.height / size[1] / REDUCING_GAP))
    mode = _PREMULTIPLIED.get(image.mode, image.mode)
    width, height = math.ceil(image.width / factor_x), math.ceil(image.height / factor_y)  # as reduce() leaves it
    vertical_first = _VERTICAL_FIRST and height - size[1] > 0 and height - size[1] > 2 * (width - size[0])
    out = Image.new(mode, size)
    scale = image.height / size[1]
    margin = _SUPPORT * scale + 2 * factor_y  # the filter's reach beyond a band, in input rows
    for top in range(0, size[1], BAND_ROWS):
        bottom = min(size[1], top + BAND_ROWS)
        first = max(0, math.floor(top * scale - margin))
        first -= first % factor_y  # reduce() groups rows from the band's top: keep the full image's groups
        last = min(image.height, math.ceil(bottom * scale + margin))
        band = image.crop((0, first, image.width, last))
        if mode != image.mode:
            band = band.convert(mode)
        box = (0.0, top * scale - first, float(image.width), bottom * scale - first)
        if factor_x > 1 or factor_y > 1:
            band = band.reduce((factor_x, factor_y))
            box = (0.0, box[1] / factor_y, image.width / factor_x, box[3] / factor_y)
        out.paste(_two_passes(band, (size[0], bottom - top), box, vertical_first), (0, top))
    return out.convert(image.mode) if mode != image.mode else out


def _two_passes(band: Image.Image, size: tuple[int, int], box: tuple[float, float, float, float],
                vertical_first: bool) -> Image.Image:
    """``band.resize(size, LANCZOS, box=box)`` as one pass across, then one down (or down first): each
    resize changes one dimension, so Pillow has no order to choose."""
    lanczos = Image.Resampling.LANCZOS
    if vertical_first:
        band = band.resize((band.width, size[1]), lanczos, box=(0, box[1], band.width, box[3]))
        return band.resize(size, lanczos, box=(box[0], 0, box[2], size[1]))
    band = band.resize((size[0], band.height), lanczos, box=(box[0], 0, box[2], band.height))
    return band.resize(size, lanczos, box=(0, box[1], size[0], box[3]))
