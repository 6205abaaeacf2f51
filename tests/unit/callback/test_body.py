"""Contract 0.2 in the callback and the event: variant ``formats``, ``animated``, ``placeholder`` and ``color``.

A 0.2 processor's report is stored and pushed with every file of every variant; a 0.1 report (no
``formats``) still works and reads back as one file; anything malformed is a 400 naming the field
and changes nothing.
"""

from __future__ import annotations

import pytest

from realtime_uploads.models import Upload, Variant
from realtime_uploads.state.events import upload_event
from tests.conftest import completed_payload

pytestmark = pytest.mark.django_db(transaction=True)  # the callback runs in the database executor's threads

PLACEHOLDER = "3tcJTYSXeXivmniFdmiId4iApQcI"


def modern_payload(upload_id, **extra) -> dict:
    """What our processor sends: thumb AVIF + WebP, large AVIF + JPEG, a placeholder and a colour."""

    def files(name, *formats):
        ext = {"AVIF": "avif", "WEBP": "webp", "JPEG": "jpg"}
        return [{"format": f, "key": f"variants/{upload_id}/{name}.{ext[f]}", "size": 1000 + i}
                for i, f in enumerate(formats)]

    variants = []
    for name, (w, h), formats in (("thumb", (320, 240), ("AVIF", "WEBP")), ("large", (1280, 960), ("AVIF", "JPEG"))):
        listed = files(name, *formats)
        variants.append({"name": name, "width": w, "height": h, "animated": False, "formats": listed,
                         "key": listed[-1]["key"], "format": listed[-1]["format"], "size": listed[-1]["size"]})
    return {"status": "completed", "original": {"width": 4000, "height": 3000, "format": "HEIF"},
            "variants": variants, "placeholder": PLACEHOLDER, "color": "#6083ae", **extra}


def test_a_completed_report_with_formats_is_pushed_with_every_file_and_the_placeholder(make_upload, post_callback):
    upload = make_upload()
    response = post_callback(upload.id, modern_payload(upload.id))
    assert response.status_code == 200, response.json()
    event = response.json()
    assert (event["placeholder"], event["color"]) == (PLACEHOLDER, "#6083ae")
    thumb, large = event["variants"]
    assert [(f["format"], f["type"]) for f in thumb["formats"]] == [("AVIF", "image/avif"), ("WEBP", "image/webp")]
    assert [f["url"] for f in large["formats"]] == [f"/api/uploads/local/files/variants/{upload.id}/large.avif",
                                                    f"/api/uploads/local/files/variants/{upload.id}/large.jpg"]
    # 0.1 readers: the variant's own fields are its fallback file, as before
    assert (thumb["format"], thumb["size"], thumb["url"]) == (
        "WEBP", 1001, f"/api/uploads/local/files/variants/{upload.id}/thumb.webp")
    assert thumb["animated"] is False
    # the snapshot (another read path: snapshots.read_snapshots) says the same
    stored = Upload.objects.get(pk=upload.id)
    assert upload_event(stored) == {**event}


def test_a_0_1_report_without_formats_reads_back_as_one_file_and_no_placeholder(make_upload, post_callback):
    upload = make_upload()
    event = post_callback(upload.id, completed_payload(upload.id)).json()
    [variant] = event["variants"]
    assert variant["formats"] == [{"format": "WEBP", "type": "image/webp", "size": 10422,
                                   "url": f"/api/uploads/local/files/variants/{upload.id}/thumb.webp"}]
    assert event["placeholder"] is None and event["color"] is None and variant["animated"] is False


def test_a_row_written_before_0_2_has_its_fallback_as_its_only_file(make_upload):
    upload = make_upload()
    Variant.objects.create(upload=upload, name="thumb", key=f"variants/{upload.id}/thumb.webp", width=10,
                           height=10, format="WEBP", size=5)  # formats left at its default, as migration 0004 does
    [variant] = upload_event(upload)["variants"]
    assert [(f["format"], f["size"]) for f in variant["formats"]] == [("WEBP", 5)]


def _five_files(variant: dict) -> None:
    """Three more files before the variant's own two: distinct formats and keys under its folder."""
    extra = [{"format": f, "key": variant["key"].replace("thumb.", f"thumb-{f}."), "size": 1} for f in "ABC"]
    variant["formats"][:0] = extra


def _bad(payload: dict, where: str, change) -> dict:
    change(payload["variants"][0] if where == "variant" else payload)
    return payload


@pytest.mark.parametrize(
    ("where", "change", "field"),
    [
        ("variant", lambda v: v.update(formats=[]), "variants"),
        ("variant", lambda v: v.update(formats="AVIF"), "variants"),
        ("variant", lambda v: v["formats"].reverse(), "variants"),  # the last must be the variant's own file
        ("variant", lambda v: v["formats"].insert(0, dict(v["formats"][-1])), "variants"),  # a file twice
        ("variant", lambda v: v["formats"][0].update(key="uploads/x/cat.jpg"), "variants"),  # outside its folder
        ("variant", lambda v: v["formats"][0].update(key=v["formats"][0]["key"].replace("thumb.", "../t.")),
         "variants"),
        ("variant", lambda v: v["formats"][0].update(size=0), "variants"),
        ("variant", lambda v: _five_files(v), "variants"),  # each valid alone, but over the 4 allowed
        ("variant", lambda v: v["formats"][0].update(format="webp"), "variants"),  # WEBP twice, in two cases
        ("top", lambda p: p["variants"][1]["formats"][0].update(key=p["variants"][0]["formats"][0]["key"]),
         "variants"),  # two variants sharing one file
        ("variant", lambda v: v.update(animated="yes"), "variants"),
        ("top", lambda p: p.update(placeholder="not base64!"), "placeholder"),
        ("top", lambda p: p.update(placeholder="A" * 65), "placeholder"),
        ("top", lambda p: p.update(placeholder=17), "placeholder"),
        ("top", lambda p: p.update(color="red"), "color"),
        ("top", lambda p: p.update(color="#ABCDEF"), "color"),
        ("top", lambda p: p.update(color="#abcdef;background:url(x)"), "color"),
    ],
)
def test_a_malformed_0_2_field_is_a_400_naming_it_and_changes_nothing(make_upload, post_callback, where, change,
                                                                        field):
    upload = make_upload()
    response = post_callback(upload.id, _bad(modern_payload(upload.id), where, change))
    assert response.status_code == 400 and field in response.json(), response.json()
    stored = Upload.objects.get(pk=upload.id)
    assert (stored.seq, stored.placeholder, stored.color) == (1, "", "")
    assert not stored.variants.exists()


def test_an_animated_variant_is_stored_and_pushed_as_such(make_upload, post_callback):
    upload = make_upload()
    payload = modern_payload(upload.id)
    thumb = payload["variants"][0]
    thumb["formats"] = [thumb["formats"][-1]]
    thumb["animated"] = True
    event = post_callback(upload.id, payload).json()
    assert event["variants"][0]["animated"] is True and len(event["variants"][0]["formats"]) == 1
    assert Variant.objects.get(upload=upload, name="thumb").animated is True
