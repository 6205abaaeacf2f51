"""Live history: a tab hears of the uploads another tab of the same session starts, over its multiplexed socket.

A real daphne; "tabs" are real WebSocket clients sending the session cookie
their browser's HTTP client got at presign. Another session must hear nothing.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import aiohttp
import pytest
from websockets.asyncio.client import connect

from tests import servers
from tests.cluster import callback, collect, presign


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    server = servers.Daphne(tmp_path_factory.mktemp("live-history"),
                            REALTIME_UPLOADS_PRESIGN_RATE="1000/min",
                            REALTIME_UPLOADS_MAX_PENDING_PER_CLIENT="1000").start()
    yield server
    server.terminate()


def _tab(base: str, cookies: str | None):
    headers = {"Cookie": cookies} if cookies else None
    return connect(base.replace("http", "ws") + "/ws/uploads/", origin=base, additional_headers=headers)


async def _send(ws, message: dict) -> None:
    await ws.send(json.dumps(message))


async def _recv(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


def _cookie_header(http: aiohttp.ClientSession) -> str:
    return "; ".join(f"{c.key}={c.value}" for c in http.cookie_jar)


@pytest.mark.asyncio
async def test_a_tab_hears_of_an_upload_another_tab_of_its_session_starts_and_another_session_does_not(daphne):
    jar_a, jar_b = aiohttp.CookieJar(unsafe=True), aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar_a) as alice, aiohttp.ClientSession(cookie_jar=jar_b) as bob:
        await presign(alice, daphne.url)  # each browser's first upload starts its session
        await presign(bob, daphne.url)
        assert "sessionid=" in _cookie_header(alice) and _cookie_header(alice) != _cookie_header(bob)
        async with _tab(daphne.url, _cookie_header(alice)) as first, \
                _tab(daphne.url, _cookie_header(alice)) as second, \
                _tab(daphne.url, _cookie_header(bob)) as other:
            for ws in (first, second, other):
                await _send(ws, {"type": "follow_history"})
                assert await _recv(ws) == {"type": "history_followed"}
            await _send(first, {"type": "follow_history"})  # again: nothing changes, still one group
            assert await _recv(first) == {"type": "history_followed"}

            started = await presign(alice, daphne.url)  # "tab one" presigns
            for ws in (first, second):
                news = await _recv(ws)
                assert (news["type"], news["id"], news["status"], news["seq"]) == (
                    "upload.created", started["id"], "pending", 1)
                assert news["filename"] == "a.jpg" and news["created_at"].endswith("Z") and news["token"]
            assert await collect(other, until_status=None, timeout=1.5) == []  # another session hears nothing

            # The other tab follows it with the token it was given, over the same socket.
            news_token = news["token"]
            await _send(second, {"type": "subscribe", "id": started["id"], "token": news_token})
            assert (await _recv(second))["id"] == started["id"]
            assert (await callback(alice, daphne.url, started["id"], "processing")).status == 200
            pushed = await _recv(second)
            assert (pushed["type"], pushed["id"], pushed["status"]) == ("upload.status", started["id"], "processing")

            # Bob's uploads reach Bob's tab only.
            his = await presign(bob, daphne.url)
            assert (await _recv(other))["id"] == his["id"]
            assert await collect(first, until_status=None, timeout=1) == []


@pytest.mark.asyncio
async def test_a_socket_without_a_session_has_no_history_to_follow(daphne):
    async with _tab(daphne.url, None) as ws:
        await _send(ws, {"type": "follow_history"})
        refused = await _recv(ws)
        assert (refused["type"], refused["error"]["code"]) == ("error", "forbidden")
        await _send(ws, {"type": "ping"})
        assert await _recv(ws) == {"type": "pong"}  # the socket stays open
    # A made-up session key joins a group no real session's uploads are told to.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as someone:
        await presign(someone, daphne.url)
        async with _tab(daphne.url, "sessionid=madeupkeymadeupkeymadeupkey0123") as forger:
            await _send(forger, {"type": "follow_history", "session": _cookie_header(someone)})
            assert await _recv(forger) == {"type": "history_followed"}
            await presign(someone, daphne.url)
            assert await collect(forger, until_status=None, timeout=1.5) == []


@pytest.mark.asyncio
async def test_the_first_presign_of_a_fresh_process_is_heard_too(tmp_path):
    """The first news goes out before the process ever sent an event (the outbox has no loop of its own yet)."""
    server = servers.Daphne(tmp_path).start()
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
            async with browser.get(server.url + "/") as page:  # the demo page starts a session
                assert page.status == 200
            async with _tab(server.url, _cookie_header(browser)) as tab:
                await _send(tab, {"type": "follow_history"})
                assert await _recv(tab) == {"type": "history_followed"}
                started = await presign(browser, server.url)
                assert (await _recv(tab))["id"] == started["id"]
    finally:
        server.terminate()


async def _signed_in(base: str, username: str) -> aiohttp.ClientSession:
    """A "browser" signed in through the admin's login form (a real session, a real CSRF token)."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{base}/admin/login/") as page:
        assert page.status == 200
    token = next(c.value for c in http.cookie_jar if c.key == "csrftoken")
    async with http.post(f"{base}/admin/login/?next=/admin/", allow_redirects=False, data={
            "csrfmiddlewaretoken": token, "username": username, "password": "pw-for-tests",
            "next": "/admin/"}) as answer:
        assert answer.status == 302, await answer.text()
    return http


