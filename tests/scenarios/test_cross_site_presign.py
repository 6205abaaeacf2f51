"""A third-party page cannot presign for an anonymous visitor (issue 16, "open cross-site").

Before, presign took form-encoded bodies, which a page of any site may send with ``fetch(…, {mode: "no-cors"})``
and no CORS preflight: 20 of them from the visitor's browser filled the visitor's ``MAX_PENDING_PER_CLIENT``
and their own next presign was ``429 too_many_pending`` for 15 minutes. Now presign takes JSON only.

Real parts: the demo (anonymous uploads opted into with ``PERMISSION_CLASSES``) in daphne at
``http://localhost:<port>``, the attacker's page served by a plain HTTP server at ``http://127.0.0.1:<another
port>`` (another site), Debian's chromium visiting both. What the server stored is read from its own database.
"""

from __future__ import annotations

import contextlib
import http.server
import sqlite3
import threading
from collections.abc import Iterator

import pytest

from tests import servers
from tests.browser import browser  # noqa: F401 - the fixture

ATTACK = """<!doctype html><html><head><meta charset="utf-8"><title>Free kittens</title></head><body><script>
const app = %(app)r;
const file = {filename: "kitten.jpg", content_type: "image/jpeg", size: "100"};
async function attempt(name, url, init) {
  try { const r = await fetch(app + url, init); return [name, r.type, r.status]; }
  catch (e) { return [name, "error", String(e)]; }
}
window.results = (async () => {
  const tries = [];
  for (let i = 0; i < 25; i++) {  // more than MAX_PENDING_PER_CLIENT (20)
    tries.push(attempt("form", "/api/uploads/",
      {method: "POST", mode: "no-cors", credentials: "include", body: new URLSearchParams(file)}));
  }
  const json = JSON.stringify({...file, size: 100});
  tries.push(attempt("text-plain", "/api/uploads/", {method: "POST", mode: "no-cors", credentials: "include",
    headers: {"Content-Type": "application/json"}, body: json}));  // no-cors drops the header: text/plain
  tries.push(attempt("batch-form", "/api/uploads/batch/", {method: "POST", mode: "no-cors", credentials: "include",
    body: new URLSearchParams({files: json})}));
  tries.push(attempt("multipart", "/api/uploads/", {method: "POST", mode: "no-cors", credentials: "include",
    body: (() => { const f = new FormData(); for (const [k, v] of Object.entries(file)) f.append(k, v); return f; })()
}));
  tries.push(attempt("json-cors", "/api/uploads/", {method: "POST", mode: "cors", credentials: "include",
    headers: {"Content-Type": "application/json"}, body: json}));  // needs a preflight the app never grants
  return Promise.all(tries);
})();
</script><p>Nothing to see here.</p></body></html>"""


@contextlib.contextmanager
def attacker_site(page: str) -> Iterator[str]:
    """A plain HTTP server on 127.0.0.1:<free port> answering every GET with ``page``; its URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", servers.free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    server = servers.Daphne(tmp_path_factory.mktemp("cross-site-presign")).start()
    yield server
    server.terminate()


def uploads_stored(daphne) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{daphne.state_dir / 'db.sqlite3'}?mode=ro", uri=True)) as db:
        return db.execute("SELECT count(*) FROM realtime_uploads_upload").fetchone()[0]


def test_a_cross_site_page_cannot_presign_for_an_anonymous_visitor(browser, daphne):  # noqa: F811
    app = daphne.url.replace("127.0.0.1", "localhost")  # the attacker is on 127.0.0.1: another site
    context = browser.new_context()
    page = context.new_page()
    page.goto(app + "/")  # the visitor has been to the app: its cookies exist
    seen: list[tuple[str, str, int]] = []  # what reached the app, as the browser's network saw it
    page.on("response", lambda r: r.url.startswith(app + "/api/")
            and seen.append((r.request.method, r.url.removeprefix(app), r.status)))
    with attacker_site(ATTACK % {"app": app}) as evil:
        page.goto(evil + "/")
        results = page.evaluate("window.results")
    outcomes = {name: (kind, status) for name, kind, status in results}
    assert [r for r in results if r[0] == "form"] == [["form", "opaque", 0]] * 25, results
    assert outcomes["text-plain"] == ("opaque", 0) and outcomes["multipart"] == ("opaque", 0)
    assert outcomes["json-cors"][0] == "error", results  # the preflight got no CORS grant: never sent
    # The simple requests did reach the app, which refused each (415) before creating or counting anything.
    posts = [(url, status) for method, url, status in seen if method == "POST"]
    assert len(posts) == 28 and {status for _, status in posts} == {415}, seen
    assert uploads_stored(daphne) == 0

    # The visitor's own page can still presign: not 429, neither the pending cap nor the rate was used up.
    page.goto(app + "/")
    own = page.evaluate("""async () => {
        const r = await fetch("/api/uploads/", {method: "POST", headers: {"Content-Type": "application/json"},
            body: JSON.stringify({filename: "mine.jpg", content_type: "image/jpeg", size: 100})});
        return [r.status, await r.json()];
    }""")
    assert own[0] == 201, own
    assert uploads_stored(daphne) == 1
    context.close()
