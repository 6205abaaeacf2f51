"""The five-line integration's parts: realtime_uploads.asgi, the development defaults, the project checks, the
optional OpenAPI document. (The whole of it, from a built wheel: tests/scenarios/test_fresh_project.py.)"""

from __future__ import annotations

import gc
import hashlib
import hmac
import json
import os
import subprocess
import sys

import pytest
from channels.generic.websocket import WebsocketConsumer
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import path

from realtime_uploads import conf
from realtime_uploads.checks.project import check_project, check_project_deploy
from realtime_uploads.conf import ServerCallbackURL, learn_server, uploads_settings
from realtime_uploads.core.errors import CallbackError
from tests.servers import ROOT

ID = "6f1c1f4e-3b0a-4f7c-9a7e-2b5f3c1d9e10"


@pytest.fixture
def unlearnt(monkeypatch):
    """No address learnt yet in this process (and none left behind)."""
    monkeypatch.setattr(conf, "_server", None)


def test_callback_secret_left_out_is_derived_from_secret_key_with_its_own_salt(settings):
    settings.REALTIME_UPLOADS = {}
    settings.SECRET_KEY = "k" * 50
    secret = uploads_settings.CALLBACK_SECRETS[0]
    expected = hmac.new(hashlib.sha256(("realtime_uploads.conf.derived_callback_secret" + "k" * 50).encode())
                        .digest(), b"callback-secret", hashlib.sha256).hexdigest()  # Django's salted_hmac
    assert uploads_settings.CALLBACK_SECRETS == (secret,) and secret == expected and len(secret) == 64
    assert "k" * 50 not in secret and uploads_settings.derived("CALLBACK_SECRETS")
    settings.SECRET_KEY = "j" * 50
    assert uploads_settings.CALLBACK_SECRETS[0] != secret  # follows SECRET_KEY
    settings.REALTIME_UPLOADS = {"CALLBACK_SECRETS": ["x" * 40]}
    assert uploads_settings.CALLBACK_SECRETS == ("x" * 40,) and not uploads_settings.derived("CALLBACK_SECRETS")
    settings.REALTIME_UPLOADS = {"CALLBACK_SECRETS": []}  # set empty on purpose: E002, not a default
    assert uploads_settings.CALLBACK_SECRETS == ()


def test_callback_url_left_out_is_the_route_on_the_address_the_server_listens_on(settings, unlearnt):
    settings.REALTIME_UPLOADS = {}
    url = uploads_settings.CALLBACK_URL
    assert isinstance(url, ServerCallbackURL) and uploads_settings.derived("CALLBACK_URL")
    # Before any request: no report to a guessed address (the checks read the settings table's default).
    assert url == "http://127.0.0.1:8000/api/uploads/{id}/callback/"
    with pytest.raises(CallbackError, match="has not learnt where it listens.*get_asgi_application"):
        url.format(id=ID)
    learn_server({"type": "http", "scheme": "http", "server": ("127.0.0.1", 8123)})
    learn_server({"type": "http", "scheme": "https", "server": ("10.0.0.1", 443)})  # the first one wins
    assert url.format(id=ID) == f"http://127.0.0.1:8123/api/uploads/{ID}/callback/"
    settings.REALTIME_UPLOADS = {"CALLBACK_URL": "https://example.com/cb/{id}/"}
    assert uploads_settings.CALLBACK_URL.format(id=ID) == f"https://example.com/cb/{ID}/"
    assert not uploads_settings.derived("CALLBACK_URL")


def test_an_ipv6_or_unix_socket_server_address(unlearnt):
    learn_server({"type": "http", "server": None})  # a Unix socket: nothing learnt
    assert conf.served_at() is None
    learn_server({"type": "http", "scheme": "http", "server": ("::1", 9000)})
    assert conf.served_at() == ("http", "[::1]", 9000)


class Echo(WebsocketConsumer):
    def connect(self):
        self.accept()

    def receive(self, text_data=None, bytes_data=None):
        self.send(text_data=f"echo {text_data}")


