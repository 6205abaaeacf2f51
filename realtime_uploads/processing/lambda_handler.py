"""AWS Lambda entry point: ``realtime_uploads.processing.lambda_handler.handler``.

Accepts an S3 event notification (the bucket invokes the function directly)
or SQS messages whose bodies are S3 events (an SQS event source mapping with
``ReportBatchItemFailures``, the shape ``template.yaml`` deploys). For SQS it
returns ``{"batchItemFailures": [{"itemIdentifier": <messageId>}]}`` naming
the messages to retry ("Handling errors for an SQS event source in Lambda",
AWS Lambda developer guide), so one bad image never re-runs the whole batch.
Configuration comes from the environment (:mod:`.config`, :mod:`realtime_uploads.core.environment`), read once per
container. No Django import.

Images are rendered in-process (``ProcessorConfig.isolate`` stays False),
unlike the SQS worker's bounded child processes: the function's timeout and
memory size bound each invocation, and a ``forkserver`` child per image
(20-45 ms each) is untested in Lambda's sandbox, which lacks ``/dev/shm``
that parts of multiprocessing need. ``IMAGE_CPU_SECONDS`` is therefore not
enforced here (a runaway image ends in the function's timeout and a retry); set
the function's timeout to what the slowest acceptable image needs times the
batch size, and its memory size above ``MAX_DECODE_BYTES``.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from realtime_uploads.core.errors import EventError
from realtime_uploads.processing.config import config_from_env, s3_client_from_env
from realtime_uploads.processing.pipeline import ProcessorConfig
from realtime_uploads.processing.s3 import process_s3_event
from realtime_uploads.processing.s3_events import is_sqs_event, s3_event_from_message

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _config() -> ProcessorConfig:
    return config_from_env()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any] | None:
    """Process the objects in ``event``; for SQS events, report which messages failed."""
    config = _config()
    client = s3_client_from_env()
    if not is_sqs_event(event):
        process_s3_event(event, config=config, client=client)  # raising makes Lambda retry
        return None
    failures = []
    for record in event["Records"]:
        try:
            process_s3_event(s3_event_from_message(record["body"]), config=config, client=client)
        except EventError:
            logger.exception("Dropping SQS message %s: not an S3 event.", record.get("messageId"))
        except Exception:
            logger.exception("SQS message %s failed; it will be retried.", record.get("messageId"))
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
