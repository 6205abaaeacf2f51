"""The S3 event → SQS long-poll worker: ``realtime-uploads-worker`` (or ``python -m`` this module).

At-least-once, as SQS delivers: a message is deleted only after every
object in it was processed and its callback accepted; otherwise it becomes
visible again and is retried. While an image is being processed the
message's visibility is extended (a heartbeat), so a slow image is not handed
to a second worker. Up to ``concurrency`` messages are processed at once.
SIGTERM or SIGINT stops it cleanly: an idle long-poll is abandoned (its
messages, if any, reappear after their visibility timeout), work under way
is finished. A redelivered event leaves exactly one state change, because
the callback contract is idempotent. No Django import.

Each image is rendered in a child process that the kernel stops at
``IMAGE_CPU_SECONDS`` of CPU and a memory bound derived from
``MAX_DECODE_BYTES`` (:mod:`.sandbox`, ``ProcessorConfig.isolate``), where
the platform has the ``forkserver`` start method: the worker is long-running,
so one expensive image would otherwise hold a thread (and the heap) for as
long as it likes; with the child it ends ``failed`` with code ``time_limit``
and the worker takes the next message. The cost is a fork per image, about
20-45 ms of wall time on top of the render. (The Lambda handler renders
in-process: Lambda's own timeout and memory size bound each invocation.)
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from realtime_uploads.core.errors import EventError
from realtime_uploads.processing.config import config_from_env, s3_client_from_env
from realtime_uploads.processing.pipeline import ProcessorConfig
from realtime_uploads.processing.s3 import process_s3_event
from realtime_uploads.processing.s3_events import s3_event_from_message
from realtime_uploads.processing.sandbox import isolation_available, start_forkserver

logger = logging.getLogger(__name__)


class _Interrupted(BaseException):
    """Raised by the signal handler to abandon an idle long-poll."""


class SQSWorker:
    """Long-polls ``queue_url`` (``wait_time`` seconds, at most 20) and processes S3 events.

    ``visibility_timeout`` (seconds) is requested on receive and renewed
    every third of it while a message is being processed. ``isolate``
    (default: :func:`~.sandbox.isolation_available`) renders each image in a
    CPU- and memory-bounded child process, overriding ``config.isolate``.
    Raises ValueError for out-of-range numbers.
    """

    def __init__(self, *, queue_url: str, config: ProcessorConfig, sqs: Any = None, s3: Any = None,
                 concurrency: int = 4, wait_time: int = 20, visibility_timeout: int = 60,
                 isolate: bool | None = None):
        if concurrency < 1 or not 0 <= wait_time <= 20 or visibility_timeout < 3:
            raise ValueError("concurrency >= 1, 0 <= wait_time <= 20 and visibility_timeout >= 3 seconds.")
        self.queue_url = queue_url
        self.config = dataclasses.replace(config, isolate=isolation_available() if isolate is None else isolate)
        self.sqs = sqs or boto3.session.Session().client("sqs")
        self.s3 = s3
        self.concurrency = concurrency
        self.wait_time = wait_time
        self.visibility_timeout = visibility_timeout
        self.stop = threading.Event()
        self._receiving = False

    def run(self) -> None:
        """Receive and process until :attr:`stop` is set; then finish what is under way."""
        if self.config.isolate:
            start_forkserver()  # before any work: a Ctrl-C must not find it half-started under an image
        in_flight: set[Future] = set()
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="realtime-uploads-worker") as pool:
            while not self.stop.is_set():
                in_flight = {f for f in in_flight if not f.done()}
                free = self.concurrency - len(in_flight)
                if free == 0:
                    wait(in_flight, return_when=FIRST_COMPLETED)
                    continue
                messages = self._receive(min(10, free))
                in_flight |= {pool.submit(self.handle, message) for message in messages}
            wait(in_flight)
        logger.info("Worker stopped.")

    def _receive(self, count: int) -> list[dict]:
        try:
            self._receiving = True
            if self.stop.is_set():
                return []
            answer = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=count, WaitTimeSeconds=self.wait_time,
                VisibilityTimeout=self.visibility_timeout,
            )
        except _Interrupted:
            return []
        except (ClientError, BotoCoreError):
            logger.exception("Receiving from %s failed; retrying.", self.queue_url)
            self.stop.wait(1)
            return []
        finally:
            self._receiving = False
        return answer.get("Messages", [])

    def interrupt(self, signum: int = 0, frame: Any = None) -> None:
        """Signal handler: stop, and abandon a long-poll if one is waiting."""
        logger.info("Signal %s: stopping after the work under way.", signum)
        self.stop.set()
        if self._receiving and threading.current_thread() is threading.main_thread():
            raise _Interrupted

    def handle(self, message: dict) -> bool:
        """Process one message; delete it if done (True), leave it for a retry (False)."""
        handle = message["ReceiptHandle"]
        beat = threading.Event()
        heart = threading.Thread(target=self._heartbeat, args=(handle, beat), daemon=True)
        heart.start()
        try:
            outcomes = process_s3_event(s3_event_from_message(message["Body"]), config=self.config, client=self.s3)
            logger.info("Message %s: %s", message.get("MessageId"), [o.status for o in outcomes] or "test event")
        except EventError:
            logger.exception("Deleting message %s: not an S3 event.", message.get("MessageId"))
        except Exception:
            logger.exception("Message %s failed; it will be retried.", message.get("MessageId"))
            return False
        finally:
            beat.set()
            heart.join()
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=handle)
        return True

    def _heartbeat(self, receipt_handle: str, done: threading.Event) -> None:
        while not done.wait(self.visibility_timeout / 3):
            try:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=self.visibility_timeout
                )
            except (ClientError, BotoCoreError):
                logger.warning("Could not extend a message's visibility.", exc_info=True)


def main(argv: list[str] | None = None) -> int:
    """Command line: configuration from ``REALTIME_UPLOADS_*`` variables, flags override."""
    env = os.environ
    parser = argparse.ArgumentParser(prog="realtime-uploads-worker", description=__doc__.split("\n")[0])
    parser.add_argument("--queue-url", default=env.get("REALTIME_UPLOADS_QUEUE_URL"),
                        help="SQS queue receiving the bucket's S3 event notifications "
                             "(default: $REALTIME_UPLOADS_QUEUE_URL)")
    parser.add_argument("--concurrency", type=int, default=int(env.get("REALTIME_UPLOADS_WORKER_CONCURRENCY", 4)))
    parser.add_argument("--wait-time", type=int, default=20, help="long-poll seconds (0..20)")
    parser.add_argument("--visibility-timeout", type=int, default=60, help="seconds, renewed while processing")
    args = parser.parse_args(argv)
    if not args.queue_url:
        parser.error("--queue-url or REALTIME_UPLOADS_QUEUE_URL is required")
    logging.basicConfig(level=env.get("REALTIME_UPLOADS_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    worker = SQSWorker(queue_url=args.queue_url, config=config_from_env(), s3=s3_client_from_env(),
                       concurrency=args.concurrency, wait_time=args.wait_time,
                       visibility_timeout=args.visibility_timeout)
    signal.signal(signal.SIGTERM, worker.interrupt)
    signal.signal(signal.SIGINT, worker.interrupt)
    logger.info("Worker polling %s with %d at once, rendering %s.", args.queue_url, args.concurrency,
                "in bounded child processes" if worker.config.isolate else "in-process (no forkserver here)")
    worker.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
