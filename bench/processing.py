"""processing: a 4000×3000 JPEG and a screenshot PNG to the configured variants; baseline: naive Pillow.

What is timed is the whole ``render_variants`` call of the processor
(``realtime_uploads.processing.image``) on the bytes of each input, to the
app's default ``VARIANTS`` (every format of every variant). Baselines in the
same run: naive Pillow (``Image.open``, ``load()``, then per variant
``resize(LANCZOS)`` from the full image and ``save`` of each format with the
variant's quality, Pillow's defaults otherwise) and libvips' ``thumbnail``
per variant (pyvips, when it imports and has every saver needed).

The inputs are drawn here, deterministically, and kept in a temporary
directory for the run: a photo-like JPEG (quality 90, EXIF orientation 1:
smooth large-scale structure, mid-frequency texture, grain, sharp edges) and
a screenshot-like RGBA PNG (flat panels, gradients, text, a photo inset,
rounded window corners with a soft shadow, so partly transparent).

- **ms**: per input, the median of ``--repeat`` runs in this process, the
  engines interleaved (their order rotated each repetition); the sum over the
  inputs. CPU ms (every thread of the process) beside it.
- **peak MB**: each engine × input in a fresh process (this script with a
  hidden ``--child``): the engine warmed up on a tiny image of the same format
  (imports, plugins, encoders), the input's bytes read, then the kernel's
  peak RSS reset (``/proc/self/clear_refs``; ``ru_maxrss`` where that is
  refused) and the RSS read; after the work, peak RSS (VmHWM) minus that RSS.
  Median of ``--memory-repeat`` processes; the max over the inputs.
- **PSNR dB**: every output of every engine decoded with Pillow and compared
  with a reference rendered losslessly: the fully decoded original (no draft),
  EXIF-oriented, LANCZOS-resized to that output's size; both flattened on
  white (an output with alpha is compared as it shows on a white page), PSNR
  over R, G and B (8-bit, MSE over every channel). The mean over all outputs.

    python -m bench.processing [--repeat 7] [--memory-repeat 3] [--photo 4000x3000] [--screenshot 2560x1600]
    python -m bench.processing --lambda-size   # instead: the Lambda package's unzipped size (needs PyPI)
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import io
import json
import math
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MAX_PIXELS = 100_000_000
ENGINES = ("pipeline", "naive", "pyvips")
LABELS = {"pipeline": "pipeline (render_variants)", "naive": "naive Pillow", "pyvips": "pyvips thumbnail"}
# Goal (the issue): <= 0.40x naive Pillow's time, <= 0.5x its peak memory, PSNR no more than 0.5 dB below naive's.
GOAL_TIME, GOAL_MEMORY, GOAL_PSNR_DB = 0.40, 0.5, -0.5
PSNR_CAP_DB = 100.0  # identical images: a finite number for the JSON line
SEED = 20240601
LOSSY = frozenset({"JPEG", "WEBP", "AVIF", "HEIF"})
VIPS_SUFFIX = {"JPEG": ".jpg", "WEBP": ".webp", "AVIF": ".avif", "PNG": ".png"}

# The Lambda package: the Makefile's build-ProcessorFunction (pip --target with the runtime's wheels). Its
# LAMBDA_PIP_PLATFORM is read from the Makefile; this is the fallback when the line is not found.
LAMBDA_PIP_PLATFORM = ["--platform", "manylinux2014_x86_64", "--implementation", "cp", "--python-version", "3.12",
                       "--only-binary=:all:"]
# Lambda's python3.12 runtime is Amazon Linux 2023 (glibc 2.34): manylinux_2_28 wheels run there. Tried when the
# Makefile's platform finds no wheel (pi-heif >= 1.1 has none for manylinux2014).
LAMBDA_PIP_FALLBACK = ["--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64",
                       "--implementation", "cp", "--python-version", "3.12", "--only-binary=:all:"]
LAMBDA_REQUIREMENTS = ["Pillow>=11.3", "pi-heif>=1.1"]
LAMBDA_SOURCES = ["realtime_uploads/__init__.py", "realtime_uploads/signing.py", "realtime_uploads/processing"]
#: docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: 250 MB unzipped (package and layers;
#: the API's message says 262144000 bytes), 50 MB zipped when uploaded directly rather than from S3.
LAMBDA_UNZIPPED_LIMIT = 262_144_000
LAMBDA_ZIPPED_DIRECT_LIMIT = 50 * 1024 * 1024
MB = 1024 * 1024


# --- the work: variants, and the three engines ---------------------------------------------------------


@dataclass(frozen=True)
class Output:
    """One encoded file: the variant it belongs to, its format and its bytes."""

    variant: str
    format: str
    data: bytes


def load_specs() -> tuple:
    """The app's default VARIANTS as VariantSpecs."""
    from realtime_uploads.processing.config import variant_specs
    from realtime_uploads.processing.settings_schema import DEFAULTS

    return tuple(variant_specs(DEFAULTS["VARIANTS"]))


def formats_of(spec) -> list[tuple[str, int]]:
    """``(format, quality)`` for every file of a variant: ``spec.formats`` / ``quality_for``, or the one format."""
    formats = tuple(getattr(spec, "formats", None) or (spec.format,))
    quality_for = getattr(spec, "quality_for", None)
    return [(str(f).upper(), int(quality_for(f) if callable(quality_for) else spec.quality)) for f in formats]


