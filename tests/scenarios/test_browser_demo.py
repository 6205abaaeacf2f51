"""The demo page in a real browser (Debian's chromium, Playwright) against a live daphne.

What a new user does: choose photos on the page, watch them upload, see the
thumbnails arrive without a reload; and what they see when something goes
wrong. Screenshots of each state are kept in ``test-artifacts/``.
"""

from __future__ import annotations

import base64
import io
import os

import pytest
from PIL import Image

from tests import servers
from tests.browser import browser, screenshot  # noqa: F401 - the fixture

TIMEOUT_MS = 30_000
AXE = servers.ROOT / ".venv" / "npm" / "node_modules" / "axe-core" / "axe.min.js"


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


def test_limits_are_stated_before_choosing_and_an_oversized_file_is_refused_without_a_request(page):
    limits = page.locator("[data-role=limits]").inner_text()
    assert "up to 10 MB" in limits, limits
    for name in ("JPEG", "PNG", "WebP", "GIF", "AVIF", "HEIC", "HEIF"):  # the demo opts in to AVIF, HEIC and HEIF
        assert name in limits, (name, limits)
    accept = page.locator("[data-role=file-input]").get_attribute("accept").split(",")
    # The types, and the extensions of those some pickers do not map (an iPhone's .HEIC greyed out otherwise).
    assert {"image/jpeg", "image/png", "image/webp", "image/gif", "image/avif", "image/heic", "image/heif",
            ".avif", ".heic", ".heif"} == set(accept), accept
    requests: list[str] = []
    page.on("request", lambda request: "/api/" in request.url and requests.append(request.url))
    choose(page, ("huge.jpg", "image/jpeg", b"\xff\xd8\xff" + b"\0" * (11 * 1024 * 1024)))
    words = page.locator(".card[data-status=failed] [data-role=status]").first.inner_text()
    assert words == "This file is too big (the limit is 10 MB).", words
    choose(page, ("scan.tif", "image/tiff", b"II*\0\x08\0\0\0" + b"\0" * 100))
    page.locator(".card[data-status=failed]").nth(1).wait_for(timeout=TIMEOUT_MS)
    words = page.locator(".card[data-status=failed] [data-role=status]").first.inner_text()
    assert "not accepted" in words and "JPEG" in words and "HEIC" in words, words
    assert requests == []
    screenshot(page, "demo-refused-before-upload")


def heic_photo(width=900, height=600) -> bytes:
    """A real HEIC as an iPhone writes it (pillow-heif's encoder, a test-only dependency): stored turned, with
    irot and EXIF orientation 6, and a Display P3 profile; shown ``width`` x ``height``."""
    from tests.images import iphone_heic

    return iphone_heic(picture=Image.open(io.BytesIO(photo(width, height))))


@pytest.mark.parametrize(("name", "browser_type"), [("IMG_0001.HEIC", ""),
                                                    # No extension either (a share sheet's name): only the bytes tell.
                                                    ("shared-photo", "application/octet-stream")])
def test_a_heic_photo_with_no_type_is_sniffed_presigned_as_heic_and_completes(page, name, browser_type):
    """Browsers give a phone's HEIC "" or application/octet-stream: the client reads its bytes, asks for image/heic."""
    presigns: list[dict] = []
    page.on("request", lambda request: request.url.endswith("/api/uploads/batch/")
            and presigns.append(request.post_data_json))
    data = heic_photo()
    assert data[4:12] == b"ftypheic", data[:16]
    page.evaluate("""() => document.addEventListener("realtime-uploads:before-upload",
        (e) => { window.seenTypes = [e.detail.file.type, e.detail.contentType]; })""")
    # Made in the page: Playwright's file chooser would fill an empty type in from the name.
    page.evaluate("""([name, type, b64]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const chosen = new DataTransfer();
        chosen.items.add(new File([bytes], name, {type}));
        const input = document.querySelector("[data-role=file-input]");
        input.files = chosen.files;
        input.dispatchEvent(new Event("change"));
    }""", [name, browser_type, base64.b64encode(data).decode()])
    card = page.locator(".card").first
    card.locator("img[data-variant=thumb]").wait_for(timeout=TIMEOUT_MS)
    assert card.get_attribute("data-status") == "completed", card.locator("[data-role=status]").inner_text()
    assert presigns and presigns[0]["files"][0]["content_type"] == "image/heic", presigns
    assert page.evaluate("window.seenTypes") == [browser_type, "image/heic"]
    thumb = card.locator("img[data-variant=thumb]")
    thumb.evaluate("img => img.decode()")
    # Upright as the phone shows it (900 x 600, not the stored 600 x 900), in AVIF, after its placeholder.
    assert thumb.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [320, 213]
    assert thumb.evaluate("img => img.currentSrc").endswith("/thumb.avif")
    card.locator("img[data-variant=thumb][data-placeholder=done]").wait_for(timeout=TIMEOUT_MS)
    screenshot(page, "demo-heic")


