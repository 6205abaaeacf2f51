"""Pages a user keeps, in Debian's chromium against a live daphne: the demo's live history and lost images.

- A second tab of the same browser shows an upload the first tab starts, live, over the socket it has;
  another browser (another session) does not.
- A variant file storage lost (deleted here, as moto forgets its files when ``make stack`` restarts) is
  shown as "Image not available" with a keyboard-usable Retry, not a broken image.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests import servers
from tests.browser import browser, screenshot  # noqa: F401 - the fixture
from tests.scenarios.test_browser_demo import AXE, choose, photo

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    server = servers.Daphne(tmp_path_factory.mktemp("pages")).start()
    yield server
    server.terminate()


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations of the page as it is now (skipped without axe-core)."""
    if not AXE.exists():
        if os.environ.get("REALTIME_UPLOADS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"axe-core is required at {AXE}")
        return []
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async () => (await axe.run()).violations
        .filter(v => v.impact === "serious" || v.impact === "critical")
        .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.html)}))""")


def open_tab(context, url: str):
    """A page of ``context`` at ``url``, with the frames its socket received in ``page.frames_in``."""
    page = context.new_page()
    page.frames_in = []
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: page.frames_in.append(str(payload))))
    page.goto(url)
    return page


def upload_one(page, name: str) -> str:
    choose(page, (name, "image/jpeg", photo(800, 600)))
    card = page.locator(f".card:has([data-role=name]:text-is('{name}'))")
    card.locator("img[data-variant=thumb]").wait_for(timeout=TIMEOUT_MS)
    return card.get_attribute("data-upload-id")


def following_history(page) -> None:
    page.wait_for_function("() => true")  # let the socket's frames be recorded
    deadline = 100
    while deadline and not any('"history_followed"' in f for f in page.frames_in):
        page.wait_for_timeout(100)
        deadline -= 1
    assert any('"history_followed"' in f for f in page.frames_in), page.frames_in


def test_a_second_tab_shows_an_upload_the_first_starts_and_another_browser_does_not(browser, daphne):  # noqa: F811
    mine, theirs = browser.new_context(), browser.new_context()
    try:
        first = open_tab(mine, daphne.url + "/")
        upload_one(first, "first.jpg")
        second = open_tab(mine, daphne.url + "/")
        second.locator(".card[data-restored=true]").first.wait_for(timeout=TIMEOUT_MS)
        following_history(second)
        stranger = open_tab(theirs, daphne.url + "/")
        upload_one(stranger, "strangers.jpg")
        following_history(stranger)

        upload_one(first, "live.jpg")
        live = second.locator(".card[data-live=true]")
        live.locator("img[data-variant=thumb]").wait_for(timeout=TIMEOUT_MS)  # added, followed, completed
        assert live.locator("[data-role=name]").inner_text() == "live.jpg"
        assert live.get_attribute("data-status") == "completed"
        assert second.locator(".card").count() == 2  # first.jpg (restored) and live.jpg, once each
        assert first.locator(".card").count() == 2  # the tab that started it shows it once
        stranger.wait_for_timeout(1000)
        assert stranger.locator(".card").all_inner_texts() and "live.jpg" not in " ".join(
            stranger.locator(".card").all_inner_texts())
        screenshot(second, "demo-live-history")
        assert first.errors == second.errors == stranger.errors == []
    finally:
        mine.close()
        theirs.close()


def test_a_variant_storage_lost_shows_a_state_and_a_retry_instead_of_a_broken_image(browser, daphne, tmp_path):  # noqa: F811
    context = browser.new_context()
    try:
        page = open_tab(context, daphne.url + "/")
        upload_id = upload_one(page, "beach.jpg")
        stored = [p for p in daphne.state_dir.rglob("*") if p.is_dir() and p.name == upload_id and "variants" in
                  p.parts]
        assert stored, f"no variants folder for {upload_id} under {daphne.state_dir}"
        kept = tmp_path / "kept"
        shutil.move(str(stored[0]), kept)  # storage forgot the files

        # A later visit (the same session, no cached copy of the image), as after `make stack` restarted.
        later = browser.new_context()
        later.add_cookies(context.cookies())
        context.close()
        context = later
        page = open_tab(context, daphne.url + "/")
        card = page.locator(f".card[data-upload-id='{upload_id}']")
        broken = card.locator(".realtime-uploads-broken")
        broken.wait_for(timeout=TIMEOUT_MS)
        assert broken.inner_text().startswith("Image not available")
        assert card.locator("picture").get_attribute("data-image-state") == "broken"
        assert not card.locator("picture").is_visible()  # no broken-image icon
        retry = broken.get_by_role("button")
        assert retry.get_attribute("aria-label") == "Retry loading beach.jpg, 320 × 240 preview"
        assert axe_violations(page) == [], "a lost image"
        screenshot(page, "demo-image-lost")

        # Keyboard: Retry while the file is still gone says so again, with focus on the new Retry button.
        retry.focus()
        page.keyboard.press("Enter")
        page.wait_for_function("""() => document.activeElement?.tagName === 'BUTTON'
            && document.activeElement.closest('.realtime-uploads-broken')
            && document.activeElement.textContent === 'Retry'""", timeout=TIMEOUT_MS)
        assert card.locator(".realtime-uploads-broken").count() == 1

        shutil.move(str(kept), stored[0])  # back again: Retry shows it
        page.keyboard.press("Enter")
        card.locator("picture[data-image-state=loaded]").wait_for(timeout=TIMEOUT_MS)
        assert card.locator(".realtime-uploads-broken").count() == 0
        assert card.locator("img[data-variant=thumb]").evaluate("img => img.naturalWidth") == 320
        assert page.evaluate("() => document.activeElement?.tagName") == "IMG"  # focus did not fall to the page
        assert page.errors == []
    finally:
        context.close()
