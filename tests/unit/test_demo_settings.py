"""The demo project's insecure defaults are gone: per-checkout secrets, DEBUG off, still a working demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from realtime_uploads.checks.deploy import PUBLISHED_SECRETS
from tests.servers import Daphne

ROOT = Path(__file__).resolve().parents[2]
SHOW = ("import json; from config import settings as s; "
        "print(json.dumps([s.SECRET_KEY, s.REALTIME_UPLOADS['CALLBACK_SECRETS'], s.DEBUG]))")


def _clean_env(state_dir: Path, **env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REALTIME_UPLOADS_"))}
    return {**base, "REALTIME_UPLOADS_STATE_DIR": str(state_dir), **env}


def _settings(state_dir: Path, **env: str) -> list:
    result = subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env=_clean_env(state_dir, **env),
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_without_environment_secrets_are_generated_per_checkout_and_debug_is_off(tmp_path):
    key, callback_secrets, debug = _settings(tmp_path / "a")
    assert debug is False
    assert key == (tmp_path / "a" / "secret_key").read_text().strip()
    assert callback_secrets == [(tmp_path / "a" / "callback_secret").read_text().strip()]
    assert key not in PUBLISHED_SECRETS and not set(callback_secrets) & PUBLISHED_SECRETS
    assert _settings(tmp_path / "a") == [key, callback_secrets, False]  # kept, not regenerated
    other_key, other_secrets, _ = _settings(tmp_path / "b")
    assert other_key != key and other_secrets != callback_secrets


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"])
def test_either_boto3_endpoint_variable_makes_s3_path_style(tmp_path, variable):
    """make stack sets only AWS_ENDPOINT_URL (S3 and SQS for the worker); the web process reads it the same way."""
    show = "from config import settings as s; print(s.REALTIME_UPLOADS.get('ADDRESSING_STYLE'))"
    env = {k: v for k, v in _clean_env(tmp_path).items() if not k.startswith("AWS_ENDPOINT_URL")}
    result = subprocess.run([sys.executable, "-c", show], cwd=ROOT, env={**env, variable: "http://127.0.0.1:5000"},
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "path"


def test_environment_secrets_win_and_nothing_is_generated(tmp_path):
    assert _settings(tmp_path, DJANGO_SECRET_KEY="k" * 60, REALTIME_UPLOADS_CALLBACK_SECRET="c" * 40,
                     DJANGO_DEBUG="1") == ["k" * 60, ["c" * 40], True]
    assert not (tmp_path / "secret_key").exists() and not (tmp_path / "callback_secret").exists()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def test_the_demo_serves_its_page_and_static_files_with_debug_off_and_shows_no_debug_pages(tmp_path):
    server = Daphne(tmp_path, DJANGO_DEBUG="0")
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
                   cwd=ROOT, env=server.env, check=True)
    server.start()
    try:
        assert _get(server.url + "/")[0] == 200
        status, script = _get(server.url + "/static/realtime_uploads/realtime-uploads.js")
        assert status == 200 and "export" in script
        status, page = _get(server.url + "/no-such-page/")
        assert status == 404 and "URLconf" not in page and "DEBUG" not in page
    finally:
        server.terminate()
