"""The benchmark's two inputs, drawn deterministically (fixed seeds: the same picture for the same size).

- **photo**: an RGB picture, ``--photo`` WIDTHxHEIGHT pixels (4000x3000 by default), saved as a JPEG at
  quality 90 with EXIF orientation 1: smooth large-scale structure (sky, clouds, hills), mid-frequency texture,
  grain (+-7 levels) and sharp edges (a town, wires).
- **screenshot**: an RGBA picture, ``--screenshot`` WIDTHxHEIGHT pixels (2560x1600 by default), saved as a
  PNG: flat panels, gradients, text, a photo inset, rounded window corners with a soft shadow, so partly
  transparent.

Lengths in the drawing scale with the image (``unit``: width / 4000 for the photo, height / 1600 for the
screenshot), so a tiny run draws the same picture smaller.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

SEED = 20240601
MB = 1024 * 1024


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
