"""The five-line integration, from the built wheel into a brand-new ``django-admin startproject mysite``.

Nothing of this checkout is on the project's path: the wheel is built from a
copy of the package's files (``pip wheel --no-deps``), installed with its
dependencies from the index into a virtualenv of its own (kept under
``/tmp`` per set of dependencies, so reruns only reinstall the package), and
the project gets exactly the blocks ``docs/integration.md`` marks with
``<!-- fresh-project: ... -->`` comments: the five lines, the page's view,
template and URL, and the documented commands (``migrate``, then daphne's
``runserver`` on a free port). In Chromium a superuser signs in through the
admin's login page, then uploads a photo with the JavaScript client and
sees its thumbnail, and with the form field, saves the form and sees the
saved upload's ``<picture>``.

It runs in the default (SQLite) pass of ``make test`` only: the project is
the stock SQLite one whatever ``DATABASE_URL`` says.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import servers
from tests.browser import browser, screenshot  # noqa: F401 - the fixture
from tests.images import encode, exif_bytes, quadrants

pytestmark = pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="runs in the default pass of make test")

DOC = servers.ROOT / "docs" / "integration.md"
MARKED = re.compile(r"<!-- fresh-project: (\w+)(?: ([\w/.]+))?[^>]*-->\n```\w*\n(.*?)```", re.S)
VENVS = Path(os.environ.get("REALTIME_UPLOADS_FRESH_VENVS", "/tmp/realtime-uploads-fresh-venvs"))  # noqa: S108 - a cache of venvs
PASSWORD = "fresh-project-password-0123"
TIMEOUT_MS = 60_000
#: The five lines of the issue, as they must stay in the docs (the urls.py import is the one a project adds).
FIVE_LINES = [
    'INSTALLED_APPS = ["daphne", *INSTALLED_APPS, "channels", "rest_framework", "realtime_uploads"]',
    'ASGI_APPLICATION = "mysite.asgi.application"',
    'urlpatterns += [path("api/", include("realtime_uploads.urls"))]',
    "from realtime_uploads.asgi import get_asgi_application",
    "application = get_asgi_application()",
]


def marked_blocks() -> list[tuple[str, str | None, str]]:
    """``(action, path, code)`` of each block docs/integration.md marks for this test, in order."""
    return MARKED.findall(DOC.read_text())


def by_file(code: str) -> dict[str, str]:
    """A block of ``# settings.py`` / ``# urls.py`` / ``# asgi.py`` sections: the lines of each file."""
    files: dict[str, list[str]] = {}
    current = None
    for line in code.splitlines():
        header = re.fullmatch(r"# (\w+\.py)\b.*", line)
        if header:
            current = files.setdefault(header.group(1), [])
        else:
            assert current is not None, f"a line before any '# <file>.py' header: {line!r}"
            current.append(line)
    return {name: "\n".join(lines) + "\n" for name, lines in files.items()}


def test_the_docs_show_the_five_lines_verbatim():
    blocks = marked_blocks()
    first = next(code for action, _path, code in blocks if action == "append")
    assert [line for line in first.splitlines() if not line.startswith("#") and "import include" not in line] \
        == FIVE_LINES
    assert set(by_file(first)) == {"settings.py", "urls.py", "asgi.py"}
    readme = (servers.ROOT / "README.md").read_text()
    assert all(line in readme for line in FIVE_LINES), "README's 'Add it to your project' shows the same lines"


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=900, **kwargs)
    assert result.returncode == 0, f"{argv} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _build_wheel(out: Path) -> Path:
    """The wheel of the package's files as they are in this checkout (built from a copy: an in-tree build
    leaves build/ behind, whose stale files a later build would ship)."""
    source = out / "source"
    shutil.copytree(servers.ROOT / "realtime_uploads", source / "realtime_uploads",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(servers.ROOT / name, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out / "dist"), str(source)])
    (wheel,) = (out / "dist").glob("django_realtime_uploads-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"realtime_uploads/py.typed", "realtime_uploads/static/realtime_uploads/realtime-uploads.js",
            "realtime_uploads/templates/realtime_uploads/widgets/upload.html", "realtime_uploads/asgi.py"} <= names
    assert not [name for name in names if name.startswith(("tests/", "config/"))]
    return wheel


