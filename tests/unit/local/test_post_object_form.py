"""The local upload endpoint takes hostile forms as S3 would: a 4xx S3 XML error naming the problem, never a 500.

Non-ASCII, over-long, missing and duplicated fields; bodies that are not
multipart; fields after the file (S3 ignores them); a second object for one
upload (the first wins); a file of another size than the one declared.
"""

from __future__ import annotations

import io
import threading

import pytest
from django.test import Client

from realtime_uploads.models import Upload
from realtime_uploads.storage import get_backend
from tests.conftest import jpeg_bytes
from tests.unit.local.test_post_object import presign, s3_code, wait_for_status

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_callbacks(live_server, settings):
    settings.REALTIME_UPLOADS = {
        **settings.REALTIME_UPLOADS, "CALLBACK_URL": live_server.url + "/api/uploads/{id}/callback/"}
    return live_server

BOUNDARY = "----realtime-uploads-test"


def multipart(parts: list[tuple[str, bytes | str, str | None]]) -> bytes:
    """A multipart/form-data body of ``(name, value, filename or None)`` parts, in this order."""
    out = b""
    for name, value, filename in parts:
        value = value.encode("utf-8") if isinstance(value, str) else value
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename:
            out += b"Content-Type: image/jpeg\r\n"
        out += b"\r\n" + value + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def post_raw(client, body: bytes, content_type: str = f"multipart/form-data; boundary={BOUNDARY}"):
    return client.generic("POST", "/api/uploads/local/", body, content_type=content_type)


def fields_then_file(fields: dict, data: bytes, **replace) -> list:
    return [*[(k, replace.get(k, v), None) for k, v in fields.items()], ("file", data, "p.jpg")]


def refused(response, status: int, code: str) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/xml"
    assert s3_code(response) == code
    return response.content.decode()


@pytest.fixture
def presigned(client):
    data = jpeg_bytes()
    p = presign(client, len(data))
    return p, data


def nothing_stored(p) -> bool:
    return not get_backend().storage.exists(p["upload"]["fields"]["key"]) and \
        Upload.objects.get(pk=p["id"]).status == "pending"


@pytest.mark.parametrize("signature", ["é" * 64, "ü", "0" * 65, "0" * 10_000, " "])
def test_non_ascii_or_malformed_signature_is_signature_does_not_match(client, presigned, signature):
    p, data = presigned
    response = post_raw(client, multipart(fields_then_file(p["upload"]["fields"], data,
                                                           **{"x-amz-signature": signature})))
    refused(response, 403, "SignatureDoesNotMatch")
    assert nothing_stored(p)


@pytest.mark.parametrize("policy", ["é" * 100, "\x00", "A" * 19_000])
def test_non_ascii_or_forged_policy_is_refused(client, presigned, policy):
    p, data = presigned
    response = post_raw(client, multipart(fields_then_file(p["upload"]["fields"], data, policy=policy)))
    refused(response, 403, "SignatureDoesNotMatch")
    assert nothing_stored(p)


@pytest.mark.parametrize("field", ["key", "Content-Type"])
def test_non_ascii_or_undecodable_field_values_are_access_denied(client, presigned, field):
    p, data = presigned
    for value in ("uploads/é.jpg", b"\xff\xfe"):
        response = post_raw(client, multipart(fields_then_file(p["upload"]["fields"], data, **{field: value})))
        refused(response, 403, "AccessDenied")
    assert nothing_stored(p)


@pytest.mark.parametrize("field", ["key", "policy", "x-amz-signature", "Content-Type"])
def test_a_field_sent_twice_is_invalid_argument_naming_it(client, presigned, field):
    p, data = presigned
    fields = p["upload"]["fields"]
    parts = [(field, fields[field], None), *fields_then_file(fields, data)]
    body = refused(post_raw(client, multipart(parts)), 400, "InvalidArgument")
    assert field in body and "more than once" in body
    assert nothing_stored(p)


@pytest.mark.parametrize("name", ["x-ignore-pad", "é" * 10])
def test_fields_over_20_kb_before_the_file_are_refused(client, presigned, name):
    p, data = presigned
    parts = [(name, "x" * 21_000, None), *fields_then_file(p["upload"]["fields"], data)]
    refused(post_raw(client, multipart(parts)), 400, "MaxPostPreDataLengthExceeded")
    assert nothing_stored(p)


