"""UploadWidget's markup is valid HTML in every form layout, and brings its stylesheet.

html5lib is not a dependency: :class:`NestingCheck` is a small ``html.parser``
check of the rules a widget can break in ``as_p``: no flow content (``<div>``,
``<ul>``, ``<p>`` …) inside phrasing-only parents (``<p>``, ``<span>``,
``<label>`` …: HTML "Content models", https://html.spec.whatwg.org/multipage/dom.html#phrasing-content),
``<li>`` only in a list, and every end tag matching its start tag.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django import forms

from realtime_uploads.forms import UploadField, UploadFormMixin, UploadWidget
from tests.unit.forms.test_fields import completed, request_as

pytestmark = pytest.mark.django_db

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
PHRASING_ONLY = {"p", "span", "label", "button", "strong", "em", "small", "b", "i", "code", "h1", "h2", "h3",
                 "h4", "h5", "h6", "legend", "th"}
FLOW_ONLY = {"div", "p", "ul", "ol", "li", "dl", "table", "form", "section", "article", "header", "footer", "nav",
             "aside", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "fieldset", "figure", "main"}


class NestingCheck(HTMLParser):
    """Collects nesting errors in ``errors`` (a list of sentences)."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        blocker = next((t for t in reversed(self.stack) if t in PHRASING_ONLY), None)
        if tag in FLOW_ONLY and blocker:
            self.errors.append(f"<{tag}> inside <{blocker}> (path {' > '.join(self.stack)})")
        if tag == "li" and (not self.stack or self.stack[-1] not in {"ul", "ol", "menu"}):
            self.errors.append(f"<li> outside a list (path {' > '.join(self.stack)})")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            if tag in self.stack:
                del self.stack[len(self.stack) - 1 - self.stack[::-1].index(tag):]
            return
        self.stack.pop()

    def close(self):
        super().close()
        if self.stack:
            self.errors.append(f"never closed: {self.stack}")


def nesting_errors(html: str) -> list[str]:
    check = NestingCheck()
    check.feed(html)
    check.close()
    return check.errors


def test_the_check_itself_catches_a_div_in_a_p():
    assert nesting_errors("<p><div></div></p>") and nesting_errors("<p><span><ul></ul></span></p>")
    assert nesting_errors("<span><li></li></span>")
    assert nesting_errors("<p><span><div>x</div></span></p>")
    assert nesting_errors("<p><span></p>")
    assert not nesting_errors("<div><p><span><input><img></span></p></div>")


class GalleryForm(UploadFormMixin, forms.Form):
    title = forms.CharField()
    photos = UploadField(multiple=True)


@pytest.mark.parametrize("layout", ["as_p", "as_div", "as_table", "as_ul"])
def test_the_widget_is_valid_html_in_every_form_layout(layout, make_upload, django_user_model):
    alice = django_user_model.objects.create_user("alice", password="x")
    shots = [completed(make_upload(owner=alice, filename=f"{i}.jpg")) for i in range(2)]
    form = GalleryForm(initial={"photos": shots}, request=request_as(alice))
    html = getattr(form, layout)()
    assert 'data-upload-id="' in html and "1.jpg" in html  # the listed uploads are rendered too
    wrapped = {"as_table": f"<table>{html}</table>", "as_ul": f"<ul>{html}</ul>"}.get(layout, f"<form>{html}</form>")
    assert nesting_errors(wrapped) == []


def test_the_widget_names_its_parts_for_assistive_technology(make_upload, django_user_model):
    alice = django_user_model.objects.create_user("alice", password="x")
    shot = completed(make_upload(owner=alice, filename="rocket.jpg"))
    form = GalleryForm(initial={"photos": [shot]}, request=request_as(alice))
    html = str(form["photos"])
    assert 'role="list"' in html and 'role="listitem"' in html
    assert 'role="status" aria-live="polite"' in html
    assert 'alt="rocket.jpg"' in html
    assert f'<label for="{form["photos"].id_for_label}"' in form.as_p()
    assert f'id="{form["photos"].id_for_label}"' in html and 'type="file"' in html


def test_form_media_brings_the_stylesheet_and_the_script():
    media = str(UploadWidget().media)
    assert '<link href="/static/realtime_uploads/realtime-uploads.css" media="all" rel="stylesheet">' in media
    assert 'src="/static/realtime_uploads/forms.js"' in media and 'type="module"' in media
    assert "realtime-uploads.css" in str(GalleryForm().media)


def test_the_stylesheet_is_themable_with_the_documented_custom_properties():
    """Every --realtime-uploads-* property the stylesheet reads is listed in docs/forms.md, and the reverse."""
    root = Path(__file__).resolve().parents[3]
    css = (root / "realtime_uploads/static/realtime_uploads/realtime-uploads.css").read_text()
    docs = (root / "docs/forms.md").read_text()
    used = set(re.findall(r"var\((--realtime-uploads-[a-z-]+)", css))
    documented = set(re.findall(r"`(--realtime-uploads-[a-z-]+)`", docs))
    assert used and used == documented
