"""Render one image in a child process that the kernel stops at a CPU-time and a memory bound.

Why a process: a Pillow decode or resize is one C call; a thread cannot
interrupt it, and its memory is the web server's. The local backend runs the
pipeline inside daphne, where a 1.9 KB WebP once took 1.7 s and 800 MB, so
:class:`~.dispatcher.LocalDispatcher` renders every image through
:func:`render_isolated`:

- the child comes from a ``forkserver`` (multiprocessing): a small
  single-threaded process that imported Pillow once, so starting a child is a
  ``fork()`` of it (a few milliseconds), never of the multi-threaded server;
- CPU: ``setitimer(ITIMER_PROF)`` with SIGPROF left at its default action
  kills the child when it has used ``cpu_seconds`` of CPU (user + system,
  sub-second resolution), even in the middle of a C call; ``RLIMIT_CPU`` one
  second later is the backstop, and the parent kills a child still alive
  after ``3 x cpu_seconds + 5`` seconds of wall time (a stuck child uses no CPU);
- memory: ``RLIMIT_AS`` allows the child its start-up address space plus
  ``2 x max_decode_bytes + 64 MiB``: an allocation past it fails (Pillow
  raises MemoryError → ``too_large_to_decode``) instead of growing the server.

Source of the signal semantics: setitimer(2), getrlimit(2) (Linux man-pages).
POSIX only; where the ``forkserver`` start method is missing (not Linux/macOS)
:func:`isolation_available` is False and the caller renders in-process.
"""

from __future__ import annotations

import io
import math
import multiprocessing
import multiprocessing.context
import os
import resource
import signal
import threading
import traceback
from collections.abc import Collection, Sequence
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util

from realtime_uploads.core.errors import TIME_LIMIT, TOO_LARGE_TO_DECODE, ProcessingError, RendererCrashed
from realtime_uploads.core.formats import DEFAULT_ALLOWED_FORMATS
from realtime_uploads.core.variants import VariantSpec
from realtime_uploads.processing.image.animation import AnimationBudget
from realtime_uploads.processing.image.limits import MIB, ImageLimits
from realtime_uploads.processing.image.render import OriginalInfo, render_variants
from realtime_uploads.processing.image.rendered import RenderedVariant

_HEADROOM = 64 * MIB  # the encoders' buffers, the variants, the pickled result
_context_lock = threading.Lock()
_context = None


def isolation_available() -> bool:
    """Whether this platform can run :func:`render_isolated` (the ``forkserver`` start method)."""
    return "forkserver" in multiprocessing.get_all_start_methods() and hasattr(signal, "setitimer")


def start_forkserver() -> None:
    """Start the forkserver now rather than at the first image (it imports Pillow, a fraction of a second).

    A long-running process (the SQS worker) calls it before taking work, so a signal to its process group
    (Ctrl-C) can never find the forkserver half-started with an image waiting on it.
    """
    _get_context()
    forkserver.ensure_running()


def _get_context():
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            # pi-heif too (imported, not registered: enable_decoders registers it where HEIC is allowed), so a
            # child does not spend 15-35 ms importing libheif for every HEIC; the forkserver skips it if absent.
            context.set_forkserver_preload([__name__, "pi_heif"])
            _context = context
        return _context


