"""Per-checkout secrets for the demo: generated on first use, kept in the state folder.

``config/settings.py`` calls :func:`state_secret` for ``SECRET_KEY`` and the
callback secret when the environment gives none, so no two checkouts share a
secret and none is a constant published with the code. The deploy checks
(:mod:`realtime_uploads.checks`) ask :func:`generated_path` whether a value
came from here: a production deploy must pass its secrets in the environment.
No Django import.
"""

from __future__ import annotations

import os
import secrets
import stat
import time
from pathlib import Path

from realtime_uploads.core.errors import StateSecretError

#: Secrets this process read or generated through state_secret(), value → file.
_GENERATED: dict[str, Path] = {}


def state_secret(path: Path | str, *, nbytes: int = 48) -> str:
    """The secret kept in ``path`` (one line), created with ``nbytes`` random bytes if missing.

    The file is created with mode 0600 and appears atomically, complete: of
    processes starting at once, exactly one creates it and all return its
    value (a temporary file hard-linked into place; where the file system has
    no hard links, an exclusive create that readers wait for). Returns the
    URL-safe base64 text (64 characters for 48 bytes). Raises StateSecretError
    if the file is readable by group or others, or stays empty.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        value = _read(path)
    except FileNotFoundError:
        value = _create(path, secrets.token_urlsafe(nbytes))
    _GENERATED[value] = path
    return value


def generated_path(value: str) -> Path | None:
    """The state file ``value`` came from, if this process got it from :func:`state_secret`; else None."""
    return _GENERATED.get(value)


def _create(path: Path, value: str) -> str:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as file:
            file.write(value + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)  # never replaces: the first process to link wins
        except FileExistsError:
            return _read(path)
        except OSError:  # no hard links here (some network or container file systems)
            return _create_exclusive(path, value)
        return value
    finally:
        temporary.unlink(missing_ok=True)


def _create_exclusive(path: Path, value: str) -> str:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "w") as file:
        file.write(value + "\n")
        file.flush()
        os.fsync(file.fileno())
    return value


def _read(path: Path, *, wait: float = 2.0) -> str:
    deadline = time.monotonic() + wait
    while True:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise StateSecretError(
                f"{path} holds a secret but is open to other users (mode {stat.filemode(mode)}); "
                f"run: chmod 600 {path}"
            )
        value = path.read_text().strip()
        if value:
            return value
        if time.monotonic() > deadline:  # another process is still writing it, or it was emptied
            raise StateSecretError(f"{path} is empty; delete it and a new secret will be generated.")
        time.sleep(0.01)
