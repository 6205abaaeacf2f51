"""Client identity: the peer address, and X-Forwarded-For only as far as our own proxies wrote it."""

import pytest

from realtime_uploads.core.addresses import UNKNOWN, parse_networks, rate_key, resolve_client, scope_client
from realtime_uploads.push.socket_caps import client_key

PROXIES = parse_networks(["10.0.0.0/8", "fd00::/8"])


def test_forwarded_for_from_an_untrusted_peer_is_ignored():
    assert resolve_client("203.0.113.7", "1.2.3.4", PROXIES) == "203.0.113.7"
    assert resolve_client("203.0.113.7", "1.2.3.4", ()) == "203.0.113.7"


def test_behind_a_trusted_proxy_the_address_it_appended_is_the_client():
    assert resolve_client("10.0.0.2", "198.51.100.9", PROXIES) == "198.51.100.9"


def test_what_the_client_wrote_left_of_our_proxies_is_never_believed():
    # The client sent "X-Forwarded-For: 1.2.3.4, 10.9.9.9"; our two proxies appended its address and their own.
    assert resolve_client("10.0.0.2", "1.2.3.4, 10.9.9.9, 198.51.100.9, 10.0.0.3", PROXIES) == "198.51.100.9"


def test_every_hop_trusted_gives_the_leftmost_and_garbage_stops_at_the_last_trusted():
    assert resolve_client("10.0.0.2", "10.1.1.1, 10.0.0.3", PROXIES) == "10.1.1.1"
    assert resolve_client("10.0.0.2", "not-an-ip, 10.0.0.3", PROXIES) == "10.0.0.3"
    assert resolve_client("10.0.0.2", "", PROXIES) == "10.0.0.2"


@pytest.mark.parametrize(("hop", "expected"), [
    ("[2001:db8::1]:443", "2001:db8::1"), ("198.51.100.9:5000", "198.51.100.9"),
    ("::ffff:198.51.100.9", "198.51.100.9"), (" 2001:db8::2 ", "2001:db8::2")])
def test_hops_with_ports_brackets_and_mapped_addresses_are_parsed(hop, expected):
    assert resolve_client("fd00::1", hop, PROXIES) == expected


def test_missing_or_unparsable_peer_is_unknown():
    assert resolve_client(None, "1.2.3.4", PROXIES) == UNKNOWN
    assert resolve_client("", None, PROXIES) == UNKNOWN


def test_ipv6_clients_are_counted_by_their_slash_64():
    assert rate_key("2001:db8:1:2:aaaa::1") == rate_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert rate_key("198.51.100.9") == "198.51.100.9"


def test_scope_reads_the_asgi_client_and_headers(settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "TRUSTED_PROXIES": ["127.0.0.1/32"]}
    scope = {"client": ("127.0.0.1", 5000), "headers": [(b"x-forwarded-for", b"1.2.3.4"),
                                                        (b"X-Forwarded-For", b"198.51.100.9")]}
    assert client_key(scope) == "198.51.100.9"  # a socket's client, under the TRUSTED_PROXIES setting
    assert client_key({"client": None, "headers": []}) == UNKNOWN
    assert scope_client(scope, ()) == "127.0.0.1"  # nothing trusted: the peer itself


@pytest.mark.parametrize("value", ["10.0.0.0/8", ["10.0.0.0/33"], ["proxy.example"]])
def test_bad_trusted_proxies_setting_names_the_key(settings, value):
    from django.core.exceptions import ImproperlyConfigured

    from realtime_uploads.conf import uploads_settings

    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "TRUSTED_PROXIES": value}
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        _ = uploads_settings.TRUSTED_PROXIES
