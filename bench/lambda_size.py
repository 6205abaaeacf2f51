"""lambda_size: the processor's Lambda package, unzipped and zipped, against Lambda's size limits (MB).

Builds the package as the Makefile's build-ProcessorFunction does (``pip install --target`` with the
runtime's wheels: the Makefile's ``LAMBDA_PIP_PLATFORM``, or manylinux_2_28 wheels when that platform finds
none) into a temporary directory, adds the processor's sources, and reports the largest entries (MB and
share of the total), the unzipped total against 250 MB and the deflated zip against 50 MB. Needs PyPI.

    python -m bench.lambda_size
    python -m bench.processing --lambda-size   # the same
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The Lambda package: the Makefile's build-ProcessorFunction (pip --target with the runtime's wheels). Its
# LAMBDA_PIP_PLATFORM is read from the Makefile; this is the fallback when the line is not found.
LAMBDA_PIP_PLATFORM = ["--platform", "manylinux2014_x86_64", "--implementation", "cp", "--python-version", "3.12",
                       "--only-binary=:all:"]
# Lambda's python3.12 runtime is Amazon Linux 2023 (glibc 2.34): manylinux_2_28 wheels run there. Tried when the
# Makefile's platform finds no wheel (pi-heif >= 1.1 has none for manylinux2014).
LAMBDA_PIP_FALLBACK = ["--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64",
                       "--implementation", "cp", "--python-version", "3.12", "--only-binary=:all:"]
LAMBDA_REQUIREMENTS = ["Pillow>=11.3", "pi-heif>=1.1"]
LAMBDA_SOURCES = ["realtime_uploads/__init__.py", "realtime_uploads/core", "realtime_uploads/processing"]
#: docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: 250 MB unzipped (package and layers;
#: the API's message says 262144000 bytes), 50 MB zipped when uploaded directly rather than from S3.
LAMBDA_UNZIPPED_LIMIT = 262_144_000
LAMBDA_ZIPPED_DIRECT_LIMIT = 50 * 1024 * 1024
MB = 1024 * 1024


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
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--target", str(target), *platform, *LAMBDA_REQUIREMENTS]
    return subprocess.run(command, capture_output=True, text=True)  # noqa: S603 - fixed arguments


def lambda_size() -> None:
    """pip-install the processor's Lambda package as build-ProcessorFunction does; its size against the limit."""
    from .harness import report

    notes = []
    with tempfile.TemporaryDirectory(prefix="realtime-uploads-bench-lambda-") as tmp:
        package = Path(tmp) / "package"
        started = time.perf_counter()
        platform = makefile_platform()
        makefile_ok = True
        run = _pip_install(package, platform)
        if run.returncode:
            why = next((line for line in run.stderr.splitlines() if line.startswith("ERROR")), run.stderr[-300:])
            notes.append(f"The Makefile's platform ({' '.join(platform)}) failed: {why.strip()}")
            shutil.rmtree(package, ignore_errors=True)
            platform, makefile_ok = LAMBDA_PIP_FALLBACK, False
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
            "makefile_platform_ok": makefile_ok, "install_s": round(seconds, 1),
            "goal": "unzipped < 250 MB (Lambda: package and layers, extracted)"}, notes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.lambda_size", description=__doc__.split("\n")[0])
    parser.parse_args(argv)
    lambda_size()


if __name__ == "__main__":
    main()
