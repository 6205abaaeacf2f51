"""UploadReferenceField / UploadReferencesField keep the upload itself; URLs are built when rendering.

The model is tests/formsapp's Profile (a real table, made by its migration).
"""

from __future__ import annotations

import pytest
from django import forms
from django.db.models import ProtectedError
from django.template import Context, Template

from realtime_uploads.forms import UploadField, UploadFormMixin
from realtime_uploads.forms.model_fields import UploadReferenceField, variant_url, variant_urls
from tests.formsapp.models import Profile
from tests.unit.forms.test_fields import completed, request_as

pytestmark = pytest.mark.django_db


class ProfileForm(UploadFormMixin, forms.ModelForm):
    class Meta:
        model = Profile
        fields = ["name", "photo", "gallery"]


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="x")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="x")


def test_model_form_fields_are_upload_fields():
    form = ProfileForm()
    assert isinstance(form.fields["photo"], UploadField) and not form.fields["photo"].multiple
    assert not form.fields["photo"].required
    assert isinstance(form.fields["gallery"], UploadField) and form.fields["gallery"].multiple


def test_round_trip_through_a_model_form_keeps_the_reference(make_upload, alice):
    photo = completed(make_upload(owner=alice))
    shots = [completed(make_upload(owner=alice, filename=f"{i}.jpg")) for i in range(2)]
    data = {"name": "Alice", "photo": str(photo.pk), "gallery": ",".join(str(s.pk) for s in shots)}
    form = ProfileForm(data, request=request_as(alice))
    assert form.is_valid(), form.errors
    profile = form.save()
    profile = Profile.objects.get(pk=profile.pk)
    assert profile.photo == photo
    assert set(profile.gallery.all()) == set(shots)
    # Editing: the form shows the current upload and saves unchanged.
    form = ProfileForm(instance=profile, request=request_as(alice))
    assert f'value="{photo.pk}"' in str(form["photo"])
    edit = ProfileForm({**data, "name": "Alice B."}, instance=profile, request=request_as(alice))
    assert edit.is_valid(), edit.errors
    assert not edit["photo"].field.has_changed(edit["photo"].initial, edit["photo"].data)
    edit.save()


def test_staff_can_save_someone_elses_object_unchanged_but_not_swap_in_their_uploads(make_upload, alice, bob):
    photo = completed(make_upload(owner=alice))
    profile = Profile.objects.create(name="Alice", photo=photo)
    form = ProfileForm({"name": "Edited", "photo": str(photo.pk), "gallery": ""}, instance=profile,
                       request=request_as(bob))
    assert form.is_valid(), form.errors
    other = completed(make_upload(owner=alice))
    form = ProfileForm({"name": "Edited", "photo": str(other.pk), "gallery": ""}, instance=profile,
                       request=request_as(bob))
    assert [e.code for e in form.errors.as_data()["photo"]] == ["not_yours"]


def test_variant_urls_are_built_from_the_reference(make_upload, alice):
    photo = completed(make_upload(owner=alice))
    profile = Profile.objects.create(name="Alice", photo=photo)
    profile = Profile.objects.select_related("photo").get(pk=profile.pk)
    url = variant_url(profile.photo, "thumb")
    assert url and url.endswith(f"variants/{photo.pk}/thumb.webp")
    assert variant_urls(profile.photo) == {"thumb": url}
    assert variant_url(profile.photo, "large") is None
    assert variant_urls(None) == {} and variant_url(None, "thumb") is None
    html = Template('{% load realtime_uploads %}<img src="{{ p.photo|variant_url:"thumb" }}">'
                    '{% with urls=p.photo|variant_urls %}{% for name, u in urls.items %}{{ name }}{% endfor %}'
                    '{% endwith %}'
                    '[{{ empty|variant_url:"thumb" }}]').render(Context({"p": profile, "empty": None}))
    assert html == f'<img src="{url}">thumb[]'


