"""forms.js in a real browser (Debian's chromium, Playwright) against a live daphne.

The page is UploadWidget's HTML rendered here and served at the daphne's
origin through Playwright's routing; everything else (forms.js, the client,
presign, the local backend's storage POST, the socket) is the real server.
Submitting is caught by the route, so the test reads exactly what the form posts.
"""

from __future__ import annotations

import io
import os
import shutil
import urllib.parse
import urllib.request

import pytest
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory, override_settings
from PIL import Image

from realtime_uploads.forms import UploadField, UploadFormMixin, UploadWidget
from realtime_uploads.state.access import check_subscribe_token
from tests import servers
from tests.browser import screenshot

CHROMIUM = os.environ.get("REALTIME_UPLOADS_CHROMIUM", "/usr/bin/chromium")
AXE = servers.ROOT / ".venv" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run",
         # The page comes from Playwright's route, not the network: chromium then treats its sockets to
         # 127.0.0.1 as a public page reaching into the local network, and blocks them.
         "--disable-features=LocalNetworkAccessChecks"]
TIMEOUT_MS = 30_000


class PhotoForm(UploadFormMixin, forms.Form):
    photo = UploadField()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not (shutil.which(CHROMIUM) or os.access(CHROMIUM, os.X_OK)):
        if os.environ.get("REALTIME_UPLOADS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"chromium is required at {CHROMIUM}")
        pytest.skip(f"chromium is required at {CHROMIUM}")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    # PYTHONPATH: the daphne script imports this checkout's code, whatever the virtualenv was installed from.
    server = servers.Daphne(tmp_path_factory.mktemp("forms-browser"), PYTHONPATH=str(servers.ROOT)).start()
    yield server
    server.terminate()


class GalleryForm(UploadFormMixin, forms.Form):
    photos = UploadField(multiple=True)


def form_page(form_class=PhotoForm) -> str:
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    form = form_class(request=request)
    return (f'<!doctype html><html lang="en"><head><title>Form</title>{form.media}</head><body>'
            f'<form method="post" action="/submitted/">{form.as_div()}<button>Save</button></form></body></html>')


#: A hand-written input, no Django widget: forms.js makes its hidden input and its list.
PLAIN_PAGE = ('<!doctype html><html lang="en"><head><title>Plain</title><script type="module" '
              'src="/static/realtime_uploads/forms.js"></script><link rel="stylesheet" '
              'href="/static/realtime_uploads/realtime-uploads.css"></head><body><form method="post" '
              'action="/submitted/"><label>Photo <input type="file" name="photo" data-realtime-uploads '
              'data-max-size="2048"></label><button>Save</button></form></body></html>')


KEPT, REFUSED = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"


def rerendered_page() -> str:
    """A gallery re-rendered after errors: the server lists the upload it accepted, not the one it refused."""
    html = UploadWidget(multiple=True).render("photos", f"{KEPT}:kept-token,{REFUSED}:forged")
    html = html.replace("data-realtime-uploads-list>", f'data-realtime-uploads-list><span role="listitem" '
                        f'data-upload-id="{KEPT}"><span>kept.jpg</span></span>')
    return (f'<!doctype html><html lang="en"><head><title>Again</title>{UploadWidget().media}</head><body>'
            f'<form method="post" action="/submitted/">{html}<button>Save</button></form></body></html>')


def lost_thumbnail_page() -> str:
    """A gallery re-rendered with an upload whose thumbnail storage lost (its URL answers 404)."""
    html = UploadWidget(multiple=True).render("photos", f"{KEPT}:kept-token", attrs={"id": "id_photos"})
    row = (f'<span role="listitem" class="realtime-uploads-file" data-upload-id="{KEPT}"><img '
           f'src="/media/variants/{KEPT}/thumb.webp" alt="kept.jpg" height="48"> <span>kept.jpg</span></span>')
    html = html.replace("data-realtime-uploads-list>", "data-realtime-uploads-list>" + row)
    html = '<label for="id_photos">Photos</label>' + html
    return (f'<!doctype html><html lang="en"><head><title>Lost</title>{UploadWidget().media}</head><body>'
            f'<form method="post" action="/submitted/">{html}<button>Save</button></form></body></html>')


@pytest.fixture
def page(browser, daphne):
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.posted = []
    page.held = []
    pages = {"/form/": form_page(), "/gallery/": form_page(GalleryForm), "/plain/": PLAIN_PAGE,
             "/rerendered/": rerendered_page(), "/lost/": lost_thumbnail_page()}
    def serve(html):
        return lambda route: route.fulfill(body=html, content_type="text/html")

    for path, html in pages.items():
        page.route(daphne.url + path, serve(html))

    def submitted(route):
        page.posted.append(route.request.post_data)
        route.fulfill(body="<p>saved</p>", content_type="text/html")

    page.route(daphne.url + "/submitted/", submitted)
    page.goto(daphne.url + "/form/")
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (30, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def choose(page, name, mime, data):
    page.set_input_files("input[data-realtime-uploads]", files=[{"name": name, "mimeType": mime, "buffer": data}])


def test_several_photos_in_a_multiple_field_are_all_posted(page, daphne):
    page.goto(daphne.url + "/gallery/")
    page.set_input_files("input[data-realtime-uploads]", files=[
        {"name": f"{i}.jpg", "mimeType": "image/jpeg", "buffer": jpeg()} for i in range(3)])
    page.locator("[data-realtime-uploads-list] [data-state=ready]").nth(2).wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function("() => document.querySelector('input[name=photos]').value.split(',').length === 3")
    page.click("form button:not([type=button])")
    page.wait_for_url("**/submitted/")
    items = urllib.parse.parse_qs(page.posted[0])["photos"][0].split(",")
    assert len({item.split(":")[0] for item in items}) == 3
    assert all(item.count(":") == 3 for item in items)  # <id>:<token>, the token itself <id>:<time>:<signature>


def test_a_hand_written_input_gets_a_hidden_input_and_refuses_oversize_files_before_uploading(page, daphne):
    page.goto(daphne.url + "/plain/")
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    choose(page, "big.jpg", "image/jpeg", jpeg())
    row = page.locator("[data-realtime-uploads-list] [data-state=failed]")
    row.wait_for(timeout=TIMEOUT_MS)
    assert "larger than the 2 KB allowed" in row.text_content()
    assert not [url for url in requests if "/api/uploads/" in url]
    assert page.get_attribute("input[type=hidden]", "name") == "photo"
    assert page.get_attribute("input[type=file]", "name") is None
    # The list it made is styled, and outside the input's <label> (its buttons are not part of the label).
    assert page.evaluate("() => document.querySelector('[data-realtime-uploads-list]').closest('label')") is None
    assert page.evaluate("() => getComputedStyle(document.querySelector('[data-realtime-uploads-list] "
                         "[data-state=failed]')).display") == "flex"


def test_a_chosen_photo_is_uploaded_and_its_id_and_token_posted_with_the_form(page, daphne):
    # Hold the storage POST: while the file is on its way the form must not be sent.
    page.route(daphne.url + "/api/uploads/local/", lambda route: page.held.append(route))
    choose(page, "holiday.jpg", "image/jpeg", jpeg())
    page.wait_for_function("() => document.querySelector('[data-realtime-uploads-list] [data-state=uploading]')",
                           timeout=TIMEOUT_MS)
    page.wait_for_timeout(200)
    assert page.is_disabled("form button:not([type=button])")
    page.evaluate("() => document.querySelector('form').requestSubmit()")
    assert page.posted == []
    assert "Wait until the uploads have finished" in page.text_content("[data-realtime-uploads-status]")
    assert page.held, "the storage POST never started"
    page.held[0].continue_()

    page.wait_for_function("() => document.querySelector('input[name=photo]').value", timeout=TIMEOUT_MS)
    row = page.locator("[data-realtime-uploads-list] [data-state=ready]")
    assert "Ready" in row.text_content() and "holiday.jpg" in row.text_content()
    assert row.locator("img").get_attribute("alt") == "holiday.jpg"
    assert page.get_attribute("input[data-realtime-uploads]", "name") is None  # the bytes never go with the form
    assert not page.is_disabled("form button:not([type=button])")
    page.click("form button:not([type=button])")
    page.wait_for_url("**/submitted/")
    posted = urllib.parse.parse_qs(page.posted[0])
    assert list(posted) == ["photo"]
    upload_id, _, token = posted["photo"][0].partition(":")
    with override_settings(SECRET_KEY=servers.SECRET_KEY):
        assert check_subscribe_token(token, upload_id)  # the field will accept it for this visitor
    with urllib.request.urlopen(f"{daphne.url}/api/uploads/{upload_id}/?token={token}") as answer:  # noqa: S310
        assert b'"status": "completed"' in answer.read().replace(b'":"', b'": "')


def test_a_file_that_is_not_an_image_says_so_and_posts_nothing(page):
    choose(page, "notes.jpg", "image/jpeg", b"just some text, not a JPEG " * 40)
    row = page.locator("[data-realtime-uploads-list] [data-state=failed]")
    row.wait_for(timeout=TIMEOUT_MS)
    assert row.text_content().startswith("notes.jpg Not uploaded: ")  # never "notes.jpgNot uploaded"
    assert page.input_value("input[name=photo]") == ""
    assert not page.is_disabled("form button:not([type=button])")


def test_without_javascript_the_input_is_a_plain_file_input_with_a_note(browser, daphne):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    html = form_page()
    page.route(daphne.url + "/form/", lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(daphne.url + "/form/")
    assert page.get_attribute("input[type=file]", "name") == "photo__file"
    assert page.locator("noscript").count() == 1
    context.close()


def test_a_rerendered_form_drops_ids_the_server_refused_and_lets_the_user_remove_the_rest(page, daphne):
    page.goto(daphne.url + "/rerendered/")
    page.wait_for_function("() => !document.querySelector('input[name=photos]').value.includes('forged')")
    assert page.input_value("input[name=photos]") == f"{KEPT}:kept-token"
    page.click("button[aria-label='Remove kept.jpg']")
    assert page.input_value("input[name=photos]") == ""
    assert page.locator("[data-upload-id]").count() == 0


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations (axe-core from make test's npm install; skipped without it)."""
    if not AXE.exists():
        if os.environ.get("REALTIME_UPLOADS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"axe-core is required at {AXE}")
        pytest.skip(f"axe-core is required at {AXE}")
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async () => (await axe.run()).violations
        .filter(v => v.impact === "serious" || v.impact === "critical")
        .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.html)}))""")


def test_the_field_is_styled_keyboard_usable_and_has_no_serious_accessibility_violations(page, daphne):
    assert page.evaluate("""() => getComputedStyle(document.querySelector('[data-realtime-uploads-field]'))
        .display""") == "block"  # the stylesheet came with form.media
    assert axe_violations(page) == [], "empty field"
    page.set_input_files("input[data-realtime-uploads]", files=[
        {"name": "rocket.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}])
    row = page.locator("[data-realtime-uploads-list] [data-state=ready]")
    row.wait_for(timeout=TIMEOUT_MS)
    assert "rocket.jpg Ready" in " ".join(row.text_content().split())  # never "rocket.jpgReady"
    assert page.text_content("[data-realtime-uploads-announce]") == "rocket.jpg: Ready"  # heard, not shown
    assert page.locator("[data-realtime-uploads-announce]").bounding_box()["width"] <= 1  # visually hidden
    name_box, state_box = (row.locator(sel).bounding_box() for sel in (".realtime-uploads-name",
                                                                       ".realtime-uploads-state"))
    assert state_box["x"] >= name_box["x"] + name_box["width"] + 4  # apart on screen too
    assert axe_violations(page) == [], "a ready upload"
    screenshot(page, "form-field-ready")
    # The keyboard reaches the file input and the Remove button, and Remove works from it.
    page.focus("input[data-realtime-uploads]")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.getAttribute('aria-label')") == "Remove rocket.jpg"
    page.keyboard.press("Enter")
    assert page.input_value("input[name=photo]") == ""
    assert page.locator("[data-upload-id]").count() == 0


def test_a_thumbnail_storage_lost_shows_a_state_and_a_retry_not_a_broken_image(page, daphne):
    page.goto(daphne.url + "/lost/")
    broken = page.locator(".realtime-uploads-broken")
    broken.wait_for(timeout=TIMEOUT_MS)
    assert broken.inner_text().startswith("Image not available")
    assert not page.locator("[data-upload-id] img").is_visible()
    assert broken.get_by_role("button").get_attribute("aria-label") == "Retry loading kept.jpg"
    assert axe_violations(page) == [], "a lost thumbnail"
    screenshot(page, "form-field-lost-thumbnail")
    broken.get_by_role("button").click()
    page.wait_for_function("() => document.querySelectorAll('.realtime-uploads-broken button:not([disabled])')"
                           ".length === 1", timeout=TIMEOUT_MS)  # tried again: still gone, still said
    assert page.input_value("input[name=photos]") == f"{KEPT}:kept-token"  # the reference is kept meanwhile