@pytest.fixture
def gc_restored():
    """get_asgi_application() tunes the process's garbage collector: put it back for the other tests."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.fixture
def application(settings, unlearnt, gc_restored):
    settings.ALLOWED_HOSTS = ["testserver"]
    from realtime_uploads.asgi import get_asgi_application

    app = get_asgi_application([path("ws/echo/", Echo.as_asgi())])
    assert gc.get_threshold() == (10_000, 50, 100) and gc.get_freeze_count() > 0
    return app


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)  # a sync consumer's every message runs channels' close_old_connections
async def test_get_asgi_application_serves_the_projects_routes_behind_the_origin_check(application):
    socket = WebsocketCommunicator(application, "/ws/echo/", headers=[(b"host", b"testserver"),
                                                                     (b"origin", b"http://testserver")])
    connected, _ = await socket.connect()
    assert connected
    await socket.send_to(text_data="hi")
    assert await socket.receive_from() == "echo hi"
    await socket.disconnect()
    foreign = WebsocketCommunicator(application, "/ws/echo/", headers=[(b"host", b"testserver"),
                                                                      (b"origin", b"http://evil.example")])
    connected, _ = await foreign.connect()
    assert not connected  # refused before the project's consumer


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_get_asgi_application_learns_the_server_address_from_http(application):
    from asgiref.testing import ApplicationCommunicator

    scope = {"type": "http", "method": "GET", "path": "/api/uploads/not-an-id/", "query_string": b"",
             "headers": [(b"host", b"testserver")], "scheme": "http", "server": ("127.0.0.1", 8777),
             "asgi": {"version": "3.0"}, "http_version": "1.1", "client": ("127.0.0.1", 5000)}
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(10)
    assert start["type"] == "http.response.start"
    await communicator.wait(10)
    assert conf.served_at() == ("http", "127.0.0.1", 8777)


def test_an_http_app_of_the_project_is_put_behind_the_push_path(settings, unlearnt, gc_restored):
    from realtime_uploads.asgi import get_asgi_application
    from realtime_uploads.callback.fast_path import PushPath

    async def project_app(scope, receive, send):  # pragma: no cover - not called
        pass

    application = get_asgi_application(http_app=project_app)
    http = application.application_mapping["http"]
    assert http.__closure__ and any(isinstance(c.cell_contents, PushPath) and c.cell_contents.app is project_app
                                    for c in http.__closure__)


def ids(messages):
    return sorted(m.id.removeprefix("realtime_uploads.") for m in messages)


def test_project_checks_name_the_setting_to_add(settings):
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if a != "daphne"]
    assert ids(check_project(None)) == ["E010"]
    assert "INSTALLED_APPS = [\"daphne\"" in check_project(None)[0].hint
    settings.INSTALLED_APPS = ["django.contrib.staticfiles", "daphne"]
    assert ids(check_project(None)) == ["E010"]
    settings.INSTALLED_APPS = ["daphne", "django.contrib.staticfiles"]
    assert ids(check_project(None)) == []
    del settings.ASGI_APPLICATION
    assert ids(check_project(None)) == ["E011"] and "ASGI_APPLICATION" in check_project(None)[0].hint
    settings.ASGI_APPLICATION = "mysite.asgi.application"
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x"}}
    assert ids(check_project(None)) == ["W012"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert ids(check_project(None)) == []


def test_deploy_checks_ask_for_the_development_defaults_to_be_set(settings):
    settings.REALTIME_UPLOADS = {}
    settings.MIDDLEWARE = ["django.middleware.security.SecurityMiddleware"]
    assert ids(check_project_deploy(None)) == ["E110", "E111", "W013"]
    settings.MIDDLEWARE = ["servestatic.middleware.ServeStaticMiddleware"]
    settings.REALTIME_UPLOADS = {"CALLBACK_SECRETS": ["x" * 40], "CALLBACK_URL": "https://e.example/{id}/"}
    assert ids(check_project_deploy(None)) == []


def test_the_in_memory_channel_layer_is_the_default(settings):
    del settings.CHANNEL_LAYERS
    conf.default_channel_layers()
    assert settings.CHANNEL_LAYERS == {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "x"}}
    conf.default_channel_layers()
    assert settings.CHANNEL_LAYERS == {"default": {"BACKEND": "x"}}  # the project's own stays


def test_the_schema_is_served_whatever_the_projects_default_schema_class(settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    with_spectacular = Client().get("/api/schema/?format=json")
    assert with_spectacular.status_code == 200
    settings.REST_FRAMEWORK = {k: v for k, v in settings.REST_FRAMEWORK.items() if k != "DEFAULT_SCHEMA_CLASS"}
    from rest_framework.settings import api_settings

    assert "drf_spectacular" not in api_settings.DEFAULT_SCHEMA_CLASS.__module__
    answer = Client().get("/api/schema/?format=json")
    assert answer.status_code == 200  # was a 500 "Incompatible AutoSchema"
    assert json.loads(answer.content) == json.loads(with_spectacular.content)
    assert "drf_spectacular" not in api_settings.DEFAULT_SCHEMA_CLASS.__module__  # the project's, restored


NO_SPECTACULAR = """
import importlib.abc, json, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("drf_spectacular", "drf_spectacular_sidecar"):
            raise ModuleNotFoundError(f"No module named {name!r} (refused by the test)", name=name)