def test_the_thumbnail_is_a_picture_whose_avif_source_chromium_chooses(page):
    choose(page, ("garden.jpg", "image/jpeg", photo()))
    card = page.locator(".card").first
    thumb = card.locator("picture img[data-variant=thumb]")
    thumb.wait_for(timeout=TIMEOUT_MS)
    thumb.evaluate("img => img.decode()")
    source = card.locator("picture source")
    assert source.count() == 1, card.locator("picture").evaluate("p => p.outerHTML")
    assert source.get_attribute("type") == "image/avif"
    assert source.get_attribute("srcset").endswith("/thumb.avif 320w"), source.get_attribute("srcset")
    assert thumb.evaluate("img => img.currentSrc").endswith("/thumb.avif")
    assert thumb.evaluate("img => img.naturalWidth") == 320
    caption = card.locator("figure figcaption")
    caption.filter(has_text="AVIF").wait_for(timeout=TIMEOUT_MS)  # the file shown, not the WebP fallback
    assert caption.inner_text().startswith("320 × 240 · AVIF · "), caption.inner_text()
    # The fallback (what a browser without AVIF loads) is the thumb's WebP, at its own size.
    assert thumb.get_attribute("src").endswith("/thumb.webp")
    assert thumb.get_attribute("srcset") == thumb.get_attribute("src") + " 320w"
    assert (thumb.get_attribute("width"), thumb.get_attribute("height")) == ("320", "240")
    assert thumb.get_attribute("alt") == "garden.jpg, 320 × 240 preview"
    link = card.locator("a[data-variant=large]")
    assert link.get_attribute("href").endswith("/large.jpg"), link.get_attribute("href")


