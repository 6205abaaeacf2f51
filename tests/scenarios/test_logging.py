"""Each log line once: the shipped web process prints a processor warning one time, not once per handler.

daphne gives the root logger a handler of its own; config/settings.py LOGGING
gives ``realtime_uploads`` one too and stops propagation, so a record reaches
exactly one of them.
"""

from __future__ import annotations

import time

import httpx

from tests.scenarios.test_e2e_local import photo
from tests.servers import Daphne, free_port


def test_a_processor_warning_prints_once_in_the_web_process(tmp_path):
    unreachable = f"http://127.0.0.1:{free_port()}/api/uploads/{{id}}/callback/"
    server = Daphne(tmp_path, REALTIME_UPLOADS_CALLBACK_URL=unreachable, REALTIME_UPLOADS_CALLBACK_ATTEMPTS="1",
                    REALTIME_UPLOADS_LOCAL_SWEEP="0", DJANGO_DEBUG="0").start()
    try:
        data = photo(80, 60)
        with httpx.Client(base_url=server.url, timeout=30) as http:
            p = http.post("/api/uploads/", json={"filename": "a.jpg", "content_type": "image/jpeg",
                                                  "size": len(data)}).json()
            posted = http.post(p["upload"]["url"], data=p["upload"]["fields"],
                               files={"file": ("a.jpg", data, "image/jpeg")})
            assert posted.status_code == 204, posted.text
        deadline = time.monotonic() + 30
        while "the sweep will offer it again" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.terminate()
    lines = server.log().splitlines()
    attempts = [line for line in lines if f"Callback for upload {p['id']} failed (attempt 1 of 1)" in line]
    not_reported = [line for line in lines if "the sweep will offer it again" in line]
    assert len(attempts) == 1 and len(not_reported) == 1, server.log()
    assert "WARNING" in attempts[0] and "realtime_uploads.processing.callback_client" in attempts[0]  # formatted, named
