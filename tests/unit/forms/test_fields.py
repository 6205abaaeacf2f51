"""UploadField takes only uploads the requesting user may attach, and says which rule an id broke.

Real database rows made through the services; the request is a RequestFactory
request with a real user (or AnonymousUser).
"""

from __future__ import annotations

import time
import uuid
from unittest import mock

import pytest
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from realtime_uploads.forms import UploadField, UploadFormMixin, UploadWidget, bind_request
from realtime_uploads.state import services
from realtime_uploads.state.access import make_subscribe_token

pytestmark = pytest.mark.django_db


class PhotoForm(UploadFormMixin, forms.Form):
    photo = UploadField()


class GalleryForm(UploadFormMixin, forms.Form):
    photos = UploadField(multiple=True, max_uploads=3)


class OwnerOnlyForm(UploadFormMixin, forms.Form):
    photo = UploadField(accept_tokens=False)


def completed(upload, name="thumb"):
    services.upload_mark_completed(
        upload_id=upload.pk, original={"width": 64, "height": 48, "format": "JPEG"},
        variants=[{"name": name, "key": f"variants/{upload.pk}/{name}.webp", "width": 32, "height": 24,
                   "format": "WEBP", "size": 100}],
    )
    upload.refresh_from_db()
    return upload


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="x")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="x")


def request_as(user):
    request = RequestFactory().post("/")
    request.user = user or AnonymousUser()
    return request


def codes(form, name):
    return [e.code for e in form.errors.as_data()[name]]


def test_owner_gets_the_completed_upload_as_the_cleaned_value(make_upload, alice):
    upload = completed(make_upload(owner=alice))
    form = PhotoForm({"photo": str(upload.pk)}, request=request_as(alice))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["photo"] == upload


def test_another_users_upload_is_refused_as_not_yours(make_upload, alice, bob):
    upload = completed(make_upload(owner=alice))
    form = PhotoForm({"photo": str(upload.pk)}, request=request_as(bob))
    assert not form.is_valid()
    assert codes(form, "photo") == ["not_yours"]
    assert "is not yours" in form.errors["photo"][0]
    assert upload.filename not in str(form.errors)  # nothing is said of someone else's file


def test_anonymous_users_upload_is_refused_without_its_token(make_upload):
    upload = completed(make_upload())
    form = PhotoForm({"photo": str(upload.pk)}, request=request_as(None))
    assert not form.is_valid()
    assert codes(form, "photo") == ["not_yours"]


def test_upload_carrying_its_token_is_accepted_for_anyone(make_upload, alice):
    upload = completed(make_upload())  # anonymous upload: only its token proves possession
    value = f"{upload.pk}:{make_subscribe_token(str(upload.pk))}"
    form = PhotoForm({"photo": value}, request=request_as(None))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["photo"] == upload
    other = completed(make_upload(owner=alice))
    form = PhotoForm({"photo": f"{other.pk}:{make_subscribe_token(str(other.pk))}"}, request=request_as(None))
    assert form.is_valid(), form.errors


def test_token_of_another_upload_or_a_forged_one_is_refused(make_upload):
    upload, other = completed(make_upload()), completed(make_upload())
    for token in (make_subscribe_token(str(other.pk)), "forged", f"{upload.pk}:0:AAAA"):
        form = PhotoForm({"photo": f"{upload.pk}:{token}"}, request=request_as(None))
        assert not form.is_valid()
        assert codes(form, "photo") == ["bad_token"], token


def test_expired_token_is_refused(make_upload):
    upload = completed(make_upload())
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 3601):  # issued over an hour ago
        value = f"{upload.pk}:{make_subscribe_token(str(upload.pk))}"
    form = PhotoForm({"photo": value}, request=request_as(None))
    assert codes(form, "photo") == ["bad_token"]
    assert "3600 seconds" in form.errors["photo"][0]


def test_owner_only_field_ignores_tokens(make_upload):
    upload = completed(make_upload())
    form = OwnerOnlyForm({"photo": f"{upload.pk}:{make_subscribe_token(str(upload.pk))}"}, request=request_as(None))
    assert codes(form, "photo") == ["not_yours"]


