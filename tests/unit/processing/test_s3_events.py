"""Decoding S3 event notifications, direct and inside SQS / SNS messages."""

import json

import pytest

from realtime_uploads.core.errors import EventError
from realtime_uploads.processing.s3_events import ObjectRef, is_sqs_event, object_refs, s3_event_from_message


def s3_event(*keys, name="ObjectCreated:Post"):
    return {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": name,
                         "s3": {"bucket": {"name": "b"}, "object": {"key": k, "size": 10}}} for k in keys]}


def test_keys_are_url_decoded_with_unquote_plus():
    event = s3_event("uploads/abc/holiday+photo+%C3%A9t%C3%A9.jpg", "uploads/abc/100%25+real.jpg")
    assert object_refs(event) == [ObjectRef("b", "uploads/abc/holiday photo été.jpg", 10),
                                  ObjectRef("b", "uploads/abc/100% real.jpg", 10)]


def test_test_event_names_no_object():
    assert object_refs({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}) == []


def test_only_object_created_records_count():
    assert object_refs(s3_event("uploads/a/x.jpg", name="ObjectRemoved:Delete")) == []


@pytest.mark.parametrize("event", [{}, {"Records": "x"}, [], {"Records": [{"eventSource": "aws:s3",
                                                                          "eventName": "ObjectCreated:Put"}]}])
def test_malformed_events_raise_event_error(event):
    with pytest.raises(EventError):
        object_refs(event)


def test_sqs_body_and_sns_wrapped_body_both_yield_the_s3_event():
    event = s3_event("uploads/a/x.jpg")
    assert s3_event_from_message(json.dumps(event)) == event
    wrapped = json.dumps({"Type": "Notification", "Message": json.dumps(event)})
    assert s3_event_from_message(wrapped) == event
    with pytest.raises(EventError):
        s3_event_from_message("not json")


def test_sqs_events_are_told_from_s3_events():
    assert is_sqs_event({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]})
    assert not is_sqs_event(s3_event("uploads/a/x.jpg"))
    assert not is_sqs_event({})
