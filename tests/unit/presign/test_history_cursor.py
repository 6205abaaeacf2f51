"""A tampered history cursor (``GET /api/uploads/?cursor=``) is a 404, as ``docs/contract.md`` says.

Before it, the base64 of ``p=not-a-date`` reached the database as the
``created_at`` to compare with, and the request was a 500.
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

GOOD = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 100}


def _cursor(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")


@pytest.fixture
def anonymous(client, settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "PRESIGN_RATE": None, "MAX_PENDING_PER_CLIENT": None,
                                 "HISTORY_PAGE_SIZE": 2}
    for name in ("1.jpg", "2.jpg", "3.jpg"):
        assert client.post("/api/uploads/", {**GOOD, "filename": name}, content_type="application/json"
                           ).status_code == 201
    return client


@pytest.mark.parametrize("position", ["not-a-date", "2026-13-45 25:00:00", "2026-12-08 10:00:00+99:00",
                                      "0001-01-01 00:00:00+05:00", "9999-12-31 23:59:59-05:00", ""])
def test_a_cursor_whose_position_is_not_a_timestamp_is_404(anonymous, position):
    response = anonymous.get("/api/uploads/", {"cursor": _cursor(f"p={position}")})
    assert response.status_code == 404, response.content
    assert response.json()["detail"] == "Invalid cursor"


def test_the_cursors_the_server_writes_still_page(anonymous):
    first = anonymous.get("/api/uploads/").json()
    assert len(first["results"]) == 2 and first["next"]
    second = anonymous.get(first["next"])
    assert second.status_code == 200 and len(second.json()["results"]) == 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.one_of(
    st.text(max_size=40).map(lambda p: f"p={p}"),
    st.tuples(st.datetimes(), st.sampled_from(["", "+00:00", "-23:59", "+14:00", "Z"])).map(
        lambda t: f"p={t[0].isoformat(sep=' ')}{t[1]}"),
    st.tuples(st.text(max_size=8), st.text(max_size=8), st.text(max_size=20)).map(
        lambda t: f"o={t[0]}&r={t[1]}&p={t[2]}"),
), raw=st.booleans())
@example(query="p=not-a-date", raw=False)
@example(query="p=\x00", raw=False)
@example(query="%%%", raw=True)
@example(query="p=0041-02-26 14:36:36.001530-23:59", raw=False)  # PostgreSQL refused the offset itself: a 500
def test_any_cursor_is_a_page_or_404_never_500(anonymous, query, raw):
    response = anonymous.get("/api/uploads/", {"cursor": query if raw else _cursor(query)})
    assert response.status_code in (200, 404), (query, response.status_code)