def test_the_placeholder_and_colour_show_before_the_variant_arrives(page):
    """Variant files are held back (Playwright routing) until the placeholder has been looked at."""
    held: list = []
    release = {"now": False}

    def hold(route):
        if release["now"]:
            route.continue_()
        else:
            held.append(route)

    page.route("**/variants/**", hold)
    choose(page, ("sunset.jpg", "image/jpeg", photo()))
    card = page.locator(".card[data-status=completed]").first
    thumb = card.locator("img[data-variant=thumb]")
    thumb.wait_for(timeout=TIMEOUT_MS)
    upload_id = card.get_attribute("data-upload-id")
    # What the server sent (the history item is the event), and the placeholder the client makes of it.
    expected = page.evaluate("""async (id) => {
        const item = (await (await fetch("/api/uploads/?limit=20")).json()).results.find((i) => i.id === id);
        const client = await import("/static/realtime_uploads/index.js");
        return {color: item.color, url: client.placeholderURL(item), placeholder: item.placeholder};
    }""", upload_id)
    assert expected["placeholder"] and expected["url"].startswith("data:image/png;base64,"), expected
    for _ in range(100):  # the thumb's request starts once the <picture> is laid out; routes run while we wait
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the variant request was not held"
    shown = thumb.evaluate("""img => ({complete: img.complete, state: img.dataset.placeholder,
        background: img.style.backgroundImage, colour: getComputedStyle(img).backgroundColor})""")
    assert shown["complete"] is False, shown
    assert shown["state"] == "shown", shown
    assert expected["url"] in shown["background"], shown
    rgb = tuple(int(expected["color"][i:i + 2], 16) for i in (1, 3, 5))
    assert shown["colour"] == f"rgb({rgb[0]}, {rgb[1]}, {rgb[2]})", (shown, expected["color"])
    # The placeholder really is an image (a ~32 px PNG), not just a string.
    size = page.evaluate("""async (url) => { const i = new Image(); i.src = url; await i.decode();
        return [i.naturalWidth, i.naturalHeight]; }""", expected["url"])
    assert max(size) == 32 and min(size) > 0, size
    screenshot(page, "demo-placeholder")
    release["now"] = True
    for route in held:
        route.continue_()
    card.locator("img[data-variant=thumb][data-placeholder=done]").wait_for(timeout=TIMEOUT_MS)
    after = thumb.evaluate("img => ({state: img.dataset.placeholder, background: img.style.backgroundImage, "
                           "width: img.naturalWidth})")
    assert after == {"state": "done", "background": "", "width": 320}, after


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations of the page as it is now."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async () => (await axe.run()).violations
        .filter(v => v.impact === "serious" || v.impact === "critical")
        .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.html)}))""")


@pytest.fixture(scope="module")
def axe_script():
    if not AXE.exists():
        message = f"axe-core is required at {AXE} (make test installs it from npm)"
        if os.environ.get("REALTIME_UPLOADS_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return AXE


def test_the_page_has_no_serious_accessibility_violations_in_any_state(page, axe_script):
    assert axe_violations(page) == [], "empty page"
    choose(page, ("beach.jpg", "image/jpeg", photo()), ("notes.jpg", "image/jpeg", b"not an image at all\n" * 10),
           ("big.gif", "image/gif", b"GIF89a" + b"\0" * (11 * 1024 * 1024)))
    page.locator(".card img[data-variant=thumb]").wait_for(timeout=TIMEOUT_MS)
    page.locator(".card[data-status=failed]").nth(1).wait_for(timeout=TIMEOUT_MS)
    assert axe_violations(page) == [], "completed and failed rows"
    assert page.locator(".card img[data-variant=thumb]").get_attribute("alt") == "beach.jpg, 320 × 240 preview"
    assert page.locator(".card button[data-role=cancel]").first.get_attribute("aria-label").startswith("Cancel ")
    screenshot(page, "demo-states")


def test_the_page_fits_a_phone(browser, daphne):  # noqa: F811
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(daphne.url + "/")
        choose(page, ("a-photo-with-a-rather-long-name-from-a-phone-camera-roll.jpg", "image/jpeg", photo()))
        page.locator(".card img[data-variant=thumb]").wait_for(timeout=TIMEOUT_MS)
        assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
        screenshot(page, "demo-phone")
    finally:
        context.close()


def test_five_photos_at_once_complete_over_one_socket_and_come_back_after_a_reload(page):
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    choose(page, *[(f"photo-{i}.jpg", "image/jpeg", photo(640 + 40 * i, 480)) for i in range(5)])
    page.locator(".card[data-status=completed]").nth(4).wait_for(timeout=TIMEOUT_MS)
    assert page.locator(".card[data-status=completed]").count() == 5
    assert len(sockets) == 1, sockets
    screenshot(page, "demo-five-at-once")
    page.reload()
    page.locator(".card[data-restored=true][data-status=completed]").nth(4).wait_for(timeout=TIMEOUT_MS)
    names = page.locator(".card[data-restored=true] [data-role=name]").all_inner_texts()
    assert {f"photo-{i}.jpg" for i in range(5)} <= set(names), names
    page.locator(".card[data-restored=true] img[data-variant=thumb]").nth(4).wait_for(timeout=TIMEOUT_MS)


def big_png() -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize((6000, 4000)).convert("RGB").save(out, "PNG", compress_level=1)
    return out.getvalue()


def test_daphne_restarted_mid_processing_shows_reconnecting_then_completes(browser, tmp_path, axe_script):  # noqa: F811
    """One processor thread and big PNGs, so the kill lands while one is rendered and others wait;
    the same port and state come back and the sweep (LOCAL_RETRY_AFTER 2 s) finishes the work."""
    server = servers.Daphne(tmp_path, REALTIME_UPLOADS_LOCAL_PROCESSOR_THREADS="1",
                            REALTIME_UPLOADS_LOCAL_RETRY_AFTER="2").start()
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(server.url + "/")
        data = big_png()
        choose(page, *[(f"big-{i}.png", "image/png", data) for i in range(3)])
        page.locator(".card[data-status=processing]").nth(2).wait_for(timeout=TIMEOUT_MS)
        assert axe_violations(page) == [], "processing rows"
        server.kill()
        page.locator("[data-role=connection]", has_text="Reconnecting").wait_for(timeout=TIMEOUT_MS)
        assert axe_violations(page) == [], "reconnecting"
        screenshot(page, "demo-reconnecting")
        server.start(migrate=False)
        page.locator(".card[data-status=completed]").nth(2).wait_for(timeout=60_000)
        assert page.locator("[data-role=connection]").is_hidden()
        screenshot(page, "demo-after-restart")
    finally:
        context.close()
        server.terminate()