@pytest.mark.parametrize(("body", "content_type"), [
    (b"key=a&policy=b", "application/x-www-form-urlencoded"),
    (b'{"key": "a"}', "application/json"),
    (b"--x\r\ngarbage", "multipart/form-data"),  # no boundary
    (b"--x\r\ngarbage", "multipart/form-data; boundary=\xe9"),
    (b"", f"multipart/form-data; boundary={BOUNDARY}"),
])
def test_a_body_that_is_not_a_multipart_form_is_a_400(client, presigned, body, content_type):
    response = post_raw(client, body, content_type)
    assert response.status_code in (400, 403)
    assert s3_code(response) in ("MalformedPOSTRequest", "AccessDenied")


def test_file_before_the_fields_is_refused_naming_the_problem_as_s3_would(client, presigned):
    p, data = presigned
    fields = p["upload"]["fields"]
    parts = [("file", data, "p.jpg"), *[(k, v, None) for k, v in fields.items()]]
    body = refused(post_raw(client, multipart(parts)), 400, "InvalidArgument")
    assert "after the file" in body and "policy" in body
    assert nothing_stored(p)


def test_one_signed_field_after_the_file_is_refused_too(client, presigned):
    p, data = presigned
    fields = dict(p["upload"]["fields"])
    content_type = fields.pop("Content-Type")
    parts = [*fields_then_file(fields, data), ("Content-Type", content_type, None)]
    assert "Content-Type" in refused(post_raw(client, multipart(parts)), 400, "InvalidArgument")
    assert nothing_stored(p)


@pytest.mark.usefixtures("live_callbacks")
def test_x_ignore_fields_after_the_file_are_ignored_as_s3_ignores_them(client, presigned):
    p, data = presigned
    parts = [*fields_then_file(p["upload"]["fields"], data), ("x-ignore-trailer", "1", None)]
    assert post_raw(client, multipart(parts)).status_code == 204


# --- one upload, one object: the first wins -------------------------------------------------------


@pytest.mark.usefixtures("live_callbacks")
def test_a_double_submit_is_refused_and_the_first_file_completes(client, presigned):
    p, data = presigned
    body = multipart(fields_then_file(p["upload"]["fields"], data))
    assert post_raw(client, body).status_code == 204
    assert "already been received" in refused(post_raw(client, body), 403, "AccessDenied")
    upload = wait_for_status(p["id"], "completed")
    assert upload.error_code == ""
    with get_backend().storage.open(p["upload"]["fields"]["key"]) as stored:
        assert stored.read() == data


@pytest.mark.usefixtures("live_callbacks")
def test_ten_posts_at_once_store_one_object_and_the_upload_completes(presigned):
    p, data = presigned
    body = multipart(fields_then_file(p["upload"]["fields"], data))
    start = threading.Barrier(10)
    answers: list = []

    def send():
        start.wait()
        answers.append(post_raw(Client(), body))

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    codes = sorted(a.status_code for a in answers)
    assert codes == [204] + [403] * 9, codes
    assert all(s3_code(a) == "AccessDenied" for a in answers if a.status_code == 403)
    upload = wait_for_status(p["id"], "completed")
    assert upload.error_code == ""
    folder = p["upload"]["fields"]["key"].rsplit("/", 1)[0]
    assert get_backend().storage.listdir(folder)[1] == ["p.jpg"]  # the losers' copies were removed


# --- the declared size is the size --------------------------------------------------------------


@pytest.mark.parametrize(("declared", "code"), [(10, "EntityTooLarge"), (100_000, "EntityTooSmall")])
def test_a_file_of_another_size_than_declared_is_refused_and_not_stored(client, declared, code):
    data = jpeg_bytes()
    p = presign(client, declared)
    body = refused(post_raw(client, multipart(fields_then_file(p["upload"]["fields"], data))), 400, code)
    assert f"{len(data)} bytes" in body and f"allows {declared} bytes" in body
    assert nothing_stored(p)


@pytest.mark.parametrize("length", ["-1", "abc", ""])
def test_odd_content_length_headers_are_a_4xx(client, presigned, length):
    p, data = presigned
    body = multipart(fields_then_file(p["upload"]["fields"], data))
    response = client.generic("POST", "/api/uploads/local/", body, CONTENT_LENGTH=length,
                              content_type=f"multipart/form-data; boundary={BOUNDARY}")
    assert 400 <= response.status_code < 500
    assert s3_code(response) in ("MalformedPOSTRequest", "AccessDenied")
    assert nothing_stored(p)


