"""Per-checkout secrets in the state folder: random, 0600, created once even by processes racing."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from realtime_uploads.core import generated_secrets
from realtime_uploads.core.errors import StateSecretError
from realtime_uploads.core.generated_secrets import generated_path, state_secret

ROOT = Path(__file__).resolve().parents[3]


def test_a_secret_is_generated_once_kept_private_and_remembered(tmp_path):
    path = tmp_path / "state" / "secret_key"
    first = state_secret(path)
    assert len(first) == 64 and state_secret(path) == first
    assert path.read_text().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert state_secret(tmp_path / "other") != first
    assert generated_path(first) == path and generated_path("from-the-environment") is None
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no temporary file left


def test_losing_the_race_returns_the_winners_secret_and_never_overwrites(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("the-winner\n")
    path.chmod(0o600)
    assert generated_secrets._create(path, "the-loser") == "the-winner"
    assert path.read_text() == "the-winner\n"


def test_without_hard_links_an_exclusive_create_decides(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise PermissionError("hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "secret_key"
    value = state_secret(path)
    assert path.read_text().strip() == value and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert generated_secrets._create(path, "the-loser") == value


def test_processes_starting_at_once_agree(tmp_path):
    go, path = tmp_path / "go", tmp_path / "state" / "secret_key"
    code = ("import sys, time, pathlib\n"
            "from realtime_uploads.core.generated_secrets import state_secret\n"
            f"go = pathlib.Path({str(go)!r})\n"
            "while not go.exists(): time.sleep(0.001)\n"
            f"print(state_secret({str(path)!r}))\n")
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
             for _ in range(8)]
    go.touch()
    values = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert len(values) == 1 and values == {path.read_text().strip()}


def test_a_secret_file_open_to_others_is_refused(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("readable-by-everyone\n")
    path.chmod(0o644)
    with pytest.raises(StateSecretError, match="chmod 600"):
        state_secret(path)


def test_an_empty_secret_file_is_refused(tmp_path):
    path = tmp_path / "secret_key"
    path.touch(mode=0o600)
    with pytest.raises(StateSecretError, match="empty"):
        generated_secrets._read(path, wait=0.05)
