"""The three engines the benchmark times, and what is measured of their outputs.

Each engine takes an input's bytes and the app's VariantSpecs and returns every encoded file
(:class:`Output`): ``pipeline`` (the processor's ``render_variants``), ``naive`` (naive Pillow) and
``pyvips`` (libvips' ``thumbnail``). Measured here besides their time:

- peak memory, MB: :func:`child` runs one engine on one input in a fresh process (``python -m
  bench.processing --child ENGINE PATH``) and prints its peak RSS over the work; :func:`measure_memory`
  takes the median over ``repeat`` such processes.
- quality, dB: :func:`measure_quality` compares every output with a lossless LANCZOS reference at its size
  (PSNR over R, G and B, 8-bit, capped at ``PSNR_CAP_DB``).
"""

from __future__ import annotations

import ctypes
import gc
import io
import json
import math
import resource
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .processing_inputs import Input

ROOT = Path(__file__).resolve().parent.parent
MAX_PIXELS = 100_000_000
ENGINES = ("pipeline", "naive", "pyvips")
PSNR_CAP_DB = 100.0  # identical images: a finite number for the JSON line
LOSSY = frozenset({"JPEG", "WEBP", "AVIF", "HEIF"})
VIPS_SUFFIX = {"JPEG": ".jpg", "WEBP": ".webp", "AVIF": ".avif", "PNG": ".png"}


# --- the work: variants, and the three engines ---------------------------------------------------------


@dataclass(frozen=True)
class Output:
    """One encoded file: the variant it belongs to, its format and its bytes."""

    variant: str
    format: str
    data: bytes


def load_specs() -> tuple:
    """The app's default VARIANTS as VariantSpecs."""
    from realtime_uploads.core.settings_schema import DEFAULTS
    from realtime_uploads.processing.config import variant_specs

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
    from realtime_uploads.processing.image.render import render_variants

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


# --- peak memory: one engine on one input in a fresh process ------------------------------------------


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
                run = subprocess.run(  # noqa: S603 - this interpreter, bench.processing --child, our temp file
                    [sys.executable, "-m", "bench.processing", "--child", engine, str(item.path)],
                    cwd=ROOT, capture_output=True, text=True, timeout=600)
                if run.returncode:
                    raise RuntimeError(f"{engine} on {item.name} failed in its own process:\n{run.stderr[-3000:]}")
                result = json.loads(run.stdout.strip().splitlines()[-1])
                deltas[engine, item.name].append(result["delta_kb"] / 1024)
                method = result["method"]
    return {key: statistics.median(values) for key, values in deltas.items()}, method



# --- quality ------------------------------------------------------------------------------------------


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
