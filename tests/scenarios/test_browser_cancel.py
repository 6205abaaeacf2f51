"""Cancel in a real browser (Debian's chromium, Playwright) against a live daphne: the issue's scenario.

A slow upload (the network throttled through the DevTools protocol) is
cancelled on the demo page; then twenty photos are chosen at once with
``MAX_PENDING_PER_CLIENT`` 20. Before contract 0.3 the cancelled upload
stayed ``pending`` on the server and all twenty were refused ("Too many
uploads are still unfinished"); now the client's ``cancel()`` DELETEs it,
its slot is freed at once, and all twenty complete.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests import servers
from tests.browser import browser, screenshot  # noqa: F401 - the fixture

TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    server = servers.Daphne(tmp_path_factory.mktemp("cancel"), REALTIME_UPLOADS_MAX_PENDING_PER_CLIENT="20",
                            REALTIME_UPLOADS_MAX_BATCH_FILES="20").start()
    yield server
    server.terminate()


@pytest.fixture
def page(browser, daphne):  # noqa: F811
    """The demo page in a context of its own (CDP needs the context); no uncaught error in it by the end."""
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(daphne.url + "/")
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def jpeg(width: int, height: int, seed: int = 0) -> bytes:
    out = io.BytesIO()
    image = Image.effect_noise((width, height), 60 + seed).convert("RGB")  # noise: does not compress away
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def test_a_cancelled_slow_upload_frees_its_slot_and_twenty_photos_then_complete(page):
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    # 8 KB/s up: the ~300 KB photo would take over half a minute.
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20, "downloadThroughput": -1,
                                                  "uploadThroughput": 8 * 1024})
    slow = jpeg(600, 400)
    assert len(slow) > 200_000
    page.set_input_files("[data-role=file-input]", files=[{"name": "slow.jpg", "mimeType": "image/jpeg",
                                                          "buffer": slow}])
    card = page.locator(".card[data-status=uploading]").first
    card.wait_for(timeout=TIMEOUT_MS)
    upload_id = card.get_attribute("data-upload-id")
    with page.expect_response(lambda r: r.request.method == "DELETE", timeout=TIMEOUT_MS) as deleted:
        card.locator("button[data-role=cancel]").click()
    assert deleted.value.status == 200 and deleted.value.json()["status"] == "cancelled"
    assert f"/api/uploads/{upload_id}/" in deleted.value.url
    assert page.locator(f".card[data-upload-id='{upload_id}']").get_attribute("data-status") == "cancelled"
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": -1})

    page.set_input_files("[data-role=file-input]", files=[
        {"name": f"tiny-{i}.jpg", "mimeType": "image/jpeg", "buffer": jpeg(48, 32, i)} for i in range(20)])
    page.locator(".card[data-status=completed]").nth(19).wait_for(timeout=TIMEOUT_MS)
    assert page.locator(".card[data-status=completed]").count() == 20
    assert page.locator(".card[data-status=failed]").count() == 0
    screenshot(page, "cancel-then-twenty")
    # The server agrees: the cancelled upload is cancelled, not pending.
    statuses = page.evaluate("""async () => {
        const seen = {};
        for (let url = "/api/uploads/"; url; ) {
            const page = await (await fetch(url)).json();
            for (const item of page.results) seen[item.id] = item.status;
            url = page.next;
        }
        return seen;
    }""")
    assert statuses[upload_id] == "cancelled"
    assert sorted(statuses.values()) == ["cancelled"] + ["completed"] * 20


def test_after_a_reload_an_unfinished_upload_can_still_be_cancelled(page):
    """The trial: after a reload a cancelled upload came back as "Waiting for the file…" with no Cancel."""
    upload_id = page.evaluate("""async () => {  // a presign whose file never comes (a tab closed mid-upload)
        const csrf = document.cookie.match(/csrftoken=([^;]+)/)?.[1] ?? "";
        const answer = await fetch("/api/uploads/", {method: "POST", headers: {"Content-Type": "application/json",
            "X-CSRFToken": csrf}, body: JSON.stringify({filename: "left.jpg", content_type: "image/jpeg", size: 100})});
        return (await answer.json()).id;
    }""")
    page.reload()
    card = page.locator(f".card[data-upload-id='{upload_id}']")
    card.wait_for(timeout=TIMEOUT_MS)
    assert card.get_attribute("data-restored") == "true" and card.get_attribute("data-status") == "uploading"
    cancel = card.locator("button[data-role=cancel]")
    assert cancel.is_visible() and cancel.get_attribute("aria-label") == "Cancel left.jpg"
    with page.expect_response(lambda r: r.request.method == "DELETE", timeout=TIMEOUT_MS) as deleted:
        cancel.focus()
        page.keyboard.press("Enter")  # by keyboard, as the row's other controls
    assert deleted.value.status == 200 and deleted.value.json()["status"] == "cancelled"
    page.locator(f".card[data-upload-id='{upload_id}'][data-status=cancelled]").wait_for(timeout=TIMEOUT_MS)
    page.reload()  # and it stays cancelled, with nothing left to cancel
    card = page.locator(f".card[data-upload-id='{upload_id}'][data-status=cancelled]")
    card.wait_for(timeout=TIMEOUT_MS)
    assert not card.locator("button[data-role=cancel]").is_visible()
