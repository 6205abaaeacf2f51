"""The OpenAPI document, and schemathesis against a live server with it: no input gives a 5xx.

A real daphne (the shipped command) over loopback; schemathesis generates
requests from ``/api/schema/`` for every operation, valid and not. Each answer
must be a non-5xx, conform to the document where it is documented, and a 4xx
must say what was wrong (a JSON ``detail`` or the fields at fault, or S3's XML
``Code``/``Message`` for the local POST).
"""

from __future__ import annotations

import json

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

import realtime_uploads
from tests import servers

EXAMPLES = 40


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    server = servers.Daphne(tmp_path_factory.mktemp("schema"), REALTIME_UPLOADS_PRESIGN_RATE="100000/minute").start()
    yield server
    server.terminate()


@pytest.fixture(scope="module")
def api_schema(daphne):
    return schemathesis.openapi.from_url(daphne.url + "/api/schema/?format=json")


def test_the_document_describes_the_whole_contract(daphne):
    document = httpx.get(daphne.url + "/api/schema/?format=json").json()
    assert document["openapi"].startswith("3.") and document["info"]["version"] == realtime_uploads.__version__
    operations = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert {"upload_create", "upload_batch_create", "upload_history", "upload_status", "upload_callback",
            "local_upload", "upload_delete", "upload_download", "local_file", "local_download"} <= operations
    assert {"Event", "Variant", "VariantFile", "CallbackBody", "UploadError"} <= set(document["components"]["schemas"])
    event = document["components"]["schemas"]["Event"]["properties"]
    assert {"placeholder", "color"} <= set(event)
    swagger = httpx.get(daphne.url + "/api/schema/swagger/")
    assert swagger.status_code == 200 and "swagger-ui" in swagger.text
    assert "jsdelivr" not in swagger.text and "unpkg" not in swagger.text


def says_what_was_wrong(response) -> None:
    """A 4xx names what was wrong: JSON detail/fields (each with a message), or S3's XML Code and Message."""
    if not 400 <= response.status_code < 500:
        return
    text = response.text
    if text.startswith("<?xml"):
        assert "<Code>" in text and "<Message>" in text, text
        return
    body = json.loads(text)
    assert isinstance(body, dict) and body, text
    for field, messages in body.items():
        if field in ("detail", "code", "limit"):
            assert body["detail"] if field == "detail" else True, text
            continue
        assert messages and _messages(messages), text


def _messages(value) -> bool:
    """Every leaf a non-empty message; a batch's per-item errors nest ({} for a valid item, at least one not)."""
    if isinstance(value, str):
        return bool(value)
    if isinstance(value, dict):
        return all(_messages(v) for v in value.values())
    return isinstance(value, list) and bool(value) and all(_messages(v) for v in value) and any(
        v for v in value)


def test_no_request_gets_a_server_error(daphne):
    """Every operation of the document, EXAMPLES generated requests each (schemathesis' strategies)."""
    schema = schemathesis.openapi.from_url(daphne.url + "/api/schema/?format=json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7 and "DELETE /api/uploads/{upload_id}/" in {op.label for op in operations}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case):
            response = case.call(base_url=daphne.url, timeout=30)
            case.validate_response(response, checks=[not_a_server_error])
            says_what_was_wrong(response)

        call()
    assert "Traceback" not in daphne.log()


def test_generating_the_document_warns_about_nothing(db, tmp_path):
    """drf-spectacular's own validation of the DRF side, failing on any warning (as its system check reports)."""
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "upload_create" in (tmp_path / "schema.yaml").read_text()


@pytest.mark.django_db(transaction=True)
def test_a_real_completed_event_and_callback_body_validate_against_the_served_document(daphne):
    """The document is checked against what the code produces: a 0.2 event with formats and a placeholder."""
    import jsonschema

    from realtime_uploads.state import services
    from realtime_uploads.state.events import upload_event
    from tests.unit.callback.test_body import modern_payload

    document = httpx.get(daphne.url + "/api/schema/?format=json").json()
    upload = services.upload_create(filename="a.heic", content_type="image/heic", size=10)
    body = modern_payload(upload.id)
    services.upload_mark_completed(upload_id=upload.id, original=body["original"], variants=body["variants"],
                                   placeholder=body["placeholder"], color=body["color"])
    event = upload_event(upload.__class__.objects.get(pk=upload.id))
    for name, instance in (("Event", event), ("CallbackBody", {"id": str(upload.id), **body})):
        jsonschema.validate(instance, {**document, "$ref": f"#/components/schemas/{name}"})
    broken = {**event, "color": "red"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, {**document, "$ref": "#/components/schemas/Event"})
