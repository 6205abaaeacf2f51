"""The SQS worker against moto's S3 + SQS (standing in for AWS) and a live Django."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import boto3
import pytest

from realtime_uploads.core.s3_client import s3_client
from realtime_uploads.models import Upload
from realtime_uploads.processing.config import config_from_env
from realtime_uploads.processing.sandbox import isolation_available
from realtime_uploads.processing.worker import SQSWorker
from tests.conftest import drain, jpeg_bytes, post_to_s3
from tests.servers import ROOT, free_port

pytestmark = pytest.mark.django_db(transaction=True)


def worker(env, **kwargs) -> SQSWorker:
    kwargs = {"wait_time": 1, "visibility_timeout": 30, "concurrency": 2, **kwargs}
    return SQSWorker(queue_url=env["queue_url"], config=config_from_env(), s3=s3_client(addressing_style="path"),
                     **kwargs)


def run_until_idle(w: SQSWorker, queue_url: str, timeout: float = 20) -> None:
    """Run the worker in a thread until the queue has nothing visible or in flight."""
    thread = threading.Thread(target=w.run)
    thread.start()
    sqs = boto3.client("sqs")
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            if attrs["ApproximateNumberOfMessages"] == attrs["ApproximateNumberOfMessagesNotVisible"] == "0":
                return
            time.sleep(0.2)
        raise AssertionError("queue never drained")
    finally:
        w.stop.set()
        thread.join(timeout=10)


TEST_EVENT = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "test-uploads"})


def test_message_is_processed_then_deleted_and_test_event_skipped(processor_env, make_upload):
    data = jpeg_bytes(640, 480)
    upload = make_upload(size=len(data))
    boto3.client("sqs").send_message(QueueUrl=processor_env["queue_url"], MessageBody=TEST_EVENT)
    post_to_s3(upload, data)
    run_until_idle(worker(processor_env), processor_env["queue_url"])
    fresh = Upload.objects.get(pk=upload.id)
    assert (fresh.status, fresh.seq) == ("completed", 3)
    assert drain(processor_env["queue_url"]) == []  # the event and the TestEvent are both gone


def test_second_delivery_of_the_same_event_leaves_one_state_change(processor_env, make_upload):
    data = jpeg_bytes()
    upload = make_upload(size=len(data))
    post_to_s3(upload, data)
    [message] = drain(processor_env["queue_url"])
    boto3.client("sqs").send_message(QueueUrl=processor_env["queue_url"], MessageBody=message["Body"])
    run_until_idle(worker(processor_env, concurrency=1), processor_env["queue_url"])
    fresh = Upload.objects.get(pk=upload.id)
    assert (fresh.status, fresh.seq, fresh.variants.count()) == ("completed", 3, 2)
    assert drain(processor_env["queue_url"]) == []


def test_failing_callback_leaves_the_message_for_a_later_retry(processor_env, make_upload, monkeypatch):
    data = jpeg_bytes()
    upload = make_upload(size=len(data))
    post_to_s3(upload, data)
    monkeypatch.setenv("REALTIME_UPLOADS_CALLBACK_URL", f"http://127.0.0.1:{free_port()}/{{id}}/")
    w = worker(processor_env, visibility_timeout=3)
    messages = drain(processor_env["queue_url"])
    assert w.handle(messages[0]) is False
    time.sleep(3.5)  # the visibility timeout runs out: SQS hands it out again
    again = drain(processor_env["queue_url"])
    assert [m["MessageId"] for m in again] == [messages[0]["MessageId"]]
    assert Upload.objects.get(pk=upload.id).status == "pending"


def test_visibility_is_extended_while_a_slow_image_is_processed(processor_env, make_upload, monkeypatch):
    data = jpeg_bytes()
    upload = make_upload(size=len(data))
    post_to_s3(upload, data)
    w = worker(processor_env, visibility_timeout=3)
    sqs = boto3.client("sqs")
    received = sqs.receive_message(QueueUrl=processor_env["queue_url"], VisibilityTimeout=3,
                                   WaitTimeSeconds=1)["Messages"]

    from realtime_uploads.processing import worker as worker_module

    real = worker_module.process_s3_event

    def slow(*args, **kwargs):  # a slow image, made slow on purpose
        time.sleep(5)
        return real(*args, **kwargs)

    monkeypatch.setattr(worker_module, "process_s3_event", slow)
    thread = threading.Thread(target=w.handle, args=(received[0],))
    thread.start()
    time.sleep(4)  # past the original 3 s visibility timeout
    visible = sqs.receive_message(QueueUrl=processor_env["queue_url"], WaitTimeSeconds=0).get("Messages", [])
    thread.join()
    assert [m for m in visible if m["MessageId"] == received[0]["MessageId"]] == []
    assert Upload.objects.get(pk=upload.id).status == "completed"


def test_sigterm_stops_an_idle_worker_promptly_and_cleanly(processor_env):
    env = {**os.environ, "REALTIME_UPLOADS_QUEUE_URL": processor_env["queue_url"]}
    proc = subprocess.Popen([sys.executable, "-m", "realtime_uploads.processing.worker"], cwd=ROOT, env=env,
                            stderr=subprocess.PIPE, text=True)
    line = ""
    deadline = time.monotonic() + 20
    while "polling" not in line and time.monotonic() < deadline:
        line = proc.stderr.readline()
    assert "polling" in line
    time.sleep(0.5)  # inside the 20 s long-poll now
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert time.monotonic() - started < 5  # did not sit out the long-poll
    assert "Worker stopped." in proc.stderr.read()


def cpu_expensive_png() -> bytes:
    """A 57 KB PNG of 4000 x 4000 that takes about 0.4 s of CPU to decode and resample."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.linear_gradient("L").resize((4000, 4000)).convert("RGB").save(out, "PNG")
    return out.getvalue()