def _venv_with(wheel: Path) -> Path:
    """A virtualenv with ``wheel`` and its dependencies (none of the extras); reused while pyproject.toml's
    dependencies stay the same, the package itself reinstalled every time."""
    pyproject = tomllib.loads((servers.ROOT / "pyproject.toml").read_text())
    key = hashlib.sha256(repr((sys.version, pyproject["project"]["dependencies"])).encode()).hexdigest()[:16]
    venv = VENVS / key
    python = venv / "bin" / "python"
    if not (venv / ".complete").exists():
        shutil.rmtree(venv, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(venv)])
        _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)])
        (venv / ".complete").touch()
    else:
        _run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", str(wheel)])
    return venv


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Iterator[dict]:
    """mysite, made by django-admin and the docs' blocks, served by the documented command on a free port."""
    work = tmp_path_factory.mktemp("fresh-project")
    venv = _venv_with(_build_wheel(work))
    bin_dir = venv / "bin"
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "VIRTUAL_ENV")
           and not key.startswith("REALTIME_UPLOADS_")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", PYTHONUNBUFFERED="1",
               DJANGO_SUPERUSER_PASSWORD=PASSWORD)
    installed = _run([str(bin_dir / "python"), "-m", "pip", "list", "--format=freeze"], env=env).stdout.lower()
    assert "drf-spectacular" not in installed  # an extra now: the five lines work without it
    _run([str(bin_dir / "django-admin"), "startproject", "mysite"], env=env, cwd=work)
    root = work / "mysite"
    commands: list[str] = []
    production = ""
    for action, path, code in marked_blocks():
        if action == "append":
            for name, lines in by_file(code).items():
                with (root / "mysite" / name).open("a") as target:
                    target.write("\n" + lines)
        elif action == "create":
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(code)
        elif action == "run":
            commands += [line.split("#")[0].strip() for line in code.splitlines() if line.strip()]
        elif action == "production":
            production += by_file(code)["settings.py"]
    assert commands[-1] == "python manage.py runserver"
    python = str(bin_dir / "python")
    for command in commands[:-1]:
        _run([python, *command.split()[1:]], env=env, cwd=root)
    _run([python, "manage.py", "createsuperuser", "--noinput", "--username", "admin", "--email", "a@example.com"],
         env=env, cwd=root)
    port = servers.free_port()
    log = (work / "runserver.log").open("w")
    server = subprocess.Popen([python, *commands[-1].split()[1:], f"127.0.0.1:{port}", "--noreload"], env=env,
                              cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        servers._wait_until_up(f"http://127.0.0.1:{port}/admin/login/", server, timeout=60)
        yield {"url": f"http://127.0.0.1:{port}", "root": root, "log": work / "runserver.log", "server": server,
               "python": python, "env": env, "production": production}
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture
def page(browser, project):  # noqa: F811 - the fixture imported above
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{project['url']}/photo/")  # signed out: LOGIN_URL of the page's block sends it to the admin's login
    page.wait_for_url(f"{project['url']}/admin/login/?next=/photo/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{project['url']}/photo/")
    yield page
    context.close()


def photo(tmp_path: Path) -> Path:
    path = tmp_path / "beach.jpg"
    path.write_bytes(encode(quadrants(1200, 800), "JPEG", quality=90, exif=exif_bytes(1, Make="Canon")))
    return path


def _loaded(page, selector: str) -> dict:
    page.wait_for_function(f"() => {{ const i = document.querySelector({selector!r}); "
                           "return i && i.complete && i.naturalWidth > 0; }")
    return page.eval_on_selector(selector, "i => ({src: i.src, width: i.naturalWidth})")


def test_the_javascript_client_uploads_and_the_thumbnail_loads(page, project, tmp_path):
    page.set_input_files("#direct", str(photo(tmp_path)))
    thumb = _loaded(page, "#direct-thumb")
    screenshot(page, "fresh-project-client")
    assert thumb["src"].startswith(project["url"] + "/api/uploads/local/files/")
    assert 0 < thumb["width"] <= 1200  # a variant, made by the in-process processor and called back


def test_the_form_field_uploads_and_the_saved_form_shows_the_picture(page, project, tmp_path):
    page.set_input_files("input[type=file][data-realtime-uploads]", str(photo(tmp_path)))
    page.wait_for_selector(".realtime-uploads-file[data-state=ready]")
    with page.expect_navigation():
        page.click("form > button")  # Save (the widget has buttons of its own)
    saved = _loaded(page, "picture img")
    screenshot(page, "fresh-project-form")
    assert page.get_attribute("picture img", "alt") == "The saved photo"
    assert saved["src"].startswith(project["url"] + "/api/uploads/local/files/")
    log = project["log"].read_text()
    assert "Traceback" not in log, log[-3000:]


def test_check_deploy_names_each_development_default_to_set(project):
    result = subprocess.run([project["python"], "manage.py", "check", "--deploy"], env=project["env"],
                            cwd=project["root"], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0  # Errors: a deploy pipeline stops
    for check in ("E110", "E111", "W013", "W002"):  # the table of docs/integration.md#production
        assert f"realtime_uploads.{check}" in result.stderr + result.stdout, result.stderr[-3000:]


def test_the_production_block_leaves_check_deploy_nothing_of_the_apps(project):
    """docs/integration.md#production, appended to a copy of the project's settings: every check of the app's
    table is answered, and check --deploy passes (Django's own security warnings aside)."""
    assert project["production"], "docs/integration.md marks no production block"
    settings_dir = project["root"] / "mysite"
    (settings_dir / "production.py").write_text((settings_dir / "settings.py").read_text() + "\n"
                                                + project["production"])
    env = {**project["env"], "DJANGO_SETTINGS_MODULE": "mysite.production", "REDIS_URL": "redis://127.0.0.1:6379/14",
           "DJANGO_SECRET_KEY": "fresh-project-" + "k3Y9q" * 12,
           "REALTIME_UPLOADS_CALLBACK_SECRET": "fresh-project-callback-" + "s7Vx2" * 8}
    result = subprocess.run([project["python"], "manage.py", "check", "--deploy"], env=env, cwd=project["root"],
                            capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "realtime_uploads." not in output, output[-3000:]