@pytest.mark.parametrize("status", ["pending", "processing"])
def test_unfinished_upload_is_refused_with_its_status(make_upload, alice, status):
    upload = make_upload(owner=alice)
    if status == "processing":
        services.upload_mark_processing(upload_id=upload.pk)
    form = PhotoForm({"photo": str(upload.pk)}, request=request_as(alice))
    assert codes(form, "photo") == ["not_finished"]
    assert form.errors["photo"] == [f"“cat.jpg” is not ready yet (it is {status}); wait until it is processed."]


def test_failed_upload_is_refused_with_its_message(make_upload, alice):
    upload = make_upload(owner=alice)
    services.upload_mark_failed(upload_id=upload.pk, error_code="not_an_image",
                                error_message="The file is not an image (100% sure).")
    form = PhotoForm({"photo": str(upload.pk)}, request=request_as(alice))
    assert codes(form, "photo") == ["failed"]
    assert form.errors["photo"] == ["“cat.jpg” could not be processed: The file is not an image (100% sure)."]


def test_expired_upload_is_refused(make_upload, alice):
    upload = make_upload(owner=alice)
    services.upload_mark_expired(upload_id=upload.pk)
    form = PhotoForm({"photo": str(upload.pk)}, request=request_as(alice))
    assert codes(form, "photo") == ["expired"]


def test_cancelled_upload_is_refused_without_asking_to_wait(make_upload, alice):
    upload = make_upload(owner=alice)
    services.upload_cancel(upload_id=upload.pk)
    form = PhotoForm({"photo": str(upload.pk)}, request=request_as(alice))
    assert codes(form, "photo") == ["cancelled"]
    assert "wait" not in form.errors["photo"][0] and "cancelled" in form.errors["photo"][0]


def test_unknown_and_malformed_ids_are_refused(alice):
    missing = uuid.uuid4()
    form = PhotoForm({"photo": str(missing)}, request=request_as(alice))
    assert codes(form, "photo") == ["unknown"]
    assert str(missing) in form.errors["photo"][0]
    form = PhotoForm({"photo": "../etc/passwd"}, request=request_as(alice))
    assert codes(form, "photo") == ["malformed"]
    assert form.errors["photo"] == ["“../etc/passwd” is not an upload id."]


def test_empty_value_is_required_or_none(alice):
    form = PhotoForm({"photo": ""}, request=request_as(alice))
    assert codes(form, "photo") == ["required"]

    class Optional(UploadFormMixin, forms.Form):
        photo = UploadField(required=False)

    form = Optional({"photo": ""}, request=request_as(alice))
    assert form.is_valid() and form.cleaned_data["photo"] is None


def test_single_field_refuses_two_ids(make_upload, alice):
    a, b = completed(make_upload(owner=alice)), completed(make_upload(owner=alice))
    form = PhotoForm({"photo": f"{a.pk},{b.pk}"}, request=request_as(alice))
    assert codes(form, "photo") == ["only_one"]


def test_multiple_gives_every_upload_in_order_and_names_each_refusal(make_upload, alice, bob):
    mine = [completed(make_upload(owner=alice, filename=f"{i}.jpg")) for i in range(2)]
    form = GalleryForm({"photos": f"{mine[1].pk}, {mine[0].pk},{mine[1].pk}"}, request=request_as(alice))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["photos"] == [mine[1], mine[0]]
    theirs = completed(make_upload(owner=bob))
    pending = make_upload(owner=alice, filename="slow.jpg")
    form = GalleryForm({"photos": f"{theirs.pk},{pending.pk},nope"}, request=request_as(alice))
    assert sorted(codes(form, "photos")) == ["malformed", "not_finished", "not_yours"]
    assert any("slow.jpg" in message for message in form.errors["photos"])


def test_multiple_caps_the_count(make_upload, alice):
    ids = ",".join(str(completed(make_upload(owner=alice)).pk) for _ in range(4))
    form = GalleryForm({"photos": ids}, request=request_as(alice))
    assert codes(form, "photos") == ["too_many"]
    assert form.errors["photos"] == ["At most 3 uploads are accepted here, got 4."]


def test_a_huge_list_of_ids_is_refused_before_any_query(alice, django_assert_num_queries):
    class Unbounded(UploadFormMixin, forms.Form):
        photos = UploadField(multiple=True)

    form = Unbounded({"photos": ",".join(str(uuid.uuid4()) for _ in range(5000))}, request=request_as(alice))
    with django_assert_num_queries(0):
        assert codes(form, "photos") == ["too_many"]
    assert form.errors["photos"] == ["At most 100 uploads are accepted here, got 5000."]


