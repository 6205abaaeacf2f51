import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from realtime_uploads.exceptions import PolicyError
from realtime_uploads.storage.policy import PostPolicy

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
KEY = "uploads/8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1/cat.jpg"


def policy(**overrides):
    values = {"key": KEY, "content_type": "image/jpeg", "min_size": 1, "max_size": 1000,
              "expires_at": NOW + timedelta(seconds=600)}
    values.update(overrides)
    return PostPolicy(**values)


def good_fields(p):
    return {**p.fields(), "policy": p.encode(), "x-amz-signature": "ignored-here"}


def test_document_pins_exact_key_content_type_size_range_and_expiry():
    doc = json.loads(base64.b64decode(policy().encode()))
    assert doc["expiration"] == "2026-11-22T10:10:00.000Z"
    assert {"key": KEY} in doc["conditions"]
    assert {"Content-Type": "image/jpeg"} in doc["conditions"]
    assert ["content-length-range", 1, 1000] in doc["conditions"]
    assert len(doc["conditions"]) == 3  # no starts-with or other loosening conditions


def test_encoded_policy_decodes_to_the_same_policy():
    p = policy()
    assert PostPolicy.decode(p.encode()) == p


@pytest.mark.parametrize("raw", ["not base64!", base64.b64encode(b"{}").decode(), ""])
def test_garbage_policy_is_an_invalid_policy_document(raw):
    with pytest.raises(PolicyError) as info:
        PostPolicy.decode(raw)
    assert (info.value.code, info.value.status) == ("InvalidPolicyDocument", 400)


def test_matching_fields_before_expiry_pass():
    p = policy()
    p.check_fields(good_fields(p), now=NOW)


def test_expired_policy_is_access_denied():
    p = policy()
    with pytest.raises(PolicyError, match="Policy expired") as info:
        p.check_fields(good_fields(p), now=NOW + timedelta(seconds=600))
    assert (info.value.code, info.value.status) == ("AccessDenied", 403)


@pytest.mark.parametrize(
    ("field", "value"),
    [("key", "uploads/other/cat.jpg"), ("key", KEY + "x"), ("Content-Type", "image/png"),
     ("Content-Type", "image/jpeg; charset=x")],
)
def test_field_not_matching_its_exact_condition_is_access_denied(field, value):
    p = policy()
    fields = {**good_fields(p), field: value}
    with pytest.raises(PolicyError, match=f"\\$({field})") as info:
        p.check_fields(fields, now=NOW)
    assert info.value.code == "AccessDenied"


def test_missing_field_is_access_denied():
    p = policy()
    fields = good_fields(p)
    del fields["Content-Type"]
    with pytest.raises(PolicyError) as info:
        p.check_fields(fields, now=NOW)
    assert info.value.code == "AccessDenied"


def test_extra_field_is_access_denied_but_x_ignore_fields_are_allowed():
    p = policy()
    p.check_fields({**good_fields(p), "x-ignore-tracking": "1"}, now=NOW)
    with pytest.raises(PolicyError, match="Extra input fields: acl"):
        p.check_fields({**good_fields(p), "acl": "public-read"}, now=NOW)


@pytest.mark.parametrize(("size", "code"), [(0, "EntityTooSmall"), (1001, "EntityTooLarge")])
def test_size_outside_content_length_range_is_refused_with_s3_codes(size, code):
    with pytest.raises(PolicyError) as info:
        policy().check_size(size)
    assert (info.value.code, info.value.status) == (code, 400)


@pytest.mark.parametrize("size", [1, 500, 1000])
def test_size_inside_content_length_range_passes(size):
    policy().check_size(size)


def test_backends_pin_the_content_length_range_to_exactly_the_declared_size(make_upload):
    from realtime_uploads.storage import get_backend

    upload = make_upload(size=677)
    pinned = get_backend().policy_for(upload)
    assert (pinned.min_size, pinned.max_size) == (677, 677)
    assert ["content-length-range", 677, 677] in pinned.conditions()
    for size, code in ((676, "EntityTooSmall"), (678, "EntityTooLarge")):
        with pytest.raises(PolicyError) as info:
            pinned.check_size(size)
        assert info.value.code == code
    pinned.check_size(677)
