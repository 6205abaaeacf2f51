"""Shutdown hooks for the background work a web process runs (the local backend's processor and sweep).

Two moments matter when a server process is asked to stop:

1. **Shutdown begins** (:func:`on_shutdown`): take no more work and send no
   more callbacks, at once. Under daphne this is Twisted's ``before
   shutdown`` system event (SIGTERM / SIGINT stop the reactor, and daphne's
   own trigger cancels the application instances at the same moment;
   daphne implements no ASGI lifespan). Under any server it also happens at
   interpreter exit.
2. **The interpreter exits** (:func:`at_exit`): wait, boundedly, for threads
   still working. These run before Python joins non-daemon threads and
   finalizes (``threading._register_atexit``, the hook
   ``concurrent.futures`` uses for the same purpose), so no worker thread
   is still inside Pillow or sending HTTP while the interpreter tears
   itself down: that race is what made daphne exit with SIGSEGV.

Every callback runs once, in registration order; one that raises is logged.
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_shutdown: list[Callable[[], None]] = []
_exit: list[Callable[[], None]] = []
_installed = False
_began = False


def on_shutdown(callback: Callable[[], None]) -> None:
    """Call ``callback()`` (it must return quickly) when this process begins shutting down."""
    with _lock:
        _shutdown.append(callback)
    _install()


def at_exit(callback: Callable[[], None]) -> None:
    """Call ``callback()`` at interpreter exit, after the shutdown callbacks, before threads are joined."""
    with _lock:
        _exit.append(callback)
    _install()


def begin_shutdown() -> None:
    """Run the :func:`on_shutdown` callbacks now (once). Servers and tests may call it."""
    global _began
    with _lock:
        if _began:
            return
        _began = True
        callbacks = list(_shutdown)
    _run(callbacks)


def _exiting() -> None:
    begin_shutdown()
    with _lock:
        callbacks = list(_exit)
        _exit.clear()
    _run(callbacks)


def _run(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            logger.exception("Shutdown callback %r failed.", callback)


def _install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    if "twisted.internet.reactor" in sys.modules:  # daphne (or another Twisted server) is running us
        from twisted.internet import reactor

        reactor.addSystemEventTrigger("before", "shutdown", begin_shutdown)
    register = getattr(threading, "_register_atexit", None)
    try:
        if register is None:
            raise RuntimeError("no threading._register_atexit")
        register(_exiting)
    except RuntimeError:  # already shutting down, or an interpreter without the hook
        atexit.register(_exiting)