def test_a_file_posted_without_javascript_is_refused_saying_so(alice):
    form = PhotoForm({"photo__file": "cat.jpg"}, request=request_as(alice))
    assert codes(form, "photo") == ["needs_javascript"]
    assert "needs JavaScript" in form.errors["photo"][0]


def test_cleaning_without_the_request_is_a_configuration_error(make_upload, alice):
    upload = completed(make_upload(owner=alice))
    form = PhotoForm({"photo": str(upload.pk)})
    with pytest.raises(ImproperlyConfigured, match="request=request"):
        form.is_valid()
    form = bind_request(PhotoForm({"photo": str(upload.pk)}), request_as(alice))
    assert form.is_valid()


def test_initial_upload_is_accepted_again_for_a_user_who_does_not_own_it(make_upload, alice, bob):
    """A staff member saving someone's object unchanged; a different foreign id is still refused."""
    upload = completed(make_upload(owner=alice))
    form = PhotoForm({"photo": str(upload.pk)}, initial={"photo": upload.pk}, request=request_as(bob))
    assert form.is_valid(), form.errors
    assert not form.has_changed()
    other = completed(make_upload(owner=alice))
    form = PhotoForm({"photo": str(other.pk)}, initial={"photo": upload.pk}, request=request_as(bob))
    assert codes(form, "photo") == ["not_yours"]


def test_widget_renders_the_hidden_ids_and_the_enhanced_file_input(make_upload, alice):
    upload = completed(make_upload(owner=alice))
    html = str(PhotoForm(initial={"photo": upload}, request=request_as(alice))["photo"])
    assert f'<input type="hidden" name="photo" value="{upload.pk}" data-realtime-uploads-ids>' in html
    assert 'type="file" name="photo__file" data-realtime-uploads' in html
    assert 'id="id_photo"' in html and 'accept="image/jpeg,image/png,image/webp,image/gif"' in html
    assert "<noscript>" in html and "JavaScript is needed" in html
    assert 'data-presign-url="/api/uploads/"' in html and 'data-max-size="10485760"' in html
    assert "cat.jpg" in html and f"variants/{upload.pk}/thumb.webp" in html
    assert " multiple" not in html
    assert 'multiple' in str(GalleryForm(request=request_as(alice))["photos"])
    media = str(PhotoForm(request=request_as(alice)).media)
    assert 'type="module"' in media and "realtime_uploads/forms.js" in media
    assert "realtime_uploads/realtime-uploads.css" in media


def test_rerendering_keeps_posted_tokens_but_shows_no_names_of_refused_ids(make_upload, alice, bob):
    upload = completed(make_upload(owner=alice, filename="alices-secret.jpg"))
    form = PhotoForm({"photo": f"{upload.pk}:forged"}, request=request_as(bob))
    assert not form.is_valid()
    html = str(form["photo"])
    assert f'value="{upload.pk}:forged"' in html
    assert "alices-secret.jpg" not in html


def test_widget_used_alone_renders_without_a_form(make_upload):
    html = UploadWidget(multiple=True).render("files", "", attrs={"id": "id_files"})
    assert 'name="files__file"' in html and " multiple" in html


def test_forms_js_needs_only_the_clients_upload_export():
    """forms.js may import nothing from the client but ``upload(file, options)`` and ``guardImage`` (a
    thumbnail's lost-file state), which the client keeps."""
    import re
    from pathlib import Path

    static = Path(__file__).resolve().parents[3] / "realtime_uploads" / "static" / "realtime_uploads"
    imports = re.findall(r"^import .*$", (static / "forms.js").read_text(), re.MULTILINE)
    assert imports == ['import { guardImage, upload } from "./realtime-uploads.js";']
    # The client (realtime-uploads.js re-exports its modules) really exports it: asked of node itself.
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = (f'import {{ guardImage, upload }} from "{(static / "realtime-uploads.js").as_uri()}";'
              'process.exit(typeof upload === "function" && typeof guardImage === "function" ? 0 : 1);')
    subprocess.run([node, "--input-type=module", "-e", script], check=True, timeout=30)
