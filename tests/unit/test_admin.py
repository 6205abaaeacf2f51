"""The Upload admin is read-only and shows how a completed upload looks: the colour swatch, the colour and the
ThumbHash as text, and every file of every variant with its size, all escaped."""

from __future__ import annotations

import pytest

from realtime_uploads.state import services

pytestmark = pytest.mark.django_db


def test_change_page_of_a_completed_upload_shows_the_placeholder_and_the_formats(make_upload, admin_client):
    upload = make_upload(filename="<b>beach</b>.jpg")
    prefix = f"variants/{upload.pk}/"
    thumb = [{"format": "AVIF", "key": f"{prefix}thumb.avif", "size": 8000},
             {"format": "WEBP", "key": f"{prefix}thumb.webp", "size": 10422}]
    services.upload_mark_completed(
        upload_id=upload.pk, original={"width": 4000, "height": 3000, "format": "JPEG"},
        variants=[{"name": "thumb", "width": 320, "height": 240, "animated": False, "formats": thumb, **thumb[-1]},
                  # A 0.1 row: no formats, the fallback is the only file.
                  {"name": "large", "key": f"{prefix}large.jpg", "width": 1280, "height": 960, "format": "JPEG",
                   "size": 90000}],
        placeholder="15YCnZp3eHiIh3h3eIeHj49394h3", color="#336699",
    )
    page = admin_client.get(f"/admin/realtime_uploads/upload/{upload.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "background-color:#336699" in html and "<code>#336699</code>" in html
    assert "<code>15YCnZp3eHiIh3h3eIeHj49394h3</code>" in html
    assert f"<li><strong>AVIF</strong> 8000 bytes <code>{prefix}thumb.avif</code></li>" in html
    assert f"<li><strong>WEBP</strong> 10422 bytes (fallback) <code>{prefix}thumb.webp</code></li>" in html
    assert f"<li><strong>JPEG</strong> 90000 bytes (fallback) <code>{prefix}large.jpg</code></li>" in html
    assert "<b>beach</b>" not in html and "&lt;b&gt;beach&lt;/b&gt;" in html
    # Read-only: no form fields for the upload or its variants, and a POST changes nothing.
    assert 'name="status"' not in html and 'name="variants-0-formats"' not in html
    assert admin_client.post(f"/admin/realtime_uploads/upload/{upload.pk}/change/", {"status": "failed"}).status_code \
        == 403
    upload.refresh_from_db()
    assert upload.status == "completed"


def test_a_colour_that_is_not_rrggbb_gets_no_swatch(make_upload, admin_client):
    upload = make_upload()
    # At most 7 characters: the column's length (PostgreSQL enforces it).
    services.upload_mark_completed(upload_id=upload.pk, original=None, variants=[], color='"><i>x')
    html = admin_client.get(f"/admin/realtime_uploads/upload/{upload.pk}/change/").content.decode()
    assert "background-color:" not in html and "<i>x" not in html
    assert "<code>&quot;&gt;&lt;i&gt;x</code> <code>-</code>" in html
