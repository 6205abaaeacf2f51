"""``picture_html`` and ``{% upload_picture %}`` give exactly the markup of the browser client's ``pictureHTML``.

Each hand-written event is rendered by both, ``pictureHTML`` in node (picture.js imported as a module, the
cases as JSON on stdin). Without ``node`` those comparisons skip, except on CI
(``REALTIME_UPLOADS_REQUIRE_SERVICES=1``), where a missing Node is a failure (as in tests/unit/test_js_client.py).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from django.template import Context, Template

from realtime_uploads.forms.picture import picture_html
from realtime_uploads.state import services
from realtime_uploads.state.events import upload_event
from realtime_uploads.storage import get_backend
from tests.node import node_binary

PICTURE_JS = Path(__file__).resolve().parents[3] / "realtime_uploads" / "static" / "realtime_uploads" / "picture.js"
# Reads [[event, options], ...] on stdin, writes [pictureHTML(event, options), ...] (null for none).
NODE_SCRIPT = f"""
import {{ pictureHTML }} from {json.dumps(PICTURE_JS.as_uri())};
let input = "";
for await (const chunk of process.stdin) input += chunk;
const cases = JSON.parse(input);
process.stdout.write(JSON.stringify(cases.map(([event, options]) => pictureHTML(event, options))));
"""

M = "/media/variants/0b5e/"
XSS = "javascript:alert(document.cookie)"
ESCAPE_ME = "\"<&'>"


def f(format, url, size=1000, type_=None):
    return {"format": format, "type": type_ or f"image/{format.lower()}", "size": size, "url": url}


def variant(name, width, height, formats, **extra):
    fallback = formats[-1]
    return {"name": name, "width": width, "height": height, "format": fallback["format"], "size": fallback["size"],
            "url": fallback["url"], "animated": False, "formats": formats, **extra}


def event(*variants, color="#336699", placeholder="15YCnZp3eHiIh3h3eIeHj49394h3"):
    return {"type": "upload.status", "id": "0b5e", "status": "completed", "seq": 4, "original": None,
            "placeholder": placeholder, "color": color, "variants": list(variants), "error": None,
            "updated_at": "2026-11-22T10:00:00.123Z"}


THUMB = variant("thumb", 320, 240, [f("AVIF", M + "thumb.avif"), f("WEBP", M + "thumb.webp")])
LARGE = variant("large", 1280, 960, [f("AVIF", M + "large.avif"), f("JPEG", M + "large.jpg")])
CONTRACT = event(THUMB, LARGE)
# 0.1: no formats, no animated, no placeholder or colour at all.
OLD = {"type": "upload.status", "id": "0b5e", "status": "completed", "seq": 3, "original": None, "error": None,
       "variants": [{"name": n, "width": w, "height": h, "format": "WEBP", "size": 10422, "url": f"{M}{n}.webp"}
                    for n, w, h in (("thumb", 320, 240), ("large", 1280, 960))], "updated_at": "2026-11-22T10:00:00Z"}

# name -> (event, picture_html keyword arguments); JS options are the same with class_name as className.
CASES = {
    "contract": (CONTRACT, {"sizes": "(max-width: 40rem) 100vw, 40rem", "alt": "Beach", "class_name": "photo"}),
    "defaults": (CONTRACT, {}),
    "0.1 event without formats": (OLD, {"sizes": "50vw"}),
    "javascript: and data: urls dropped": (event(
        variant("thumb", 320, 240, [f("AVIF", XSS), f("WEBP", M + "thumb.webp")]),
        variant("large", 1280, 960, [f("AVIF", M + "large.avif"), f("JPEG", "JavaScript:alert(1)")]),
        variant("medium", 640, 480, [f("AVIF", "data:image/avif;base64,AAAA"), f("WEBP", M + "medium.webp")]),
        variant("spaced", 800, 600, [f("AVIF", M + "a b.avif"), f("WEBP", M + "spaced.webp\n")]),
    ), {}),
    "one variant chosen": (CONTRACT, {"variants": ["large"], "alt": "Large only"}),
    "chosen in the event's order, not the option's": (CONTRACT, {"variants": ["large", "thumb", "missing"]}),
    "escaping": (event(
        variant("thumb", 320, 240, [f("AVIF", M + "t.avif?a=1&b='2'"), f("WEBP", M + 't.webp?q="x"&<y>')]),
    ), {"sizes": ESCAPE_ME, "alt": ESCAPE_ME, "class_name": f"photo {ESCAPE_ME}"}),
    "odd formats, widths and colours": (event(
        variant("a", 320.0, None, [f("jpg", M + "a.jpg", type_="image/jpeg"), f("webp", M + "a.webp")]),
        variant("b", 640, -1, [f("JPG", M + "b.jpg"), f("HEIF", M + "b.heic", type_="IMAGE/HEIC"),
                               f("WEBP", M + "b.webp")]),
        variant("c", 640, 480, [f("JPEG", M + "c.jpg"), f("WEBP", M + "c.webp")]),
        variant("bad width", True, 1, [f("WEBP", M + "x.webp")]),
        variant("bad type", 100, 1, [f("XYZ", M + "x.xyz", type_="image/x\n")]),
    ), {"sizes": ""}),
    "a format known by its own type only": (event(
        variant("a", 320, 240, [f("HEIF", M + "a.heic", type_="IMAGE/HEIC"), f("WEBP", M + "a.webp")]),
        variant("b", 640, 480, [f("heif", M + "b.heic", type_="image/Heic"), f("XYZ", M + "b.x", type_="image/x\n"),
                                f("WEBP", M + "b.webp")]),
    ), {}),
    "huge width, upper-case colour": (event(
        variant("thumb", 320, 240, [f("WEBP", "https://cdn.example/t.webp")]),
        variant("giant", 2**60, 2**53 + 1, [f("WEBP", "HTTPS://cdn.example/g.webp")]),
        color="#ABCDEF"), {}),
    "colour with a newline is not a colour": (event(THUMB, color="#336699\n"), {}),
    "no usable variant": (event(variant("thumb", 320, 240, [f("WEBP", XSS)])), {"alt": "x"}),
    "none chosen": (CONTRACT, {"variants": []}),
}


NEEDED_FOR = "comparing picture_html with the browser client's pictureHTML"


def js_picture_html(cases: list[tuple[dict, dict]]) -> list[str | None]:
    """pictureHTML(event, options) in node for each (event, picture_html keyword arguments)."""
    js_cases = [[e, {("className" if k == "class_name" else k): v for k, v in kw.items()}] for e, kw in cases]
    result = subprocess.run(
        [node_binary(NEEDED_FOR), "--input-type=module", "-e", NODE_SCRIPT], input=json.dumps(js_cases),
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def from_js() -> dict[str, str | None]:
    return dict(zip(CASES, js_picture_html(list(CASES.values())), strict=True))


@pytest.mark.parametrize("name", CASES)
def test_picture_html_is_the_markup_of_the_js_client(name, from_js):
    evt, kwargs = CASES[name]
    assert picture_html(evt, **kwargs) == (from_js[name] or "")


def test_the_contract_example_and_what_the_cases_show(from_js):
    assert from_js["contract"] == (
        '<picture class="photo">'
        f'<source type="image/avif" srcset="{M}thumb.avif 320w, {M}large.avif 1280w"'
        ' sizes="(max-width: 40rem) 100vw, 40rem">'
        f'<img src="{M}large.jpg" srcset="{M}thumb.webp 320w, {M}large.jpg 1280w"'
        ' sizes="(max-width: 40rem) 100vw, 40rem" width="1280" height="960" alt="Beach" loading="lazy"'
        ' decoding="async" style="background-color: #336699"></picture>'
    )
    old = from_js["0.1 event without formats"]
    assert "<source" not in old and "style=" not in old
    dropped = from_js["javascript: and data: urls dropped"]
    assert "javascript" not in dropped.lower() and "data:" not in dropped and "large" not in dropped
    assert "spaced" not in dropped and 'type="image/avif"' not in dropped
    assert from_js["one variant chosen"].count("w,") == 0 and "thumb" not in from_js["one variant chosen"]
    escaped = from_js["escaping"]
    assert ESCAPE_ME not in escaped and "&quot;&lt;&amp;&#x27;&gt;" in escaped
    assert 'width="1152921504606847000" height="9007199254740992"' in from_js["huge width, upper-case colour"]
    assert '<source type="image/heic" srcset="' in from_js["a format known by its own type only"]
    assert from_js["no usable variant"] is None and from_js["none chosen"] is None


def test_variants_may_be_a_comma_separated_string():
    assert picture_html(CONTRACT, variants="large,thumb") == picture_html(CONTRACT, variants=["thumb", "large"])
    assert picture_html(None) == "" and picture_html({"variants": "nope"}) == ""


AVIF_WEBP = [("AVIF", "avif", 8000), ("WEBP", "webp", 10422)]
AVIF_JPEG = [("AVIF", "avif", 60000), ("JPEG", "jpg", 90000)]


def completed_upload(make_upload):
    upload = make_upload(filename="beach.jpg")
    prefix = f"variants/{upload.pk}/"
    variants = []
    for name, width, height, files in (("thumb", 320, 240, AVIF_WEBP), ("large", 1280, 960, AVIF_JPEG)):
        formats = [{"format": fmt, "key": f"{prefix}{name}.{ext}", "size": size} for fmt, ext, size in files]
        variants.append({"name": name, "width": width, "height": height, "animated": False, "formats": formats,
                         **formats[-1]})
    services.upload_mark_completed(upload_id=upload.pk, original={"width": 4000, "height": 3000, "format": "JPEG"},
                                   variants=variants, placeholder="15YCnZp3eHiIh3h3eIeHj49394h3", color="#336699")
    upload.refresh_from_db()
    return upload


def test_the_template_tag_renders_a_completed_upload(make_upload):
    upload = completed_upload(make_upload)
    url = get_backend().variant_url
    prefix = f"variants/{upload.pk}/"
    html = Template(
        '{% load realtime_uploads %}'
        '{% upload_picture upload sizes="(max-width: 40rem) 100vw, 40rem" alt=alt class="photo" %}|'
        '{% upload_picture upload variants="thumb" %}|{% upload_picture none alt="x" %}|'
    ).render(Context({"upload": upload, "alt": ESCAPE_ME, "none": None}))
    both, thumb_only, nothing, _ = html.split("|")
    assert both.startswith('<picture class="photo"><source type="image/avif" srcset="')
    assert f'srcset="{url(prefix + "thumb.avif")} 320w, {url(prefix + "large.avif")} 1280w"' in both
    assert url(prefix + "thumb.avif").startswith("/api/uploads/local/files/variants/")
    assert f'<img src="{url(prefix + "large.jpg")}" srcset="{url(prefix + "thumb.webp")} 320w, ' in both
    assert 'width="1280" height="960" alt="&quot;&lt;&amp;&#x27;&gt;"' in both
    assert 'style="background-color: #336699"' in both
    assert both == picture_html(upload_event(upload), sizes="(max-width: 40rem) 100vw, 40rem", alt=ESCAPE_ME,
                                class_name="photo")
    assert 'width="320" height="240"' in thumb_only and "large" not in thumb_only
    assert nothing == ""


def test_the_template_tag_is_the_js_markup_for_a_real_event(make_upload):
    evt = upload_event(completed_upload(make_upload))
    kwargs = {"sizes": "50vw", "alt": "Beach", "variants": ["thumb", "large"], "class_name": "photo"}
    assert picture_html(evt, **kwargs) == js_picture_html([(evt, kwargs)])[0]


def test_the_template_tag_refuses_unknown_arguments(make_upload):
    from django.template import TemplateSyntaxError

    upload = completed_upload(make_upload)
    with pytest.raises(TemplateSyntaxError, match="unknown argument"):
        Template('{% load realtime_uploads %}{% upload_picture upload title="x" %}').render(Context({"upload": upload}))