def test_referenced_upload_is_protected_from_deletion(make_upload, alice):
    photo = completed(make_upload(owner=alice))
    Profile.objects.create(name="Alice", photo=photo)
    with pytest.raises(ProtectedError):
        photo.delete()


def test_migrations_record_plain_django_fields():
    field = UploadReferenceField(null=True)
    field.set_attributes_from_name("photo")
    _name, path, _args, kwargs = field.deconstruct()
    assert path == "django.db.models.ForeignKey"
    assert kwargs["to"] == "realtime_uploads.upload" and kwargs["related_name"] == "+"
    assert kwargs["on_delete"].__name__ == "PROTECT"


def test_admin_with_the_mixin_takes_the_staff_members_own_upload(make_upload, admin_client, admin_user, alice):
    """The admin builds forms without a request; UploadAdminMixin binds it, so the ownership check runs."""
    mine = completed(make_upload(owner=admin_user))
    page = admin_client.get("/admin/formsapp/profile/add/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="photo__file" data-realtime-uploads' in html and "realtime_uploads/forms.js" in html
    answer = admin_client.post("/admin/formsapp/profile/add/", {"name": "Staff", "photo": str(mine.pk), "gallery": ""})
    assert answer.status_code == 302, answer.content.decode()[-2000:]
    assert Profile.objects.get(name="Staff").photo == mine
    theirs = completed(make_upload(owner=alice))
    answer = admin_client.post("/admin/formsapp/profile/add/", {"name": "Other", "photo": str(theirs.pk)})
    assert answer.status_code == 200
    assert "is not yours" in answer.content.decode()
    assert not Profile.objects.filter(name="Other").exists()
    # The change page lists the current upload (the admin's related-object wrapper would hide it).
    profile = Profile.objects.get(name="Staff")
    html = admin_client.get(f"/admin/formsapp/profile/{profile.pk}/change/").content.decode()
    assert f'role="listitem" data-upload-id="{mine.pk}"' in html and "cat.jpg" in html
    assert "add_id_photo" not in html


def test_gallery_keeps_the_order_it_was_saved_in(make_upload, alice):
    """A ManyToManyField inserts through a set and reads newest first; the gallery keeps the posted order."""
    shots = [completed(make_upload(owner=alice, filename=f"{i}.jpg")) for i in range(5)]
    order = [shots[3], shots[0], shots[4], shots[1], shots[2]]  # neither creation order nor newest first
    data = {"name": "Alice", "photo": "", "gallery": ",".join(str(s.pk) for s in order)}
    form = ProfileForm(data, request=request_as(alice))
    assert form.is_valid(), form.errors
    profile = Profile.objects.get(pk=form.save().pk)
    assert list(profile.gallery.all()) == order
    prefetched = Profile.objects.prefetch_related("gallery").get(pk=profile.pk)
    assert list(prefetched.gallery.all()) == order
    # The edit form shows them in that order, and a reordering is saved.
    html = str(ProfileForm(instance=profile, request=request_as(alice))["gallery"])
    assert [html.index(f'data-upload-id="{s.pk}"') for s in order] == sorted(
        html.index(f'data-upload-id="{s.pk}"') for s in order)
    moved = [order[4], *order[:4]]
    edit = ProfileForm({**data, "gallery": ",".join(str(s.pk) for s in moved)}, instance=profile,
                       request=request_as(alice))
    assert edit.is_valid(), edit.errors
    edit.save()
    assert list(Profile.objects.get(pk=profile.pk).gallery.all()) == moved
    # add() appends in the order given; set() with a prefix unchanged only appends.
    extra = [completed(make_upload(owner=alice, filename=f"x{i}.jpg")) for i in range(2)]
    profile.gallery.add(extra[1], extra[0])
    assert list(profile.gallery.all()) == [*moved, extra[1], extra[0]]
    profile.gallery.set([s.pk for s in moved])
    assert list(profile.gallery.all()) == moved
