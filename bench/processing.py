"""processing: a 4000×3000 JPEG and a screenshot PNG to the configured variants; baseline: naive Pillow.

What is timed is the whole ``render_variants`` call of the processor
(``realtime_uploads.processing.image.render``) on the bytes of each input, to the
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
import gc
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .lambda_size import lambda_size
from .processing_engines import (
    ENGINES,
    RUN,
    child,
    formats_of,
    load_specs,
    measure_memory,
    measure_quality,
    pyvips_unavailable,
    pyvips_version,
)
from .processing_inputs import Input, make_inputs

LABELS = {"pipeline": "pipeline (render_variants)", "naive": "naive Pillow", "pyvips": "pyvips thumbnail"}
# Goal (the issue): <= 0.40x naive Pillow's time, <= 0.5x its peak memory, PSNR no more than 0.5 dB below naive's.
GOAL_TIME, GOAL_MEMORY, GOAL_PSNR_DB = 0.40, 0.5, -0.5


# --- timing -------------------------------------------------------------------------------------------


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


if __name__ == "__main__":
    main()
