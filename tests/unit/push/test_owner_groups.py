"""Owner groups (live history): named from the socket's own session, unforgeable, the presign's hash."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory, override_settings

from realtime_uploads.presign.identity import session_hash
from realtime_uploads.push.owner_groups import group_of
from realtime_uploads.state.owners import owner_group, session_key_hash

pytestmark = pytest.mark.django_db(transaction=True)


def scope(cookie: str | None = None, user=None) -> dict:
    headers = [(b"cookie", f"sessionid={cookie}".encode())] if cookie else []
    return {"type": "websocket", "headers": headers, **({"user": user} if user is not None else {})}


def test_group_names_are_valid_channels_names_that_say_nothing_of_whose_they_are():
    name = owner_group(user_id=42)
    assert re.fullmatch(r"uploads\.owner\.[0-9a-f]{64}", name)
    assert owner_group(user_id=42) == name and owner_group(user_id=43) != name
    assert owner_group(session_hash="ab" * 32) != owner_group(user_id="ab" * 32)
    assert owner_group() is None
    with override_settings(SECRET_KEY="another secret key, another set of names entirely"):
        assert owner_group(user_id=42) != name  # none can be made without the secret


def test_an_anonymous_sockets_group_is_the_one_its_sessions_presigns_publish_to():
    request = RequestFactory().post("/")
    request.user = AnonymousUser()
    request.session = SessionStore()
    stored = session_hash(request, create=True)  # what presign writes on the upload
    assert session_key_hash(request.session.session_key) == stored
    assert async_to_sync(group_of)(scope(request.session.session_key)) == owner_group(session_hash=stored)
    assert async_to_sync(group_of)(scope()) is None


def test_a_signed_in_sockets_group_is_its_users_in_every_browser(django_user_model):
    alice = django_user_model.objects.create_user("alice", password="x")
    assert async_to_sync(group_of)(scope(user=alice)) == owner_group(user_id=alice.pk)
    assert async_to_sync(group_of)(scope("whatever", user=alice)) == owner_group(user_id=alice.pk)
    assert async_to_sync(group_of)(scope(user=AnonymousUser())) is None


def test_a_signed_in_users_session_cookie_is_their_users_group(client, django_user_model):
    alice = django_user_model.objects.create_user("alice", password="x")
    client.force_login(alice)
    key = client.cookies["sessionid"].value
    assert async_to_sync(group_of)(scope(key)) == owner_group(user_id=alice.pk)