def test_non_utf8_part_headers_and_field_names_are_a_4xx(client, presigned):
    p, data = presigned
    odd_name = b'filename="\xff\xfe.jpg"'  # Django drops a part whose headers are not UTF-8
    body = multipart(fields_then_file(p["upload"]["fields"], data)).replace(b'filename="p.jpg"', odd_name)
    refused(post_raw(client, body), 400, "IncorrectNumberOfFilesInPostRequest")
    body = multipart(fields_then_file(p["upload"]["fields"], data)).replace(b'name="key"', b'name="k\xffy"', 1)
    refused(post_raw(client, body), 403, "AccessDenied")  # the key field is missing
    assert nothing_stored(p)


def spooled(data: bytes):
    """The upload as the local endpoint's handler gives it to the backend: spooled to a temporary file."""
    from django.core.files.uploadedfile import TemporaryUploadedFile

    upload = TemporaryUploadedFile("p.jpg", "image/jpeg", len(data), None)
    upload.write(data)
    upload.seek(0)
    return upload


def test_a_post_that_loses_the_race_at_the_last_moment_is_refused_and_the_winner_kept(presigned, monkeypatch):
    """Another POST's file appears at the key just before ours is created. Django moves a spooled upload
    into place with an exists-check then rename(), which overwrote the winner (two 204s for one key,
    seen once on CI under load); every way a file can be created at the key is intercepted here."""
    import os

    from realtime_uploads.exceptions import PolicyError
    from realtime_uploads.local.post_object import receive
    from realtime_uploads.storage import get_backend
    from realtime_uploads.storage.policy import PostPolicy

    p, data = presigned
    target = get_backend().storage.path(p["upload"]["fields"]["key"])
    winner = b"the other POST's bytes"
    real_open, real_rename, real_link = os.open, os.rename, os.link

    def competitor_first(path) -> None:
        if os.fspath(path) == target and not os.path.exists(target):
            with open(target, "wb") as other:  # the other POST's exclusive create, just before ours
                other.write(winner)

    monkeypatch.setattr(os, "open", lambda path, *a, **k: (competitor_first(path), real_open(path, *a, **k))[1])
    monkeypatch.setattr(os, "rename", lambda src, dst, *a, **k: (competitor_first(dst), real_rename(src, dst))[1])
    monkeypatch.setattr(os, "link", lambda src, dst, *a, **k: (competitor_first(dst), real_link(src, dst))[1])
    upload = spooled(data)
    try:
        with pytest.raises(PolicyError) as refused_error:
            receive(get_backend(), PostPolicy.decode(p["upload"]["fields"]["policy"]), upload)
    finally:
        upload.close()
        monkeypatch.undo()
    assert refused_error.value.code == "AccessDenied"
    with get_backend().storage.open(p["upload"]["fields"]["key"]) as stored:
        assert stored.read() == winner
    folder = p["upload"]["fields"]["key"].rsplit("/", 1)[0]
    assert get_backend().storage.listdir(folder)[1] == ["p.jpg"]  # nothing of ours is left beside it


def test_a_write_that_fails_half_way_leaves_nothing_and_the_form_can_be_sent_again(presigned, monkeypatch):
    """A full disk after the first chunk: a 500, nothing at the key (a partial object there would make
    every retry "already received" and the sweep process a truncated image), and a retry that lands."""
    import errno

    from django.core.files import File

    from realtime_uploads.exceptions import PolicyError
    from realtime_uploads.local.post_object import receive
    from realtime_uploads.local.runner import get_runner
    from realtime_uploads.storage import get_backend
    from realtime_uploads.storage.policy import PostPolicy

    p, data = presigned
    policy, key = PostPolicy.decode(p["upload"]["fields"]["policy"]), p["upload"]["fields"]["key"]

    class DiskFills(File):
        def chunks(self, chunk_size=None):
            yield data[:1000]
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(PolicyError) as failed:
        receive(get_backend(), policy, DiskFills(io.BytesIO(data), name="p.jpg"))
    assert (failed.value.code, failed.value.status) == ("InternalError", 500)
    assert not get_backend().storage.exists(key)
    assert get_backend().storage.listdir(key.rsplit("/", 1)[0])[1] == []  # no temporary file left either
    monkeypatch.setattr(get_runner().dispatcher, "submit", lambda key: True)  # stored is what is checked
    upload = spooled(data)
    try:
        receive(get_backend(), policy, upload)
    finally:
        upload.close()
    with get_backend().storage.open(key) as stored:
        assert stored.read() == data
