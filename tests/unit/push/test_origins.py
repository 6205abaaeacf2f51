"""``realtime_uploads.push.origins``: which pages may open the sockets (scheme, host and port compared)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realtime_uploads.core.setting_kinds import normalise_origin
from realtime_uploads.push.origins import origin_refusal, own_origin


def scope(origin=None, host="app.example.com", *, scheme="ws", client="203.0.113.9", extra=()):
    headers = [(b"host", host.encode())] if host else []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "scheme": scheme, "client": (client, 5000), "path": "/ws/uploads/",
            "headers": [*headers, *extra]}


@pytest.fixture(autouse=True)
def hosts(settings):
    settings.ALLOWED_HOSTS = ["app.example.com", "127.0.0.1"]
    settings.CSRF_TRUSTED_ORIGINS = []
    settings.SECURE_PROXY_SSL_HEADER = None
    settings.USE_X_FORWARDED_HOST = False


@pytest.mark.parametrize("value, normal", [
    ("HTTPS://App.Example.com:443", "https://app.example.com"), ("http://h:80/", "http://h"),
    ("http://[::1]:8000", "http://[::1]:8000"), ("null", None), ("http://h/p", None), ("ftp://h", None),
    ("http://u:p@h", None), ("http://h:99999", None), ("http://h?x", None), ("", None),
])
def test_origins_are_normalised_or_refused(value, normal):
    assert normalise_origin(value) == normal


def test_the_same_origin_needs_the_same_scheme_host_and_port():
    assert origin_refusal(scope("http://app.example.com")) is None
    assert origin_refusal(scope("https://app.example.com", scheme="wss")) is None
    assert origin_refusal(scope("http://127.0.0.1:8000", host="127.0.0.1:8000")) is None
    for origin in ("https://app.example.com", "http://app.example.com:8080", "http://evil.example",
                   "http://sub.app.example.com"):
        assert origin_refusal(scope(origin)) is not None, origin
    assert origin_refusal(scope("http://127.0.0.1:8001", host="127.0.0.1:8000")) is not None


def test_a_host_outside_allowed_hosts_has_no_same_origin():
    assert own_origin(scope(host="rebind.example")) is None
    assert origin_refusal(scope("http://rebind.example", host="rebind.example")) is not None
    assert own_origin(scope(host="")) is None


def test_no_origin_passes_and_null_or_two_do_not():
    assert origin_refusal(scope(None)) is None
    assert "not an http(s) origin" in origin_refusal(scope("null"))
    assert "more than one" in origin_refusal(scope("http://app.example.com",
                                                   extra=[(b"origin", b"http://app.example.com")]))


def test_allowed_origins_and_csrf_trusted_origins(settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "ALLOWED_ORIGINS": ["https://admin.example.com:8443"]}
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.org", "http://localhost:3000"]
    assert origin_refusal(scope("https://admin.example.com:8443")) is None
    assert origin_refusal(scope("https://admin.example.com")) is not None
    assert origin_refusal(scope("https://a.example.org")) is None
    assert origin_refusal(scope("http://a.example.org")) is not None
    assert origin_refusal(scope("http://localhost:3000")) is None
    assert origin_refusal(scope("http://localhost:3001")) is not None


def test_proxy_headers_are_believed_as_django_does_and_only_from_trusted_proxies(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.USE_X_FORWARDED_HOST = True
    proxied = [(b"x-forwarded-proto", b"https"), (b"x-forwarded-host", b"app.example.com")]
    assert own_origin(scope(host="10.0.0.5:8000", extra=proxied)) == "https://app.example.com"
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "TRUSTED_PROXIES": ["10.0.0.0/8"]}
    assert own_origin(scope(host="app.example.com", client="10.1.2.3", extra=proxied)) == "https://app.example.com"
    assert own_origin(scope(host="app.example.com", client="203.0.113.9", extra=proxied)) == "http://app.example.com"


@given(origin=st.one_of(st.text(max_size=60), st.from_regex(r"(https?|wss?|ftp)://[a-z0-9.\[\]:@_-]{0,30}(/.{0,5})?",
                                                              fullmatch=True)),
       host=st.text(max_size=40))
def test_any_origin_and_host_are_judged_without_raising(origin, host):
    try:
        header_host = host.encode("latin-1")
        header_origin = origin.encode("latin-1")
    except UnicodeEncodeError:  # headers are bytes: a client sends what latin-1 can say
        return
    refusal = origin_refusal({"type": "websocket", "scheme": "ws", "client": ("203.0.113.9", 1),
                              "headers": [(b"host", header_host), (b"origin", header_origin)]})
    assert refusal is None or isinstance(refusal, str)