sys.meta_path.insert(0, Refuse())
import django
django.setup()
from django.core.management import call_command
from django.test import Client
from django.urls import reverse, NoReverseMatch
import realtime_uploads.urls, realtime_uploads.asgi, realtime_uploads.presign.views
call_command("check")
names = [p.name for p in realtime_uploads.urls.urlpatterns]
answer = Client(HTTP_HOST="127.0.0.1").get("/api/schema/")
print(json.dumps({"names": names, "schema": answer.status_code,
                  "loaded": sorted(m for m in sys.modules if m.startswith("drf_spectacular"))}))
"""


def test_without_drf_spectacular_the_api_works_and_serves_no_schema(tmp_path):
    (tmp_path / "no_schema_settings.py").write_text(
        "from tests.settings import *  # noqa: F403\n"
        "INSTALLED_APPS = [a for a in INSTALLED_APPS if not a.startswith('drf_spectacular')]  # noqa: F405\n"
        "REST_FRAMEWORK = {k: v for k, v in REST_FRAMEWORK.items() if k != 'DEFAULT_SCHEMA_CLASS'}  # noqa: F405\n")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "no_schema_settings",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    result = subprocess.run([sys.executable, "-c", NO_SPECTACULAR], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["loaded"] == []
    assert "upload-create" in found["names"] and "schema" not in found["names"]
    assert found["schema"] == 404


def test_make_stack_uses_a_redis_database_of_its_own():
    from config import devstack

    assert devstack.redis_url({"REDIS_URL": "redis://elsewhere:6379/3"}) == "redis://elsewhere:6379/3"
    found = devstack.redis_url({})
    if not found:
        pytest.skip("no Redis on 127.0.0.1:6379")
    assert found == "redis://127.0.0.1:6379/15"


def test_an_asgi_py_that_does_not_build_the_apps_stack_is_a_warning(settings, tmp_path, monkeypatch):
    """The trial's stuck uploads: startproject's own asgi.py left as it was passes `check` silently."""
    package = tmp_path / "trialsite"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "asgi.py").write_text("import os\nfrom django.core.asgi import get_asgi_application\n"
                                     "application = get_asgi_application()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.ASGI_APPLICATION = "trialsite.asgi.application"
    warnings = [m for m in check_project(None) if m.id == "realtime_uploads.W014"]
    assert len(warnings) == 1 and "get_asgi_application" in warnings[0].hint
    assert str(package / "asgi.py") in warnings[0].msg
    (package / "asgi.py").write_text("from realtime_uploads.asgi import get_asgi_application\n"
                                     "application = get_asgi_application()\n")
    assert not [m for m in check_project(None) if m.id == "realtime_uploads.W014"]
    assert "trialsite.asgi" not in __import__("sys").modules  # read as text, never imported
