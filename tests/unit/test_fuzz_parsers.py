"""Property-based fuzzing (hypothesis) of the parsers that read hostile text: the callback signature
header, the callback body and the local backend's policy document.

Each parser either accepts its input or raises its own error type (which the
views turn into a 4xx naming what was wrong); any other exception would be a
500. Run briefly here; ``HYPOTHESIS_PROFILE=long make test PYTEST_ARGS=-k fuzz``
runs them for 20x as many examples.
"""

from __future__ import annotations

import base64
import json
import uuid

from hypothesis import example, given
from hypothesis import strategies as st

from realtime_uploads.callback.body import parse_callback_json
from realtime_uploads.core.errors import SignatureError
from realtime_uploads.core.signing import sign_callback, verify_callback
from realtime_uploads.exceptions import BodyError, PolicyError
from realtime_uploads.storage.policy import PostPolicy

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
header_parts = st.lists(
    st.one_of(
        st.text(max_size=30),
        st.builds(lambda n: f"t={n}", st.one_of(st.integers(), st.text(max_size=12))),
        st.builds(lambda v: f"v1={v}", st.one_of(st.text(max_size=70), st.binary(min_size=32, max_size=32).map(
            bytes.hex))),
    ),
    max_size=6,
)


@given(header=st.one_of(st.text(), header_parts.map(",".join)), body=st.binary(max_size=64))
@example(header="t=" + "9" * 5000 + ",v1=" + "a" * 64, body=b"{}")
@example(header="t=١٢٣,v1=" + "a" * 64, body=b"{}")
@example(header="t=1,v1=" + "é" * 64, body=b"{}")
@example(header="\x00" * 10, body=b"")
def test_the_signature_header_parser_only_raises_signature_error(header, body):
    try:
        verify_callback(body, header, ["secret-one", "secret-two"], tolerance=300, now=1_700_000_000)
    except SignatureError as exc:
        assert exc.args and str(exc)
    else:
        raise AssertionError(f"{header!r} was accepted without knowing the secret")


@given(body=st.binary(max_size=64))
def test_a_real_signature_still_verifies(body):
    header = sign_callback(body, "secret-two", timestamp=1_700_000_000)
    signed_at = verify_callback(body, header, ["secret-one", "secret-two"], tolerance=300, now=1_700_000_000)
    assert signed_at == 1_700_000_000


UPLOAD_ID = "0b8a4a70-2f7f-4a5e-9bf3-7e2b8f0c6d11"


@given(raw=st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode()),
                     st.fixed_dictionaries({"id": st.just(UPLOAD_ID), "status": st.sampled_from(
                         ["processing", "completed", "failed", "x"])}, optional={
                         "original": json_values, "variants": json_values, "error": json_values,
                         "object": json_values}).map(lambda v: json.dumps(v).encode())))
@example(raw=b"[" * 100_000)
@example(raw=b'{"id": "' + UPLOAD_ID.encode() + b'", "status": "completed", "variants": [' + b"[" * 50_000 + b"]")
def test_the_callback_body_parser_only_raises_its_error(raw):
    try:
        parse_callback_json(raw, upload_id=uuid.UUID(UPLOAD_ID), variant_prefix="variants/")
    except BodyError as exc:
        assert exc.errors and all(exc.errors.values())


def _b64(value) -> str:
    return base64.b64encode(value if isinstance(value, bytes) else json.dumps(value).encode()).decode()


@given(encoded=st.one_of(st.text(max_size=80), json_values.map(_b64), st.binary(max_size=80).map(_b64),
                         st.fixed_dictionaries({"expiration": st.text(max_size=30), "conditions": json_values}).map(
                             _b64)))
@example(encoded=_b64(b"[" * 100_000))
@example(encoded=_b64({"expiration": "2030-01-01T00:00:00.000Z", "conditions": [["content-length-range"]]}))
@example(encoded=_b64({"expiration": "2030-01-01T00:00:00.000Z", "conditions": [7, None]}))
@example(encoded="ünïcode")
def test_the_policy_parser_only_raises_policy_error(encoded):
    try:
        policy = PostPolicy.decode(encoded)
    except PolicyError as exc:
        assert exc.code and 400 <= exc.status < 500
    else:  # what decodes is a policy the checks can use: fields compare as strings, sizes as ints
        assert isinstance(policy.min_size, int) and isinstance(policy.max_size, int)
