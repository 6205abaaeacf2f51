"""The demo page in a real browser (Debian's chromium, Playwright) against a live daphne.

What a new user does: choose photos on the page, watch them upload, see the
thumbnails arrive without a reload; and what they see when something goes
wrong. Screenshots of each state are kept in ``test-artifacts/``.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from . import servers
from .browser import browser, screenshot  # noqa: F401 - the fixture

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    server = servers.Daphne(tmp_path_factory.mktemp("browser")).start()
    yield server
    server.terminate()


@pytest.fixture
def page(browser, daphne):  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(daphne.url + "/")
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def photo(width=1200, height=900) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", (width, height))
    for x in range(0, width, 100):  # not a flat colour: something to look at in the screenshot
        image.paste((40 + x % 200, 120, 200 - x % 150), (x, 0, x + 50, height))
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def choose(page, *files: tuple[str, str, bytes]) -> None:
    page.set_input_files("[data-role=file-input]",
                         files=[{"name": name, "mimeType": mime, "buffer": data} for name, mime, data in files])


def test_a_photo_chosen_on_the_page_shows_its_thumbnail(page):
    choose(page, ("holiday.jpg", "image/jpeg", photo()))
    card = page.locator(".card").first
    card.locator("img[data-variant=thumb]").wait_for(timeout=TIMEOUT_MS)
    assert card.get_attribute("data-status") == "completed"
    thumb = card.locator("img[data-variant=thumb]")
    thumb.evaluate("img => img.decode()")  # the pushed URL really serves the image
    assert thumb.evaluate("img => img.naturalWidth") == 320
    screenshot(page, "demo-completed")


def test_a_text_file_named_jpg_is_refused_in_words(page):
    choose(page, ("notes.jpg", "image/jpeg", b"shopping list: eggs, milk, bread\n" * 20))
    card = page.locator(".card[data-status=failed]").first
    card.wait_for(timeout=TIMEOUT_MS)
    words = card.locator("[data-role=status]").inner_text()
    assert "not an image" in words, words
    screenshot(page, "demo-not-an-image")


def test_with_websockets_blocked_the_long_poll_fallback_completes(browser, daphne):  # noqa: F811
    context = browser.new_context()
    # A network that refuses WebSockets: every socket fails to open, as behind some proxies.
    context.add_init_script("""
        window.WebSocket = class BlockedWebSocket extends EventTarget {
            constructor(url) {
                super(); this.url = url; this.readyState = 3;
                setTimeout(() => { this.dispatchEvent(new Event("error")); this.onerror?.(new Event("error"));
                    const closed = new CloseEvent("close", {code: 1006}); this.dispatchEvent(closed);
                    this.onclose?.(closed); }, 10);
            }
            send() { throw new Error("blocked"); }
            close() {}
        };
    """)
    page = context.new_page()
    long_polls: list[str] = []
    page.on("request", lambda request: "wait=" in request.url and long_polls.append(request.url))
    try:
        page.goto(daphne.url + "/")
        choose(page, ("fallback.jpg", "image/jpeg", photo(800, 600)))
        card = page.locator(".card").first
        card.locator("img[data-variant=thumb]").wait_for(timeout=TIMEOUT_MS)
        assert card.get_attribute("data-status") == "completed"
        assert long_polls, "the result came without a long-poll"
        screenshot(page, "demo-long-poll-fallback")
    finally:
        context.close()
