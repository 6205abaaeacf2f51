"""``check --deploy`` fails (Errors, our ids) on every insecure setting, and passes a secure deploy."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from realtime_uploads.checks.deploy import check_exposure, check_secrets
from realtime_uploads.core.generated_secrets import state_secret

ROOT = Path(__file__).resolve().parents[2]
STRONG = secrets.token_urlsafe(48)


@pytest.fixture
def secure(settings, monkeypatch):
    """A deploy with nothing to flag; each test breaks one thing."""
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    settings.DEBUG = False
    settings.SECRET_KEY = secrets.token_urlsafe(48)
    settings.SECRET_KEY_FALLBACKS = []
    settings.ALLOWED_HOSTS = ["uploads.example.com"]
    settings.REALTIME_UPLOADS = {
        "BACKEND": "s3", "BUCKET": "uploads", "CALLBACK_SECRETS": [STRONG],
        "CALLBACK_URL": "https://uploads.example.com/api/uploads/{id}/callback/",
        "TRUSTED_PROXIES": ["10.0.0.0/8"],
    }
    return settings


def flagged() -> list[str]:
    return [e.id.removeprefix("realtime_uploads.") for e in [*check_secrets(None), *check_exposure(None)]]


def uploads(settings, **values):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, **values}


def test_a_secure_deploy_passes(secure):
    assert flagged() == []


@pytest.mark.parametrize("key", [
    "demo-insecure-secret-key-change-me", "compose-insecure-secret-key", "django-insecure-" + "a1b2c3" * 10,
    "short-but-random-Zx81", "ab" * 40,
])
def test_weak_or_published_secret_key_is_an_error(secure, key):
    secure.SECRET_KEY = key
    assert flagged() == ["E101"]


def test_startprojects_development_key_is_named_as_such(secure):
    secure.SECRET_KEY = "django-insecure-" + "a1b2c3" * 10
    (error,) = [m for m in check_secrets(None) if m.id == "realtime_uploads.E101"]
    assert "startproject" in error.msg and "published with the code" not in error.msg


def test_secret_key_generated_into_the_state_folder_is_an_error(secure, tmp_path):
    secure.SECRET_KEY = state_secret(tmp_path / "secret_key")
    assert flagged() == ["E101"]


def test_a_published_fallback_key_is_an_error(secure):
    secure.SECRET_KEY_FALLBACKS = ["demo-insecure-secret-key-change-me"]
    assert flagged() == ["E101"]


@pytest.mark.parametrize("secret", ["demo-callback-secret-change-me", "compose-callback-secret-change-me-0123456789",
                                    "e2e-callback-secret-0123456789abcdef0123"])
def test_published_callback_secret_is_an_error(secure, secret):
    uploads(secure, CALLBACK_SECRETS=[STRONG, secret])
    assert flagged() == ["E102"]


def test_callback_secret_generated_into_the_state_folder_is_an_error(secure, tmp_path):
    uploads(secure, CALLBACK_SECRETS=[state_secret(tmp_path / "callback_secret")])
    assert flagged() == ["E102"]


def test_callback_secret_shorter_than_32_bytes_is_an_error(secure):
    uploads(secure, CALLBACK_SECRETS=["x" * 31])
    assert flagged() == ["E103"]
    uploads(secure, CALLBACK_SECRETS=["é" * 16])  # 32 bytes in UTF-8
    assert flagged() == []


def test_debug_is_an_error(secure):
    secure.DEBUG = True
    assert flagged() == ["E104"]


def test_local_backend_is_an_error(secure):
    uploads(secure, BACKEND="local")
    assert flagged() == ["E105"]


@pytest.mark.parametrize(("url", "expected"), [
    ("http://10.0.0.5/api/uploads/{id}/callback/", ["E106"]),
    ("http://uploads.example.com/api/uploads/{id}/callback/", ["E106"]),
    ("http://127.0.0.1:8000/api/uploads/{id}/callback/", []),
    ("http://[::1]:8000/api/uploads/{id}/callback/", []),
    ("http://localhost:8000/api/uploads/{id}/callback/", []),
])
def test_plain_http_callback_off_loopback_is_an_error(secure, url, expected):
    uploads(secure, CALLBACK_URL=url)
    assert flagged() == expected


@pytest.mark.parametrize(("values", "expected"), [
    ({"ENDPOINT_URL": "http://minio.internal:9000"}, ["E107"]),
    ({"PUBLIC_BASE_URL": "http://cdn.example.com/"}, ["E107"]),
    ({"ENDPOINT_URL": "http://127.0.0.1:9000", "PUBLIC_BASE_URL": "https://cdn.example.com/"}, []),
])
def test_plain_http_store_or_cdn_off_loopback_is_an_error(secure, values, expected):
    uploads(secure, **values)
    assert flagged() == expected


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"])  # boto3 reads both for S3
def test_plain_http_boto3_endpoint_is_an_error(secure, monkeypatch, variable):
    monkeypatch.setenv(variable, "http://s3.example.com")
    assert flagged() == ["E107"]


@pytest.mark.parametrize(("proxies", "expected"), [
    (["0.0.0.0/0"], ["E108"]), (["10.0.0.0/8", "::/0"], ["E108"]), (["10.0.0.0/8", "192.168.1.1"], []),
])
def test_trusting_every_proxy_is_an_error(secure, proxies, expected):
    uploads(secure, TRUSTED_PROXIES=proxies)
    assert flagged() == expected


def test_any_host_is_an_error(secure):
    secure.ALLOWED_HOSTS = ["*"]
    assert flagged() == ["E109"]


def test_a_project_is_told_the_settings_to_set_not_the_demo_s_environment(secure, tmp_path):
    """The checks speak to a project (tests.settings here): settings by name, no DJANGO_* variable."""
    secure.SECRET_KEY = state_secret(tmp_path / "secret_key")
    secure.DEBUG = True
    secure.ALLOWED_HOSTS = ["*"]
    uploads(secure, CALLBACK_SECRETS=["demo-callback-secret-change-me"])
    errors = {e.id.removeprefix("realtime_uploads."): f"{e.msg} {e.hint}"
              for e in [*check_secrets(None), *check_exposure(None)]}
    assert sorted(errors) == ["E101", "E102", "E104", "E109"]
    assert "Set SECRET_KEY " in errors["E101"] and "Set DEBUG = False" in errors["E104"]
    assert "ALLOWED_HOSTS" in errors["E109"] and "REALTIME_UPLOADS['CALLBACK_SECRETS']" in errors["E102"]
    assert "DJANGO_" not in " ".join(errors.values()) and "the demo" not in " ".join(errors.values())


def _check_deploy(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "REALTIME_UPLOADS_", "AWS_", "DATABASE_URL", "REDIS_"))}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, capture_output=True, text=True,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", "REALTIME_UPLOADS_STATE_DIR": str(tmp_path), **env})


def test_the_demo_defaults_fail_check_deploy(tmp_path):
    result = _check_deploy(tmp_path)
    assert result.returncode == 1, result.stderr
    for error in ("E101", "E102", "E105"):
        assert f"(realtime_uploads.{error})" in result.stderr
    assert "(realtime_uploads.E104)" not in result.stderr  # DEBUG is off unless asked for
    assert "(realtime_uploads.E104)" in _check_deploy(tmp_path, DJANGO_DEBUG="1").stderr
    # The demo's own settings module: the settings, then the demo's variable that sets each.
    assert "Set SECRET_KEY to a long random value kept out of the code (the demo: DJANGO_SECRET_KEY)" in result.stderr
    assert "(the demo: REALTIME_UPLOADS_CALLBACK_SECRET, for both)" in result.stderr


def test_a_deploy_configured_through_the_environment_passes_check_deploy(tmp_path):
    result = _check_deploy(
        tmp_path, DJANGO_SECRET_KEY=secrets.token_urlsafe(48), REALTIME_UPLOADS_CALLBACK_SECRET=STRONG,
        REALTIME_UPLOADS_BACKEND="s3", REALTIME_UPLOADS_BUCKET="uploads", DJANGO_ALLOWED_HOSTS="uploads.example.com")
    assert result.returncode == 0, result.stderr
    assert "realtime_uploads.E" not in result.stderr + result.stdout