@pytest.mark.asyncio
async def test_a_signed_in_user_hears_of_their_uploads_in_every_browser_and_no_one_else_does(daphne):
    for username in ("alice", "bob"):
        subprocess.run([sys.executable, "manage.py", "createsuperuser", "--noinput", "--username", username,
                        "--email", f"{username}@example.com"], cwd=servers.ROOT, check=True,
                       env={**daphne.env, "DJANGO_SUPERUSER_PASSWORD": "pw-for-tests"})
    laptop, phone, bob = [await _signed_in(daphne.url, name) for name in ("alice", "alice", "bob")]
    try:
        assert _cookie_header(laptop) != _cookie_header(phone)  # two sessions of one user
        async with _tab(daphne.url, _cookie_header(phone)) as on_phone, \
                _tab(daphne.url, _cookie_header(bob)) as bobs:
            for ws in (on_phone, bobs):
                await _send(ws, {"type": "follow_history"})
                assert await _recv(ws) == {"type": "history_followed"}
            csrf = next(c.value for c in laptop.cookie_jar if c.key == "csrftoken")
            async with laptop.post(f"{daphne.url}/api/uploads/", headers={"X-CSRFToken": csrf}, json={
                    "filename": "from-the-laptop.jpg", "content_type": "image/jpeg", "size": 100}) as answer:
                assert answer.status == 201, await answer.text()
                started = await answer.json()
            news = await _recv(on_phone)
            assert (news["type"], news["id"], news["filename"]) == ("upload.created", started["id"],
                                                                    "from-the-laptop.jpg")
            assert await collect(bobs, until_status=None, timeout=1.5) == []
    finally:
        for http in (laptop, phone, bob):
            await http.close()


@pytest.mark.asyncio
async def test_a_socket_whose_session_signed_out_hears_no_more(daphne):
    """News carries a token that may cancel, delete and download: a tab signed out since must not get it."""
    subprocess.run([sys.executable, "manage.py", "createsuperuser", "--noinput", "--username", "carol",
                    "--email", "carol@example.com"], cwd=servers.ROOT, env={**daphne.env,
                   "DJANGO_SUPERUSER_PASSWORD": "pw-for-tests"})  # may exist from an earlier run of the module
    laptop, phone = [await _signed_in(daphne.url, "carol") for _ in range(2)]
    try:
        async with _tab(daphne.url, _cookie_header(phone)) as on_phone:
            await _send(on_phone, {"type": "follow_history"})
            assert await _recv(on_phone) == {"type": "history_followed"}
            csrf = next(c.value for c in phone.cookie_jar if c.key == "csrftoken")
            async with phone.post(f"{daphne.url}/admin/logout/", data={"csrfmiddlewaretoken": csrf},
                                  allow_redirects=False) as answer:
                assert answer.status in (200, 302), await answer.text()
            csrf = next(c.value for c in laptop.cookie_jar if c.key == "csrftoken")
            async with laptop.post(f"{daphne.url}/api/uploads/", headers={"X-CSRFToken": csrf}, json={
                    "filename": "after-sign-out.jpg", "content_type": "image/jpeg", "size": 100}) as answer:
                assert answer.status == 201, await answer.text()
            told = await _recv(on_phone)
            assert told["type"] == "error" and told["error"]["code"] == "forbidden", told
            assert "after-sign-out.jpg" not in json.dumps(told)
    finally:
        for http in (laptop, phone):
            await http.close()