class _Popen(popen_forkserver.Popen):
    """The forkserver launch of CPython 3.11-3.13, minus re-importing the parent's ``__main__``.

    multiprocessing would run the server's main script (daphne's, pytest's) in
    every child; the child needs only this module, preloaded by the forkserver.
    """

    def _launch(self, process_obj):
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data = {k: v for k, v in prep_data.items() if not k.startswith("init_main_from_")}
        buf = io.BytesIO()
        multiprocessing.context.set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            multiprocessing.context.set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)
        _parent_w = os.dup(w)
        self.finalizer = util.Finalize(self, util.close_fds, (_parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _Process(multiprocessing.context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj):  # noqa: N802 - multiprocessing's name
        return _Popen(process_obj)


def render_isolated(
    data: bytes,
    specs: Sequence[VariantSpec],
    *,
    max_pixels: int,
    allowed_formats: Collection[str] = DEFAULT_ALLOWED_FORMATS,
    limits: ImageLimits = ImageLimits(),  # noqa: B008 - frozen, shared safely
    animation: AnimationBudget = AnimationBudget(),  # noqa: B008 - frozen, shared safely
) -> tuple[OriginalInfo, list[RenderedVariant]]:
    """:func:`~.image.render.render_variants` of ``data`` (the whole file) in a bounded child process.

    Returns what it returns and raises the ProcessingError it raises, plus:
    ``time_limit`` when the child used more than ``limits.cpu_seconds`` of CPU
    (or hung), ``too_large_to_decode`` when it ran out of its address space,
    and :class:`RendererCrashed` when the child died otherwise (a decoder crash)
    or raised an exception the pipeline does not know (its traceback in the
    message): the pipeline logs that and reports ``internal_error`` without
    internals. ``limits.cpu_seconds`` None: no CPU limit, only the memory bound.
    """
    context = _get_context()
    parent, child = context.Pipe(duplex=True)
    process = _Process(target=_child_main, args=(child,), daemon=True, name="realtime-uploads-render")
    wall = None if limits.cpu_seconds is None else 3 * limits.cpu_seconds + 5
    reply, hung = None, False
    try:
        process.start()
        child.close()
        parent.send((data, tuple(specs), max_pixels, tuple(allowed_formats), limits, animation))
        if parent.poll(wall):
            reply = parent.recv()
        else:
            hung = True
    except (EOFError, OSError):  # the child died before or while answering
        reply = None
    finally:
        parent.close()
        if process.pid is not None:
            process.join(0 if hung else 5)  # a dead child's exit status arrives just after its EOF
            if process.exitcode is None:
                process.kill()  # hung past the wall-clock bound, or slow to exit
                process.join()
        exitcode = process.exitcode
        process.close()
    if reply is None:
        if hung or exitcode in (-signal.SIGPROF, -signal.SIGXCPU):
            raise ProcessingError(TIME_LIMIT, f"Processing this image took more than the {limits.cpu_seconds:g} "
                                              "seconds of CPU time one image may use.")
        raise RendererCrashed(f"The image renderer died without an answer (exit code {exitcode}).")
    kind, payload = reply
    if kind == "ok":
        return payload
    if kind == "error":
        raise ProcessingError(*payload)
    raise RendererCrashed(f"The image renderer raised an unexpected error:\n{payload}")


def _child_main(conn) -> None:
    """In the child: bound CPU and memory, render, send ``("ok", result)`` or ``("error", (code, message))``.

    SIGINT and SIGTERM are ignored: a terminal's Ctrl-C (or systemd's stop) reaches the whole process
    group, and the parent, stopping cleanly, finishes the work under way; a child killed by them would
    turn a good image into ``internal_error``. The CPU timer and the parent's SIGKILL still bound it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    data, specs, max_pixels, allowed_formats, limits, animation = conn.recv()
    _limit(limits)
    try:
        result = ("ok", render_variants(io.BytesIO(data), specs, max_pixels=max_pixels,
                                        allowed_formats=allowed_formats, limits=limits, animation=animation))
    except ProcessingError as exc:
        result = ("error", (exc.code, exc.message))
    except MemoryError:
        result = ("error", (TOO_LARGE_TO_DECODE, "Rendering this image ran out of the memory one image may use "
                                                 f"(about {2 * limits.max_decode_bytes // MIB} MiB)."))
    except BaseException:  # noqa: BLE001 - reported to the parent, which logs it as internal_error
        result = ("crash", traceback.format_exc())
    del data
    conn.send(result)
    conn.close()


def _limit(limits: ImageLimits) -> None:
    if limits.cpu_seconds is not None:
        signal.signal(signal.SIGPROF, signal.SIG_DFL)
        signal.setitimer(signal.ITIMER_PROF, limits.cpu_seconds)
        soft = math.ceil(limits.cpu_seconds) + 1
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    if not (start := _address_space()):
        return
    budget = start + 2 * limits.max_decode_bytes + _HEADROOM
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (budget if hard == resource.RLIM_INFINITY else min(budget, hard), hard))


def _address_space() -> int:
    """This process's virtual size in bytes (Linux ``/proc/self/statm``), 0 where unknown."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0

