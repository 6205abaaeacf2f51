"""Decoding S3 event notifications, direct or carried in SQS (or SNS → SQS) messages.

Shapes: "Event message structure" in the S3 user guide
(docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
Object keys arrive URL-encoded with ``+`` for spaces, so they are decoded with
``urllib.parse.unquote_plus``. S3 sends one ``s3:TestEvent`` when a
notification is configured; it names no object and is skipped. No Django import.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from realtime_uploads.core.errors import EventError


@dataclass(frozen=True)
class ObjectRef:
    """One created object: ``key`` decoded, ``size`` in bytes as S3 reported it (or None)."""

    bucket: str
    key: str
    size: int | None = None


def object_refs(event: Mapping[str, Any]) -> list[ObjectRef]:
    """The objects created in an S3 event; ``[]`` for ``s3:TestEvent`` and non-create records.

    Raises EventError for anything that is not an S3 event notification.
    """
    if not isinstance(event, Mapping):
        raise EventError("An S3 event must be a JSON object.")
    if event.get("Event") == "s3:TestEvent":
        return []
    records = event.get("Records")
    if not isinstance(records, list):
        raise EventError("Not an S3 event notification: no Records list.")
    refs = []
    for record in records:
        try:
            if record.get("eventSource") != "aws:s3" or not str(record["eventName"]).startswith("ObjectCreated:"):
                continue
            s3 = record["s3"]
            size = s3["object"].get("size")
            refs.append(ObjectRef(s3["bucket"]["name"], unquote_plus(s3["object"]["key"]),
                                  int(size) if size is not None else None))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise EventError(f"Malformed S3 event record: {exc!r}") from exc
    return refs


def s3_event_from_message(body: str) -> Mapping[str, Any]:
    """The S3 event in an SQS message body (also when SNS wrapped it). Raises EventError."""
    try:
        event = json.loads(body)
        if isinstance(event, Mapping) and event.get("Type") == "Notification" and "Message" in event:
            event = json.loads(event["Message"])  # S3 → SNS → SQS without raw delivery
    except (TypeError, ValueError) as exc:
        raise EventError(f"SQS message body is not JSON: {exc}") from exc
    if not isinstance(event, Mapping):
        raise EventError("SQS message body is not a JSON object.")
    return event


def is_sqs_event(event: Mapping[str, Any]) -> bool:
    """True for a Lambda event delivered by an SQS event source mapping."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    return bool(records) and isinstance(records[0], Mapping) and records[0].get("eventSource") == "aws:sqs"
