"""The in-process dispatcher: bounded, never the same key twice, silent once shutdown has begun."""

from __future__ import annotations

import io
import sys
import threading
import time

from realtime_uploads.core.object_store import ObjectInfo
from realtime_uploads.core.variants import VariantSpec
from realtime_uploads.processing.callback_client import CallbackClient
from realtime_uploads.processing.dispatcher import LocalDispatcher
from realtime_uploads.processing.pipeline import ProcessorConfig
from tests.conftest import jpeg_bytes
from tests.unit.processing.test_callback_client import SECRET, scripted_server  # noqa: F401 - a fixture

UPLOAD = "8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1"


class GatedStore:
    """Our ObjectStore protocol over memory; ``open`` waits until ``gate`` is set (a slow decode)."""

    def __init__(self):
        self.gate = threading.Event()
        self.opened = threading.Event()
        self.data = jpeg_bytes()
        self.written: dict[str, bytes] = {}

    def head(self, key):
        return ObjectInfo(size=len(self.data), etag='"v1"')

    def open(self, key, *, etag=None):
        self.opened.set()
        self.gate.wait(10)
        return io.BytesIO(self.data)

    def put(self, key, data, *, content_type, cache_control):
        self.written[key] = data

    def mark_completed(self, key):
        pass


def config(url: str) -> ProcessorConfig:
    return ProcessorConfig(
        key_prefix="uploads/", variant_prefix="variants/", variants=(VariantSpec("thumb", 32, 32, "WEBP"),),
        max_size=10_000_000, max_pixels=10_000_000, allowed_formats={"JPEG"},
        callback=CallbackClient(url_template=url, secret=SECRET, attempts=2, backoff=0.01))


def key(n: int) -> str:
    return f"uploads/{UPLOAD[:-1]}{n}/a.jpg"


def test_queue_is_bounded_and_a_key_is_never_queued_twice(scripted_server):  # noqa: F811
    url, _, _ = scripted_server
    store = GatedStore()
    dispatcher = LocalDispatcher(store=store, config=config(url), threads=1, max_queued=1)
    try:
        assert dispatcher.submit(key(1)) is not None  # running
        assert store.opened.wait(5)
        assert dispatcher.submit(key(1)) is None  # already in flight
        assert dispatcher.submit(key(2)) is not None  # queued
        assert dispatcher.submit(key(3)) is None  # full: the sweep will offer it again
        assert dispatcher.in_flight() == {key(1), key(2)}
        store.gate.set()
    finally:
        dispatcher.shutdown(wait=True, timeout=10)
    assert dispatcher.in_flight() == set()


def test_after_stop_nothing_is_taken_and_the_running_job_sends_no_callback(scripted_server):  # noqa: F811
    url, _, seen = scripted_server
    store = GatedStore()
    dispatcher = LocalDispatcher(store=store, config=config(url), threads=1, max_queued=5)
    running = dispatcher.submit(key(1))
    queued = dispatcher.submit(key(2))
    assert store.opened.wait(5)
    reports_before = len(seen)  # the first job's "processing" report went out before the stop
    dispatcher.stop()
    assert dispatcher.submit(key(3)) is None
    store.gate.set()  # the job finishes rendering after shutdown began...
    started = time.monotonic()
    assert dispatcher.join(timeout=10)
    assert time.monotonic() - started < 5
    assert len(seen) == reports_before  # ...and reports nothing: no callback races the exit
    assert queued.cancelled() and running.exception() is not None


def test_a_submit_racing_stop_is_declined_never_an_error(scripted_server):  # noqa: F811
    """The upload endpoint submits while the server stops: the answer is None (the sweep offers it later).

    Before, stop() could deadlock with submit(): the executor's shutdown cancels queued futures under its
    own lock, their done-callbacks wanted the dispatcher's lock, which a submit held while it waited for
    the executor's."""
    url, _, _ = scripted_server
    errors: list[BaseException] = []
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads interleave between almost every bytecode: the race shows at once
    try:
        race(url, errors)
    finally:
        sys.setswitchinterval(switch)
    assert errors == []


def race(url: str, errors: list[BaseException]) -> None:
    for round_ in range(100):
        store = GatedStore()
        store.gate.set()
        dispatcher = LocalDispatcher(store=store, config=config(url), threads=1, max_queued=1000)
        submitting = threading.Event()

        def submit_many(dispatcher=dispatcher, submitting=submitting, round_=round_):
            try:
                for n in range(200):
                    dispatcher.submit(f"uploads/{round_}-{n}/a.jpg")
                    submitting.set()
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
            finally:
                submitting.set()

        thread = threading.Thread(target=submit_many, daemon=True)
        thread.start()
        submitting.wait(10)
        stopper = threading.Thread(target=dispatcher.stop, daemon=True)  # daemons: a deadlock fails, not hangs
        stopper.start()
        stopper.join(10)
        thread.join(10)
        assert not stopper.is_alive() and not thread.is_alive(), "stop() and submit() deadlocked"
        dispatcher.join(10)