@pytest.mark.skipif(not isolation_available(), reason="needs the forkserver start method")
def test_an_image_over_its_cpu_time_ends_time_limit_and_the_worker_goes_on(processor_env, make_upload,
                                                                            monkeypatch):
    monkeypatch.setenv("REALTIME_UPLOADS_IMAGE_CPU_SECONDS", "0.1")
    expensive, cheap = cpu_expensive_png(), jpeg_bytes(640, 480)
    slow, quick = make_upload(size=len(expensive), content_type="image/png", filename="big.png"), \
        make_upload(size=len(cheap))
    post_to_s3(slow, expensive)
    post_to_s3(quick, cheap)
    w = worker(processor_env, concurrency=1)  # one at a time: the cheap image waits behind the expensive one
    assert w.config.isolate
    started = time.monotonic()
    run_until_idle(w, processor_env["queue_url"])
    assert time.monotonic() - started < 15
    slow, quick = Upload.objects.get(pk=slow.id), Upload.objects.get(pk=quick.id)
    assert (slow.status, slow.error_code) == ("failed", "time_limit")
    assert "0.1 seconds" in slow.error_message
    assert (quick.status, quick.variants.count()) == ("completed", 2)
    assert drain(processor_env["queue_url"]) == []


@pytest.mark.skipif(not isolation_available(), reason="needs the forkserver start method")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_to_the_process_group_finishes_the_image_being_rendered(processor_env, make_upload, signum):
    """A terminal's Ctrl-C (SIGINT) or systemd's stop (SIGTERM) reaches the render child too, not only the
    worker: the child must let the worker finish the image, never die into ``internal_error``."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.linear_gradient("L").resize((6000, 6000)).convert("RGB").save(out, "PNG")  # ~1 s of CPU
    data = out.getvalue()
    upload = make_upload(size=len(data), content_type="image/png", filename="big.png")
    post_to_s3(upload, data)
    env = {**os.environ, "REALTIME_UPLOADS_QUEUE_URL": processor_env["queue_url"]}
    proc = subprocess.Popen([sys.executable, "-m", "realtime_uploads.processing.worker", "--wait-time", "1"],
                            cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while Upload.objects.get(pk=upload.id).status == "pending" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert Upload.objects.get(pk=upload.id).status == "processing"  # reported, now rendering
        time.sleep(0.2)  # well inside the render, past the child's first instructions
        os.killpg(proc.pid, signum)  # the whole group, as a terminal or a control group does
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    fresh = Upload.objects.get(pk=upload.id)
    assert (fresh.status, fresh.error_code) == ("completed", ""), proc.stderr.read()