def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The largest size within ``box`` keeping the aspect of ``size``; never above ``size``."""
    width, height = size
    if width <= box[0] and height <= box[1]:
        return size
    scale = min(box[0] / width, box[1] / height)
    return min(box[0], max(1, round(width * scale))), min(box[1], max(1, round(height * scale)))


def run_pipeline(data: bytes, specs: Sequence) -> list[Output]:
    """The processor: one ``render_variants`` call; every file of every rendered variant."""
    from realtime_uploads.processing.image import render_variants

    _, rendered = render_variants(io.BytesIO(data), specs, max_pixels=MAX_PIXELS)
    return [Output(variant.name, str(file.format).upper(), file.data)
            for variant in rendered for file in (getattr(variant, "files", None) or [variant])]


def run_naive(data: bytes, specs: Sequence) -> list[Output]:
    """Naive Pillow: open, load, per variant resize(LANCZOS) from the full image, save each format."""
    from PIL import Image

    im = Image.open(io.BytesIO(data))
    im.load()
    if im.mode not in ("RGB", "RGBA"):
        im = im.convert("RGBA" if im.has_transparency_data else "RGB")
    outputs = []
    for spec in specs:
        resized = im.resize(fit(im.size, (spec.width, spec.height)), Image.Resampling.LANCZOS)
        for fmt, quality in formats_of(spec):
            image = resized
            if fmt == "JPEG" and image.mode == "RGBA":
                image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image).convert("RGB")
            buffer = io.BytesIO()
            image.save(buffer, fmt, **({"quality": quality} if fmt in LOSSY else {}))
            outputs.append(Output(spec.name, fmt, buffer.getvalue()))
    return outputs


def run_pyvips(data: bytes, specs: Sequence) -> list[Output]:
    """libvips: ``thumbnail_buffer`` per variant (shrink-on-load), then a saver per format, metadata dropped."""
    import pyvips

    # Operations cached by an earlier run of the same bytes would make this one free: start empty.
    limit = pyvips.cache_get_max()
    pyvips.cache_set_max(0)
    pyvips.cache_set_max(limit)
    outputs = []
    for spec in specs:
        formats = formats_of(spec)
        thumb = pyvips.Image.thumbnail_buffer(data, spec.width, height=spec.height, size="down")
        if len(formats) > 1:
            thumb = thumb.copy_memory()  # libvips is lazy: render once, save it twice
        for fmt, quality in formats:
            image = thumb.flatten(background=[255, 255, 255]) if fmt == "JPEG" and thumb.hasalpha() else thumb
            options = f"Q={quality},keep=none" if fmt in LOSSY else "keep=none"
            outputs.append(Output(spec.name, fmt, image.write_to_buffer(f"{VIPS_SUFFIX[fmt]}[{options}]")))
    return outputs


RUN: dict[str, Callable[[bytes, Sequence], list[Output]]] = {
    "pipeline": run_pipeline, "naive": run_naive, "pyvips": run_pyvips}


def pyvips_unavailable(specs: Sequence) -> str | None:
    """Why pyvips cannot render these variants (it does not import, a saver is missing), or None."""
    try:
        import pyvips
    except Exception as exc:  # ImportError, or OSError/cffi errors when libvips itself does not load
        return f"pyvips does not import ({type(exc).__name__}: {exc})"
    tiny = (pyvips.Image.black(8, 8, bands=3) + 128).cast("uchar")
    for fmt in sorted({fmt for spec in specs for fmt, _ in formats_of(spec)}):
        if fmt not in VIPS_SUFFIX:
            return f"no libvips saver mapped for {fmt}"
        try:
            tiny.write_to_buffer(VIPS_SUFFIX[fmt])
        except pyvips.Error as exc:
            return f"libvips {pyvips.version(0)}.{pyvips.version(1)} cannot save {fmt}: {str(exc).strip()[:120]}"
    return None


def pyvips_version() -> str:
    import pyvips

    return ".".join(str(pyvips.version(i)) for i in range(3))


# --- the inputs ----------------------------------------------------------------------------------------


def _noise(rng: random.Random, size: tuple[int, int], mode: str):
    from PIL import Image

    return Image.frombytes(mode, size, rng.randbytes(size[0] * size[1] * len(mode)))


def _fractal(rng: random.Random, size: tuple[int, int], mode: str = "L", *, persistence: float = 0.55,
             finest: int = 4):
    """Octaves of value noise: each doubles the resolution and adds ``persistence`` x the previous weight,
    the finest at ~1/``finest`` of ``size``; upscaled BICUBIC and stretched to the full range."""
    from PIL import Image, ImageOps

    width, height = 4, max(1, round(4 * size[1] / size[0]))
    field, total, weight = _noise(rng, (width, height), mode), 1.0, 1.0
    while width * 2 <= max(4, size[0] // finest):
        width, height, weight = width * 2, height * 2, weight * persistence
        total += weight
        field = Image.blend(field.resize((width, height), Image.Resampling.BICUBIC),
                            _noise(rng, (width, height), mode), weight / total)
    field = field.resize(size, Image.Resampling.BICUBIC)
    return ImageOps.autocontrast(field, cutoff=0.5) if mode == "L" else field


def _ridge(rng: random.Random, width: int, base: float, rough: float) -> list[float]:
    """A skyline by midpoint displacement: ``width + 1`` heights around ``base``."""
    points, step, spread = {0: base, width: base}, width, rough
    while step > 1:
        half = step // 2
        for x in range(0, width - step + 1, step):
            points[x + half] = (points[x] + points[x + step]) / 2 + rng.uniform(-spread, spread)
        step, spread = half, spread * 0.55
    xs = sorted(points)
    return [points[x] for x in xs] if len(xs) == width + 1 else [base] * (width + 1)


def draw_photo(size: tuple[int, int], seed: int = SEED):
    """A photo-like RGB image: sky, clouds, hills, a town, wires, foliage, lens softness and grain."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

    rng = random.Random(seed)  # noqa: S311 - a reproducible picture, not a secret
    width, height = size
    unit = width / 4000
    # Sky: a vertical gradient, clouds screened on top.
    sky = ImageOps.colorize(Image.linear_gradient("L").resize(size, Image.Resampling.BICUBIC),
                            (52, 98, 178), (196, 218, 238))
    clouds = _fractal(rng, size, persistence=0.62, finest=8).point(lambda v: max(0, v - 120) * 2)
    sky = ImageChops.screen(sky, Image.merge("RGB", (clouds, clouds, clouds)).point(lambda v: v * 0.7))
    # Hills: fractal luminance coloured earth-green, a low-resolution colour cast, mid-frequency texture.
    terrain = ImageOps.colorize(_fractal(rng, size, persistence=0.58), (28, 36, 18), (206, 192, 140),
                                mid=(92, 116, 52))
    terrain = Image.blend(terrain, _fractal(rng, size, "RGB", persistence=0.5, finest=64), 0.18)
    texture = _noise(rng, (max(1, width // 5), max(1, height // 5)), "L").resize(size, Image.Resampling.BICUBIC)
    terrain = ImageChops.overlay(terrain, Image.merge("RGB", (texture,) * 3).point(lambda v: 96 + v // 4))
    # A hard skyline between them.
    skyline = _ridge(rng, 256, height * 0.42, height * 0.12)
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    draw.polygon([(i * width / 256, y) for i, y in enumerate(skyline)] + [(width, height), (0, height)], fill=255)
    picture = Image.composite(terrain, sky, mask)
    draw = ImageDraw.Draw(picture)
    # The sun, with a glow.
    glow = Image.new("L", (max(1, width // 8), max(1, height // 8)), 0)
    sx, sy, r = 0.78 * glow.width, 0.16 * glow.height, max(2, 0.03 * glow.width)
    ImageDraw.Draw(glow).ellipse((sx - r, sy - r, sx + r, sy + r), fill=255)
    glow = glow.filter(ImageFilter.GaussianBlur(r * 1.5)).resize(size, Image.Resampling.BICUBIC)
    picture = ImageChops.screen(picture, Image.merge("RGB", (glow, glow, glow.point(lambda v: v * 0.8))))
    draw = ImageDraw.Draw(picture)
    # A town on the hills: walls, roofs and windows (sharp edges, fine detail).
    for _ in range(40):
        x, w = rng.uniform(0.05, 0.95) * width, rng.uniform(60, 220) * unit
        base = skyline[min(256, int(x / width * 256))] + rng.uniform(0.05, 0.35) * height
        h = rng.uniform(80, 260) * unit
        wall = tuple(rng.randint(150, 235) for _ in range(3))
        draw.rectangle((x, base - h, x + w, base), fill=wall, outline=(40, 36, 32), width=max(1, round(3 * unit)))
        draw.polygon([(x - 8 * unit, base - h), (x + w / 2, base - h - 0.5 * w), (x + w + 8 * unit, base - h)],
                     fill=(rng.randint(120, 170), rng.randint(40, 70), rng.randint(30, 50)))
        pane = max(2, round(16 * unit))
        for wy in range(int(base - h + 2 * pane), int(base - pane), 3 * pane):
            for wx in range(int(x + pane), int(x + w - pane), 3 * pane):
                draw.rectangle((wx, wy, wx + pane, wy + 1.4 * pane), fill=(40, 52, 70) if rng.random() < 0.7
                               else (250, 226, 150))
    # Trees: dark blobs with lighter speckle.
    for _ in range(140):
        x, y = rng.uniform(0, width), rng.uniform(0.5, 1.0) * height
        r = rng.uniform(20, 90) * unit
        green = (rng.randint(20, 60), rng.randint(60, 110), rng.randint(20, 50))
        draw.ellipse((x - r, y - r, x + r, y + r * 0.8), fill=green)
        for _ in range(12):
            dx, dy, s = rng.uniform(-r, r) * 0.7, rng.uniform(-r, r) * 0.6, r * rng.uniform(0.08, 0.2)
            draw.ellipse((x + dx - s, y + dy - s, x + dx + s, y + dy + s),
                         fill=tuple(min(255, c + 40) for c in green))
    # Wires across the sky.
    for i in range(3):
        y0, y1 = (0.08 + 0.05 * i) * height, (0.22 + 0.04 * i) * height
        draw.line([(0, y0), (width * 0.5, (y0 + y1) / 2 + 40 * unit), (width, y1)], fill=(30, 30, 34),
                  width=max(1, round(4 * unit)), joint="curve")
    # Lens softness, then grain (+-7 levels).
    picture = picture.filter(ImageFilter.GaussianBlur(0.8 * max(unit, 0.25)))
    grain = _noise(rng, size, "RGB").point(lambda v: v * 14 // 255)
    return ImageChops.add(picture, grain, offset=-7)


def draw_screenshot(size: tuple[int, int], seed: int = SEED + 1):
    """A screenshot-like RGBA image: a window with rounded corners and a soft shadow on transparency,
    a title bar gradient, a sidebar, text at several sizes, cards, buttons, a chart and a photo."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

    rng = random.Random(seed)  # noqa: S311 - a reproducible picture, not a secret
    width, height = size
    unit = height / 1600
    margin, radius = round(48 * unit), max(2, round(22 * unit))
    win = (margin, margin // 2, width - margin, height - margin)

    def font(px: float):
        return ImageFont.load_default(size=max(6, round(px * unit)))

    words = ("upload variant socket thumbnail pending processing ready image bucket region signed callback "
             "history queue worker format quality retry preview deadline webhook event").split()

    def sentence(n: int) -> str:
        return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."

    shadow = Image.new("L", size, 0)
    ImageDraw.Draw(shadow).rounded_rectangle((win[0], win[1] + 12 * unit, win[2], win[3] + 12 * unit), radius,
                                             fill=110)
    shadow = shadow.filter(ImageFilter.GaussianBlur(max(1, 18 * unit)))
    body = Image.new("RGB", (win[2] - win[0], win[3] - win[1]), (246, 247, 249))
    bw, bh = body.size
    draw = ImageDraw.Draw(body)
    # Title bar: a gradient, traffic lights, a title.
    bar = round(56 * unit)
    body.paste(ImageOps.colorize(Image.linear_gradient("L").resize((bw, bar)), (236, 236, 238), (214, 214, 218)),
               (0, 0))
    for i, colour in enumerate(((255, 95, 86), (255, 189, 46), (39, 201, 63))):
        cx, cy, r = (28 + 30 * i) * unit, bar / 2, 9 * unit
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    draw.text((bw / 2, bar / 2), "Uploads - realtime-uploads demo", fill=(60, 60, 64), font=font(22), anchor="mm")
    # Sidebar.
    side = round(300 * unit)
    draw.rectangle((0, bar, side, bh), fill=(32, 36, 44))
    for i in range(14):
        y = bar + (40 + 52 * i) * unit
        if i == 2:
            draw.rounded_rectangle((12 * unit, y - 10 * unit, side - 12 * unit, y + 34 * unit), 8 * unit,
                                   fill=(58, 96, 204))
        draw.text((32 * unit, y), rng.choice(words).capitalize(), fill=(222, 226, 234), font=font(19))
    # Header and paragraphs.
    x0 = side + 48 * unit
    draw.text((x0, bar + 40 * unit), "Recent uploads", fill=(20, 22, 28), font=font(40))
    y = bar + 110 * unit
    for _ in range(4):
        draw.text((x0, y), sentence(rng.randint(9, 14)), fill=(70, 74, 84), font=font(18))
        y += 30 * unit
    # Cards: thumbnails of coloured gradients, titles, progress bars, buttons.
    card_w, card_h, gap = 380 * unit, 250 * unit, 28 * unit
    top = y + 30 * unit
    for i in range(6):
        cx = x0 + (i % 3) * (card_w + gap)
        cy = top + (i // 3) * (card_h + gap)
        draw.rounded_rectangle((cx, cy, cx + card_w, cy + card_h), 14 * unit, fill=(255, 255, 255),
                               outline=(222, 224, 230), width=max(1, round(2 * unit)))
        tile = ImageOps.colorize(Image.linear_gradient("L").rotate(rng.choice((0, 90, 45)))
                                 .resize((round(card_w - 32 * unit), round(110 * unit))),
                                 tuple(rng.randint(40, 200) for _ in range(3)),
                                 tuple(rng.randint(120, 255) for _ in range(3)))
        body.paste(tile, (round(cx + 16 * unit), round(cy + 16 * unit)))
        draw.text((cx + 16 * unit, cy + 140 * unit), f"IMG_{4000 + i * 37}.jpg", fill=(24, 26, 32), font=font(20))
        done = rng.uniform(0.2, 1.0)
        draw.rounded_rectangle((cx + 16 * unit, cy + 180 * unit, cx + card_w - 16 * unit, cy + 190 * unit),
                               5 * unit, fill=(230, 232, 238))
        draw.rounded_rectangle((cx + 16 * unit, cy + 180 * unit,
                                cx + 16 * unit + done * (card_w - 32 * unit), cy + 190 * unit),
                               5 * unit, fill=(58, 96, 204))
        draw.text((cx + 16 * unit, cy + 204 * unit), f"{done:.0%} · {rng.choice(words)}", fill=(110, 114, 124),
                  font=font(16))
        button = ImageOps.colorize(Image.linear_gradient("L").resize((round(96 * unit), round(34 * unit))),
                                   (86, 126, 232), (48, 84, 190))
        body.paste(button, (round(cx + card_w - 112 * unit), round(cy + 200 * unit)))
        draw.text((cx + card_w - 64 * unit, cy + 217 * unit), "Open", fill="white", font=font(16), anchor="mm")
    # A chart: axes, grid, a line.
    chart = (x0, top + 2 * (card_h + gap), x0 + 2 * card_w + gap, bh - 40 * unit)
    draw.rectangle(chart, fill=(255, 255, 255), outline=(222, 224, 230))
    for i in range(1, 5):
        gy = chart[1] + i * (chart[3] - chart[1]) / 5
        draw.line((chart[0] + 8, gy, chart[2] - 8, gy), fill=(236, 238, 242))
        draw.text((chart[0] + 8, gy - 18 * unit), f"{(5 - i) * 200}", fill=(130, 134, 144), font=font(13))
    value, points = 0.5, []
    for i in range(60):
        value = min(0.95, max(0.05, value + rng.uniform(-0.08, 0.08)))
        points.append((chart[0] + 40 * unit + i * (chart[2] - chart[0] - 60 * unit) / 59,
                       chart[3] - value * (chart[3] - chart[1])))
    draw.line(points, fill=(58, 96, 204), width=max(1, round(3 * unit)), joint="curve")
    # A photo beside the chart.
    inset = (round(chart[2] + gap), round(chart[1]), round(x0 + 3 * card_w + 2 * gap), round(chart[3]))
    if inset[2] - inset[0] > 4 and inset[3] - inset[1] > 4:
        body.paste(draw_photo((inset[2] - inset[0], inset[3] - inset[1]), seed + 7), inset[:2])
    # An activity list on the right: striped rows, status pills, sizes.
    panel = (round(x0 + 3 * card_w + 3 * gap), round(bar + 40 * unit), round(bw - 40 * unit), round(bh - 40 * unit))
    if panel[2] - panel[0] > 40 * unit:
        draw.rounded_rectangle(panel, 12 * unit, fill=(255, 255, 255), outline=(222, 224, 230))
        draw.text((panel[0] + 20 * unit, panel[1] + 18 * unit), "Activity", fill=(20, 22, 28), font=font(26))
        row_h, y = 44 * unit, panel[1] + 70 * unit
        pills = {"ready": (46, 160, 90), "processing": (58, 96, 204), "failed": (200, 60, 60),
                 "pending": (150, 150, 160)}
        while y + row_h < panel[3] - 10 * unit:
            if round((y - panel[1]) / row_h) % 2:
                draw.rectangle((panel[0] + 1, y, panel[2] - 1, y + row_h), fill=(248, 249, 251))
            status = rng.choice(list(pills))
            draw.text((panel[0] + 20 * unit, y + 12 * unit), f"{rng.randint(0, 23):02}:{rng.randint(0, 59):02}",
                      fill=(120, 124, 134), font=font(15))
            draw.text((panel[0] + 90 * unit, y + 12 * unit), f"{rng.choice(words)}_{rng.randint(1, 999)}.jpg",
                      fill=(30, 32, 38), font=font(17))
            pill_x = panel[2] - 250 * unit
            draw.rounded_rectangle((pill_x, y + 9 * unit, pill_x + 110 * unit, y + 35 * unit), 13 * unit,
                                   fill=pills[status])
            draw.text((pill_x + 55 * unit, y + 22 * unit), status, fill="white", font=font(14), anchor="mm")
            draw.text((panel[2] - 20 * unit, y + 22 * unit), f"{rng.uniform(0.1, 9.9):.1f} MB",
                      fill=(110, 114, 124), font=font(15), anchor="rm")
            y += row_h
    # The window on the shadow, its corners rounded.
    corners = Image.new("L", body.size, 0)
    ImageDraw.Draw(corners).rounded_rectangle((0, 0, bw - 1, bh - 1), radius, fill=255)
    canvas = Image.merge("RGBA", (*Image.new("RGB", size, (0, 0, 0)).split(), shadow))
    canvas.paste(body.convert("RGBA"), win[:2], corners)
    return canvas


@dataclass(frozen=True)
class Input:
    name: str
    path: Path
    size: tuple[int, int]
    format: str
    bytes: int

    @property
    def label(self) -> str:
        size = f"{self.bytes / MB:.1f} MB" if self.bytes >= MB else f"{self.bytes / 1024:.0f} KB"
        return f"{self.name} {self.size[0]}x{self.size[1]} {self.format} {size}"


def make_inputs(folder: Path, photo: tuple[int, int], screenshot: tuple[int, int]) -> list[Input]:
    """The two inputs, drawn once into ``folder``."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 1  # Orientation: top-left
    exif[0x010F], exif[0x0110] = "realtime-uploads", "bench.processing"  # Make, Model
    photo_path, shot_path = folder / "photo.jpg", folder / "screenshot.png"
    draw_photo(photo).save(photo_path, "JPEG", quality=90, exif=exif.tobytes())
    draw_screenshot(screenshot).save(shot_path, "PNG")
    return [Input("photo", photo_path, photo, "JPEG", photo_path.stat().st_size),
            Input("screenshot", shot_path, screenshot, "PNG", shot_path.stat().st_size)]


# --- measurements --------------------------------------------------------------------------------------


def time_engines(engines: Sequence[str], inputs: Sequence[Input], specs: Sequence, repeat: int
                 ) -> tuple[dict, dict, dict]:
    """Wall and CPU seconds of each engine on each input, ``repeat`` times, interleaved and rotated;
    and each engine's outputs (of the last repetition) for the quality check."""
    data = {i.name: i.path.read_bytes() for i in inputs}
    wall = {(e, i.name): [] for e in engines for i in inputs}
    cpu = {(e, i.name): [] for e in engines for i in inputs}
    outputs = {}
    for engine in engines:  # warm-up: imports, plugins, encoders, libvips' threads
        for item in inputs:
            RUN[engine](data[item.name], specs)
    for rep in range(repeat):
        order = list(engines[rep % len(engines):]) + list(engines[:rep % len(engines)])
        for item in inputs:
            for engine in order:
                gc.collect()
                started, started_cpu = time.perf_counter(), time.process_time()
                result = RUN[engine](data[item.name], specs)
                wall[engine, item.name].append(time.perf_counter() - started)
                cpu[engine, item.name].append(time.process_time() - started_cpu)
                outputs[engine, item.name] = result
    return wall, cpu, outputs


def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _tiny_input(fmt: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    image = Image.new("RGBA" if fmt == "PNG" else "RGB", (64, 48), (120, 140, 160))
    image.save(buffer, fmt)
    return buffer.getvalue()


def child(engine: str, path: str) -> None:
    """In a fresh process: warm ``engine`` up, then its peak RSS over one run on ``path``; one JSON line."""
    specs = load_specs()
    data = Path(path).read_bytes()
    RUN[engine](_tiny_input("PNG" if path.endswith(".png") else "JPEG"), specs)
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)  # glibc: hand freed warm-up memory back, so RSS is the floor
    except (OSError, AttributeError):
        pass
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS (Linux >= 4.0)
        method = "VmHWM after clear_refs"
    except OSError:
        method = "ru_maxrss"
    before = _status_kb("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outputs = RUN[engine](data, specs)
    peak = (_status_kb("VmHWM") if method.startswith("VmHWM") else None) or \
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"before_kb": before, "peak_kb": peak, "delta_kb": peak - before, "method": method,
                      "outputs": len(outputs)}), flush=True)


def measure_memory(engines: Sequence[str], inputs: Sequence[Input], repeat: int) -> tuple[dict, str]:
    """Peak RSS over the work, MB, median of ``repeat`` fresh processes per engine × input (interleaved)."""
    deltas: dict[tuple[str, str], list[float]] = {(e, i.name): [] for e in engines for i in inputs}
    method = ""
    for _ in range(repeat):
        for item in inputs:
            for engine in engines:
                run = subprocess.run(  # noqa: S603 - this interpreter, this script, our own temp file
                    [sys.executable, "-m", "bench.processing", "--child", engine, str(item.path)],
                    cwd=ROOT, capture_output=True, text=True, timeout=600)
                if run.returncode:
                    raise RuntimeError(f"{engine} on {item.name} failed in its own process:\n{run.stderr[-3000:]}")
                result = json.loads(run.stdout.strip().splitlines()[-1])
                deltas[engine, item.name].append(result["delta_kb"] / 1024)
                method = result["method"]
    return {key: statistics.median(values) for key, values in deltas.items()}, method


def _flattened(image):
    """RGB as shown on white: an image with alpha composited on white."""
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and image.has_transparency_data):
        image = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", image.size, "white"), image).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def psnr(a, b) -> float:
    """PSNR of two RGB images of one size, dB: MSE over every channel from a histogram of the difference."""
    from PIL import ImageChops

    histogram = ImageChops.difference(a, b).histogram()
    squares = sum(count * (i % 256) ** 2 for i, count in enumerate(histogram))
    mse = squares / (a.width * a.height * 3)
    return PSNR_CAP_DB if mse == 0 else min(PSNR_CAP_DB, 10 * math.log10(255 ** 2 / mse))


@dataclass(frozen=True)
class Quality:
    engine: str
    input: str
    variant: str
    format: str
    size: tuple[int, int]
    bytes: int
    psnr_db: float


def measure_quality(outputs: dict, inputs: Sequence[Input]) -> list[Quality]:
    """Each output against the LANCZOS reference at its size, from the fully decoded, oriented original."""
    from PIL import Image, ImageOps

    rows = []
    for item in inputs:
        with Image.open(item.path) as opened:
            original = ImageOps.exif_transpose(opened)  # loads it fully: no draft
            original = original.convert("RGBA" if original.has_transparency_data else "RGB")
        references: dict[tuple[int, int], Any] = {}
        for (engine, name), files in outputs.items():
            if name != item.name:
                continue
            for output in files:
                with Image.open(io.BytesIO(output.data)) as decoded:
                    decoded.load()
                    shown = _flattened(decoded)
                if shown.size not in references:
                    references[shown.size] = _flattened(original.resize(shown.size, Image.Resampling.LANCZOS))
                rows.append(Quality(engine, name, output.variant, output.format, shown.size, len(output.data),
                                    psnr(references[shown.size], shown)))
    return rows


# --- the report ----------------------------------------------------------------------------------------


def parse_size(value: str) -> tuple[int, int]:
    width, _, height = value.lower().partition("x")
    size = int(width), int(height)
    if min(size) < 16:
        raise argparse.ArgumentTypeError(f"{value!r}: WIDTHxHEIGHT, each at least 16")
    return size


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print(f"\n{title}")
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def _verdict(value: float | None, goal: float, higher_is_better: bool = False) -> str:
    if value is None:
        return "not measured"
    return "met" if (value >= goal if higher_is_better else value <= goal) else "missed"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.processing", description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each engine on each input")
    parser.add_argument("--memory-repeat", type=int, default=3, help="fresh processes per engine × input")
    parser.add_argument("--photo", type=parse_size, default=(4000, 3000), help="the JPEG's WIDTHxHEIGHT")
    parser.add_argument("--screenshot", type=parse_size, default=(2560, 1600), help="the PNG's WIDTHxHEIGHT")
    parser.add_argument("--lambda-size", action="store_true",
                        help="instead: pip-install the Lambda package into a temp dir, report its size (PyPI)")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(*args.child)
    if args.lambda_size:
        return lambda_size()
    if args.repeat < 1 or args.memory_repeat < 1:
        parser.error("--repeat and --memory-repeat must be at least 1")

    specs = load_specs()
    skip_vips = pyvips_unavailable(specs)
    engines = [e for e in ENGINES if not (e == "pyvips" and skip_vips)]
    folder = Path(tempfile.mkdtemp(prefix="realtime-uploads-bench-processing-"))
    try:
        inputs = make_inputs(folder, args.photo, args.screenshot)
        wall, cpu, outputs = time_engines(engines, inputs, specs, args.repeat)
        memory, memory_method = measure_memory(engines, inputs, args.memory_repeat)
        quality = measure_quality(outputs, inputs)
    finally:
        if not os.environ.get("REALTIME_UPLOADS_BENCH_KEEP"):  # keep the inputs when asked
            shutil.rmtree(folder, ignore_errors=True)
    summarise(args, specs, engines, skip_vips, inputs, wall, cpu, memory, memory_method, quality)


def summarise(args, specs, engines, skip_vips, inputs, wall, cpu, memory, memory_method, quality) -> None:
    from .harness import report

    def per_input(engine: str, name: str) -> dict[str, float]:
        mine = [q for q in quality if q.engine == engine and q.input == name]
        return {"ms": round(statistics.median(wall[engine, name]) * 1000, 1),
                "cpu_ms": round(statistics.median(cpu[engine, name]) * 1000, 1),
                "peak_mb": round(memory[engine, name], 1),
                "bytes": sum(q.bytes for q in mine),
                "psnr_db": round(statistics.fmean(q.psnr_db for q in mine), 2)}

    stats = {e: {i.name: per_input(e, i.name) for i in inputs} for e in engines}
    totals: dict[str, dict[str, float | None]] = {}
    for engine in ENGINES:
        if engine not in engines:
            totals[engine] = dict.fromkeys(("ms", "cpu_ms", "peak_mb", "bytes", "psnr_db"))
            continue
        mine = [q for q in quality if q.engine == engine]
        totals[engine] = {"ms": round(sum(s["ms"] for s in stats[engine].values()), 1),
                          "cpu_ms": round(sum(s["cpu_ms"] for s in stats[engine].values()), 1),
                          "peak_mb": round(max(s["peak_mb"] for s in stats[engine].values()), 1),
                          "bytes": sum(q.bytes for q in mine),
                          "psnr_db": round(statistics.fmean(q.psnr_db for q in mine), 2)}
    ours, naive, vips = totals["pipeline"], totals["naive"], totals["pyvips"]

    def ratio(a, b, digits=3):
        return None if a is None or not b else round(a / b, digits)

    time_ratio, memory_ratio = ratio(ours["ms"], naive["ms"]), ratio(ours["peak_mb"], naive["peak_mb"])
    psnr_delta = round(ours["psnr_db"] - naive["psnr_db"], 2)
    vips_time = ratio(vips["ms"], naive["ms"])
    vips_memory = ratio(vips["peak_mb"], naive["peak_mb"])
    vips_psnr = None if vips["psnr_db"] is None else round(vips["psnr_db"] - naive["psnr_db"], 2)

    # Every output: its size, bytes and PSNR per engine.
    keys = sorted({(q.input, q.variant, q.format) for q in quality},
                  key=lambda k: ([i.name for i in inputs].index(k[0]), k[1], k[2]))
    by = {(q.engine, q.input, q.variant, q.format): q for q in quality}
    detail = []
    for name, variant, fmt in keys:
        row: list[Any] = [name, variant, fmt]
        sizes = {by[e, name, variant, fmt].size for e in engines if (e, name, variant, fmt) in by}
        row.append(" / ".join(f"{w}x{h}" for w, h in sorted(sizes)))
        for engine in ENGINES:
            q = by.get((engine, name, variant, fmt))
            row += [None, None] if q is None else [round(q.bytes / 1024, 1), round(q.psnr_db, 2)]
        detail.append(row)
    _table("Every output: KB and PSNR (dB) against the lossless LANCZOS reference at its size",
           ["input", "variant", "format", "size", "ours KB", "ours dB", "naive KB", "naive dB", "vips KB",
            "vips dB"], detail)
    formats = sorted({q.format for q in quality})
    by_format = {fmt: {e: round(statistics.fmean(q.psnr_db for q in quality if q.engine == e and q.format == fmt), 2)
                       for e in engines if any(q.engine == e and q.format == fmt for q in quality)}
                 for fmt in formats}
    _table("PSNR by format (mean over inputs and variants), dB", ["format", *(LABELS[e] for e in engines)],
           [[fmt, *(by_format[fmt].get(e) for e in engines)] for fmt in formats])

    rows = []
    for engine in ENGINES:
        if engine not in engines:
            rows.append((LABELS[engine], f"not measured: {skip_vips}", "—", "—", "—", "—", "—"))
            continue
        for item in inputs:
            s = stats[engine][item.name]
            rows.append((LABELS[engine], item.label, s["ms"], s["cpu_ms"], s["peak_mb"],
                         round(s["bytes"] / 1024, 1), s["psnr_db"]))
        t = totals[engine]
        rows.append((LABELS[engine], "both (ms, cpu, KB: sum; MB: max; dB: mean)", t["ms"], t["cpu_ms"],
                     t["peak_mb"], round(t["bytes"] / 1024, 1), t["psnr_db"]))
    variants = "; ".join(f"{s.name} {s.width}x{s.height} " + " + ".join(f"{f} q{q}" for f, q in formats_of(s))
                         for s in specs)
    notes = [
        f"Variants (DEFAULTS['VARIANTS']): {variants}.",
        f"ms: per input the median of {args.repeat} runs, engines interleaved and rotated; cpu: every thread.",
        f"peak MB: {memory_method} minus RSS before the work, a fresh process per engine × input, median of "
        f"{args.memory_repeat}.",
        "dB: PSNR over RGB against the fully decoded original LANCZOS-resized to each output's size, both on white.",
        "Encoders at each engine's own settings: naive Pillow's defaults (AVIF speed 6, WebP method 4, baseline "
        "JPEG), libvips' (AVIF effort 4 = speed 5, WebP effort 4, baseline JPEG), the pipeline's (its encode "
        "options); out KB shows what each trades.",
        f"ours / naive: time {time_ratio}x (goal <= {GOAL_TIME}x: {_verdict(time_ratio, GOAL_TIME)}), "
        f"peak memory {memory_ratio}x (goal <= {GOAL_MEMORY}x: {_verdict(memory_ratio, GOAL_MEMORY)}), "
        f"PSNR {psnr_delta:+.2f} dB (goal >= {GOAL_PSNR_DB} dB: {_verdict(psnr_delta, GOAL_PSNR_DB, True)}), "
        f"bytes {ratio(ours['bytes'], naive['bytes'], 2)}x.",
        (f"pyvips {pyvips_version()} / naive: time {vips_time}x, peak memory {vips_memory}x, PSNR {vips_psnr:+.2f} dB, "
         f"bytes {ratio(vips['bytes'], naive['bytes'], 2)}x." if skip_vips is None
         else f"pyvips: not measured ({skip_vips}); pyvips_ms is null."),
    ]
    result = {
        "ms": ours["ms"], "baseline_ms": naive["ms"], "pyvips_ms": vips["ms"],
        "cpu_ms": ours["cpu_ms"], "baseline_cpu_ms": naive["cpu_ms"], "pyvips_cpu_ms": vips["cpu_ms"],
        "psnr_db": ours["psnr_db"], "baseline_psnr_db": naive["psnr_db"], "pyvips_psnr_db": vips["psnr_db"],
        "peak_mb": ours["peak_mb"], "baseline_peak_mb": naive["peak_mb"], "pyvips_peak_mb": vips["peak_mb"],
        "bytes": ours["bytes"], "baseline_bytes": naive["bytes"], "pyvips_bytes": vips["bytes"],
        "ratio": time_ratio, "peak_ratio": memory_ratio, "psnr_delta_db": psnr_delta,
        "pyvips_ratio": vips_time, "pyvips_peak_ratio": vips_memory, "pyvips_psnr_delta_db": vips_psnr,
        "goal": f"ms <= {GOAL_TIME}x baseline_ms, peak_mb <= {GOAL_MEMORY}x baseline_peak_mb, "
                f"psnr_db >= baseline_psnr_db {GOAL_PSNR_DB} dB",
        "goal_met": {"ms": _verdict(time_ratio, GOAL_TIME) == "met",
                     "peak_mb": _verdict(memory_ratio, GOAL_MEMORY) == "met",
                     "psnr_db": _verdict(psnr_delta, GOAL_PSNR_DB, True) == "met"},
        "inputs": {i.name: {"size": f"{i.size[0]}x{i.size[1]}", "format": i.format, "input_bytes": i.bytes,
                            **{(k if e == "pipeline" else f"{'baseline' if e == 'naive' else e}_{k}"): v
                               for e in engines for k, v in stats[e][i.name].items()}}
                   for i in inputs},
        "psnr_by_format": by_format,
        "outputs": len([q for q in quality if q.engine == "pipeline"]),
        "variants": {s.name: {"width": s.width, "height": s.height, "formats": dict(formats_of(s))} for s in specs},
        "repetitions": args.repeat, "memory_repetitions": args.memory_repeat,
        "pyvips": pyvips_version() if skip_vips is None else None,
        **({"pyvips_unavailable": skip_vips} if skip_vips else {}),
    }
    report("processing", f"Image processing: both inputs to every configured variant, {len(engines)} engines",
           ["engine", "input", "ms", "cpu ms", "peak MB", "out KB", "PSNR dB"], rows, result, notes)


# --- the Lambda package --------------------------------------------------------------------------------


def _tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def makefile_platform() -> list[str]:
    """The Makefile's ``LAMBDA_PIP_PLATFORM ?= ...`` as pip arguments (the constant when the line is missing)."""
    for line in (ROOT / "Makefile").read_text().splitlines():
        name, sep, value = line.partition("?=")
        if sep and name.strip() == "LAMBDA_PIP_PLATFORM" and value.split():
            return value.split()
    return LAMBDA_PIP_PLATFORM


def _pip_install(target: Path, platform: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", "install",  # noqa: S603 - fixed arguments "--quiet", "--disable-pip-version-check",
                           "--target", str(target), *platform, *LAMBDA_REQUIREMENTS], capture_output=True, text=True)


def lambda_size() -> None:
    """pip-install the processor's Lambda package as build-ProcessorFunction does; its size against the limit."""
    from .harness import report

    notes = []
    with tempfile.TemporaryDirectory(prefix="realtime-uploads-bench-lambda-") as tmp:
        package = Path(tmp) / "package"
        started = time.perf_counter()
        platform = makefile_platform()
        run = _pip_install(package, platform)
        if run.returncode:
            why = next((line for line in run.stderr.splitlines() if line.startswith("ERROR")), run.stderr[-300:])
            notes.append(f"The Makefile's platform ({' '.join(platform)}) failed: {why.strip()}")
            shutil.rmtree(package, ignore_errors=True)
            platform = LAMBDA_PIP_FALLBACK
            run = _pip_install(package, platform)
            if run.returncode:
                sys.exit(f"pip could not build the Lambda package (needs PyPI):\n{run.stderr[-3000:]}")
            notes.append("Measured instead with manylinux_2_28 wheels, which Lambda's python3.12 runtime "
                         "(Amazon Linux 2023, glibc 2.34) runs.")
        seconds = time.perf_counter() - started
        for source in LAMBDA_SOURCES:
            src, dst = ROOT / source, package / source
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(src, dst)
        versions = {}
        for info in package.glob("*.dist-info"):
            name, _, version = info.name.removesuffix(".dist-info").rpartition("-")
            versions[name] = version
        entries = sorted(((p.name + ("/" if p.is_dir() else ""), _tree_bytes(p)) for p in package.iterdir()),
                         key=lambda e: -e[1])
        unzipped = sum(size for _, size in entries)
        pycache = sum(p.stat().st_size for p in package.rglob("*.pyc"))
        archive = Path(tmp) / "package.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in sorted(package.rglob("*")):
                if path.is_file():
                    zipped.write(path, path.relative_to(package))
        zipped_bytes = archive.stat().st_size
    rows = [(name, round(size / MB, 2), f"{size / unzipped:.0%}") for name, size in entries[:12]]
    if len(entries) > 12:
        rest = sum(size for _, size in entries[12:])
        rows.append((f"{len(entries) - 12} more", round(rest / MB, 2), f"{rest / unzipped:.0%}"))
    rows.append(("total, unzipped", round(unzipped / MB, 2), f"{unzipped / LAMBDA_UNZIPPED_LIMIT:.0%} of 250 MB"))
    rows.append(("zipped (deflate)", round(zipped_bytes / MB, 2),
                 f"{zipped_bytes / LAMBDA_ZIPPED_DIRECT_LIMIT:.0%} of 50 MB"))
    notes += [
        f"pip install --target {' '.join(platform)} {' '.join(LAMBDA_REQUIREMENTS)}, plus "
        f"{', '.join(LAMBDA_SOURCES)}; installed: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())),
        f"Bytecode pip compiled with this Python ({sys.version_info.major}.{sys.version_info.minor}; "
        f"Lambda's 3.12 ignores it): {pycache / MB:.2f} MB of the total.",
        "Limits: docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html (250 MB unzipped including "
        "layers; 50 MB zipped for a direct upload, larger through S3)."]
    report("lambda_size", "The processor's Lambda package (build-ProcessorFunction's pip --target, CPython 3.12)",
           ["entry", "MB", "share"], rows,
           {"unzipped_mb": round(unzipped / MB, 2), "zipped_mb": round(zipped_bytes / MB, 2),
            "limit_unzipped_mb": round(LAMBDA_UNZIPPED_LIMIT / MB, 2),
            "limit_zipped_direct_mb": round(LAMBDA_ZIPPED_DIRECT_LIMIT / MB, 2),
            "share_of_limit": round(unzipped / LAMBDA_UNZIPPED_LIMIT, 4), "pyc_mb": round(pycache / MB, 2),
            "packages": versions, "requirements": LAMBDA_REQUIREMENTS, "platform": " ".join(platform),
            "makefile_platform_ok": platform != LAMBDA_PIP_FALLBACK, "install_s": round(seconds, 1),
            "goal": "unzipped < 250 MB (Lambda: package and layers, extracted)"}, notes)


if __name__ == "__main__":
    main()
