import hashlib
import hmac

import pytest

from realtime_uploads.core.errors import SignatureError
from realtime_uploads.core.signing import sign_callback, verify_callback
from realtime_uploads.state.access import check_subscribe_token, make_subscribe_token

BODY = b'{"status":"processing"}'
SECRET = "s3cret-for-tests"


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    header = sign_callback(BODY, SECRET, timestamp=1_700_000_000)
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_valid_signature_verifies_and_returns_its_timestamp():
    header = sign_callback(BODY, SECRET, timestamp=1_700_000_000)
    assert verify_callback(BODY, header, [SECRET], tolerance=300, now=1_700_000_100) == 1_700_000_000


@pytest.mark.parametrize(
    "body",
    [b'{"status":"completed"}', BODY + b" ", b""],
    ids=["other-status", "trailing-space", "empty"],
)
def test_tampered_body_is_rejected(body):
    header = sign_callback(BODY, SECRET, timestamp=1_700_000_000)
    with pytest.raises(SignatureError) as info:
        verify_callback(body, header, [SECRET], tolerance=300, now=1_700_000_000)
    assert info.value.code == "invalid_signature"


def test_signature_made_with_another_secret_is_rejected():
    header = sign_callback(BODY, "someone-else", timestamp=1_700_000_000)
    with pytest.raises(SignatureError, match="does not match"):
        verify_callback(BODY, header, [SECRET], tolerance=300, now=1_700_000_000)


def test_changing_the_timestamp_breaks_the_signature():
    header = sign_callback(BODY, SECRET, timestamp=1_700_000_000).replace("t=1700000000", "t=1700000001")
    with pytest.raises(SignatureError) as info:
        verify_callback(BODY, header, [SECRET], tolerance=300, now=1_700_000_000)
    assert info.value.code == "invalid_signature"


@pytest.mark.parametrize("offset", [301, -301, 86_400])
def test_signature_outside_the_tolerance_window_is_stale(offset):
    header = sign_callback(BODY, SECRET, timestamp=1_700_000_000)
    with pytest.raises(SignatureError) as info:
        verify_callback(BODY, header, [SECRET], tolerance=300, now=1_700_000_000 + offset)
    assert info.value.code == "stale_signature"


def test_any_of_several_secrets_verifies_for_rotation():
    old = sign_callback(BODY, "old-secret", timestamp=1_700_000_000)
    new = sign_callback(BODY, "new-secret", timestamp=1_700_000_000)
    for header in (old, new):
        verify_callback(BODY, header, ["new-secret", "old-secret"], tolerance=300, now=1_700_000_000)


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_signature"),
        ("", "missing_signature"),
        ("garbage", "malformed_signature"),
        ("t=abc,v1=00", "malformed_signature"),
        ("t=1700000000", "malformed_signature"),
        ("v1=00", "malformed_signature"),
        ("t=²,v1=" + "0" * 64, "malformed_signature"),  # a digit to str.isdigit, not to int()
        ("t=1700000000,v1=é" + "0" * 63, "malformed_signature"),  # non-ASCII would crash compare_digest
        ("t=1700000000,v1=" + "A" * 64, "malformed_signature"),
    ],
)
def test_missing_or_malformed_header_is_rejected_with_its_code(header, code):
    with pytest.raises(SignatureError) as info:
        verify_callback(BODY, header, [SECRET], tolerance=300, now=1_700_000_000)
    assert info.value.code == code


def test_signing_without_a_secret_is_refused():
    with pytest.raises(ValueError, match="secret is required"):
        sign_callback(BODY, "")


def test_subscribe_token_authorises_only_its_own_upload():
    token = make_subscribe_token("8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1")
    assert check_subscribe_token(token, "8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1")
    assert not check_subscribe_token(token, "00000000-5a51-4ac1-9d8c-93f4b7c1b0b1")
    assert not check_subscribe_token(token[:-2] + "xx", "8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1")
    assert not check_subscribe_token(None, "8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1")


def test_subscribe_token_expires_after_its_max_age(settings, monkeypatch):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "SUBSCRIBE_TOKEN_MAX_AGE": 700}
    token = make_subscribe_token("8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1")
    import time as time_module

    real = time_module.time
    monkeypatch.setattr(time_module, "time", lambda: real() + 701)
    assert not check_subscribe_token(token, "8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1")


def test_subscribe_token_is_salted_so_a_plain_signature_of_the_id_is_refused():
    from django.core.signing import TimestampSigner

    unsalted = TimestampSigner().sign("8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1")
    assert not check_subscribe_token(unsalted, "8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1")
