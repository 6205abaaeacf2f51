"""A placeholder to show while a variant loads: a ThumbHash and the dominant colour (stdlib + Pillow).

ThumbHash (Evan Wallace, https://evanw.github.io/thumbhash/, MIT) packs an
image's low frequencies into about 25 bytes: average colour, a few DCT
coefficients of luminance and of two chroma channels (and of alpha), and the
aspect ratio. :func:`rgba_to_thumbhash` is a port of the reference encoder
``rgbaToThumbHash`` (``js/thumbhash.js`` of github.com/evanw/thumbhash). Its
DCT is computed separably (rows, then columns), so a 100 x 100 image takes
under 10 ms of pure Python instead of a few hundred; the sums run in another
order, so a coefficient that falls exactly on a rounding boundary may come
out one step (1/15 of its range) from the reference's, and every other byte
is the same. Browsers decode it with the reference decoder, which the JS
client ships (``thumbhash.js``). Tests compare both directions with the
reference implementation from npm.

The dominant colour is the most common of a median-cut palette of eight
colours over the opaque pixels, as ``#rrggbb``.
"""

from __future__ import annotations

import base64
import math
from collections import Counter
from operator import mul

from PIL import Image

#: The reference encoder refuses images over 100 x 100 pixels ("slow with no benefit").
MAX_SIDE = 100
#: What the pipeline encodes: the few DCT terms a ThumbHash keeps come out the same from 32 px as from 100 px
#: (box-filtered), at a tenth of the Python work (about 2 ms with the colour). Smaller images are enlarged to
#: it: the hash samples up to 7 cosines along a side, and a side of fewer pixels than that aliases the higher
#: ones into a pattern the image does not have (the reference's hash of one blue pixel decodes to orange stripes).
PLACEHOLDER_SIDE = 32
#: The shorter side's fewest pixels, for the same reason: alpha's 5 terms a side need 4 (a 1600 x 40 banner's
#: 200 x 5 variant would otherwise be hashed at 32 x 1, and decode striped across).
MIN_SIDE = 4


def _round(value: float) -> int:
    """JavaScript's Math.round: halves go up (Python's round() goes to even)."""
    return math.floor(value + 0.5)


def _encode_channel(channel: list[float], w: int, h: int, nx: int, ny: int) -> tuple[float, list[float], float]:
    """DC, normalised AC terms and AC scale of one channel, in the reference's order (cy outer, cx inner)."""
    wanted = [(cx, cy) for cy in range(ny) for cx in range(nx) if cx * ny < nx * (ny - cy)]
    columns = sorted({cx for cx, _ in wanted})
    fx = {cx: [math.cos(math.pi / w * cx * (x + 0.5)) for x in range(w)] for cx in columns}
    rows = [channel[y * w:(y + 1) * w] for y in range(h)]
    row_sums = {cx: [sum(map(mul, row, fx[cx])) for row in rows] for cx in columns}
    dc, ac, scale = 0.0, [], 0.0
    for cx, cy in wanted:
        fy = [math.cos(math.pi / h * cy * (y + 0.5)) for y in range(h)]
        f = sum(map(mul, row_sums[cx], fy)) / (w * h)
        if cx or cy:
            ac.append(f)
            scale = max(scale, abs(f))
        else:
            dc = f
    if scale:
        ac = [0.5 + 0.5 / scale * f for f in ac]
    return dc, ac, scale


def rgba_to_thumbhash(w: int, h: int, rgba: bytes) -> bytes:
    """The ThumbHash of a ``w`` x ``h`` image given as RGBA bytes (row-major, 4 bytes a pixel).

    Raises ValueError for a side over 100 pixels (the reference's limit) or a buffer of the wrong length.
    """
    if not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE):
        raise ValueError(f"{w}x{h} doesn't fit in {MAX_SIDE}x{MAX_SIDE}")
    if len(rgba) != w * h * 4:
        raise ValueError(f"expected {w * h * 4} bytes of RGBA for {w}x{h}, got {len(rgba)}")
    n = w * h
    alpha = [v / 255 for v in rgba[3::4]]
    red, green, blue = (rgba[i::4] for i in range(3))
    avg_a = sum(alpha)
    avg_r = sum(a / 255 * v for a, v in zip(alpha, red, strict=True))
    avg_g = sum(a / 255 * v for a, v in zip(alpha, green, strict=True))
    avg_b = sum(a / 255 * v for a, v in zip(alpha, blue, strict=True))
    if avg_a:
        avg_r, avg_g, avg_b = avg_r / avg_a, avg_g / avg_a, avg_b / avg_a
    has_alpha = avg_a < n
    l_limit = 5 if has_alpha else 7
    lx = max(1, _round(l_limit * w / max(w, h)))
    ly = max(1, _round(l_limit * h / max(w, h)))
    lum, p, q = [0.0] * n, [0.0] * n, [0.0] * n
    for i in range(n):  # composite atop the average colour, then RGB -> LPQ
        a = alpha[i]
        r = avg_r * (1 - a) + a / 255 * red[i]
        g = avg_g * (1 - a) + a / 255 * green[i]
        b = avg_b * (1 - a) + a / 255 * blue[i]
        lum[i], p[i], q[i] = (r + g + b) / 3, (r + g) / 2 - b, r - g
    l_dc, l_ac, l_scale = _encode_channel(lum, w, h, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _encode_channel(p, w, h, 3, 3)
    q_dc, q_ac, q_scale = _encode_channel(q, w, h, 3, 3)
    landscape = w > h
    header24 = (_round(63 * l_dc) | (_round(31.5 + 31.5 * p_dc) << 6) | (_round(31.5 + 31.5 * q_dc) << 12)
                | (_round(31 * l_scale) << 18) | (int(has_alpha) << 23))
    header16 = ((ly if landscape else lx) | (_round(63 * p_scale) << 3) | (_round(63 * q_scale) << 9)
                | (int(landscape) << 15))
    out = [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    channels = [l_ac, p_ac, q_ac]
    if has_alpha:
        a_dc, a_ac, a_scale = _encode_channel(alpha, w, h, 5, 5)
        out.append(_round(15 * a_dc) | (_round(15 * a_scale) << 4))
        channels.append(a_ac)
    nibbles = [_round(15 * f) for ac in channels for f in ac]
    nibbles += [0] * (len(nibbles) % 2)
    out += [nibbles[i] | (nibbles[i + 1] << 4) for i in range(0, len(nibbles), 2)]
    return bytes(out)


def _small(image: Image.Image) -> Image.Image:
    """``image`` as RGBA, box-filtered to PLACEHOLDER_SIDE on its longer side (down or up) and at least
    MIN_SIDE on its shorter (aspect kept otherwise: the hash stores the aspect itself, rounded much coarser)."""
    scale = PLACEHOLDER_SIDE / max(image.size)
    size = (max(MIN_SIDE, round(image.width * scale)), max(MIN_SIDE, round(image.height * scale)))
    small = image if size == image.size else image.resize(size, Image.Resampling.BOX)
    return small.convert("RGBA")


def dominant_color(rgba: Image.Image) -> str:
    """The most common colour of an 8-colour median-cut palette over pixels at least half opaque, ``#rrggbb``."""
    rgb = rgba.convert("RGB")
    opaque = [a >= 128 for a in rgba.getchannel("A").tobytes()]
    if not any(opaque):
        opaque = [True] * len(opaque)
    quantized = rgb.quantize(colors=8, method=Image.Quantize.MEDIANCUT)
    counts = Counter(index for index, keep in zip(quantized.tobytes(), opaque, strict=True) if keep)
    index = counts.most_common(1)[0][0]
    red, green, blue = quantized.getpalette()[index * 3:index * 3 + 3]
    return f"#{red:02x}{green:02x}{blue:02x}"


def placeholder(image: Image.Image) -> tuple[str, str]:
    """``(ThumbHash as standard base64, dominant colour "#rrggbb")`` of an RGB or RGBA image."""
    small = _small(image)
    thumbhash = rgba_to_thumbhash(small.width, small.height, small.tobytes())
    return base64.b64encode(thumbhash).decode("ascii"), dominant_color(small)
