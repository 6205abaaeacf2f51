"""``docs/settings.md``, written from the settings table, so the reference cannot drift from the code.

``python -m realtime_uploads.core.settings_reference > docs/settings.md``
(``make docs``) writes it; ``tests/unit/core/test_settings_reference.py``
fails when the committed file is not what this module writes. No Django import.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from realtime_uploads.core.environment import env_name
from realtime_uploads.core.setting_kinds import KIB, Whole
from realtime_uploads.core.settings_schema import SETTINGS, Setting

INTRO = """\
# Settings

<!-- Written by `make docs` (python -m realtime_uploads.core.settings_reference) from the settings table,
realtime_uploads/core/settings_schema.py. Edit the table, not this file: a test fails when they differ. -->

Every setting lives in one dict, `REALTIME_UPLOADS`, in your project's settings; override only what you need:

```python
REALTIME_UPLOADS = {
    "BACKEND": "s3",
    "BUCKET": "my-uploads",
    "CALLBACK_SECRETS": [os.environ["REALTIME_UPLOADS_CALLBACK_SECRET"]],
}
```

An unknown key or a bad value raises `ImproperlyConfigured` naming the key the first time a setting is
read, and `manage.py check` reports it as `realtime_uploads.E001`. The same table validates the
processor (AWS Lambda, the SQS worker), which reads each key from the environment variable in the last
column (lists comma-separated, `VARIANTS` as JSON, `none` for an optional value turned off, `1`/`0` for
True/False): there a bad value stops the process with a `ConfigError` naming the variable and the key,
so a misconfigured processor stops at start instead of failing every image. Keys marked *processor* are
read by the processor too; give it the same values as the web process.

| key | default | accepts | meaning | environment |
|---|---|---|---|---|
"""

OUTRO = """
Presign permissions and throttles are your project's DRF defaults; the presign view's throttle scope is
`realtime_uploads.presign`. DRF's own throttles key on `X-Forwarded-For` as any client sends it unless
`NUM_PROXIES` is set; the app's `PRESIGN_RATE` does not (it believes `X-Forwarded-For` only from
`TRUSTED_PROXIES`).
"""


def _size(value: int) -> str:
    for unit, size in (("GiB", KIB**3), ("MiB", KIB**2), ("KiB", KIB)):
        if value >= size and value % size == 0:
            return f" ({value // size} {unit})"
    return ""


def default_text(setting: Setting) -> str:
    """How the reference shows a setting's default."""
    if setting.shown:
        return setting.shown
    value: Any = setting.default
    if isinstance(value, bool) or value is None:
        return f"`{value}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, int):
        kind = getattr(setting.kind, "kind", setting.kind)
        bytes_ = isinstance(kind, Whole) and kind.unit == "bytes"
        return f"`{value}`" + (_size(value) if bytes_ else "")
    if isinstance(value, float):
        return f"`{value:g}`" if not value.is_integer() else f"`{value}`"
    return f"`{json.dumps(value)}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    """The whole of ``docs/settings.md``."""
    rows = []
    for key, setting in SETTINGS.items():
        meaning = setting.meaning + (" *(processor)*" if setting.processor else "")
        rows.append(f"| `{key}` | {_cell(default_text(setting))} | {_cell(setting.kind.describe())} | "
                    f"{_cell(meaning)} | `{env_name(key)}` |\n")
    return INTRO + "".join(rows) + OUTRO


def main() -> None:
    """Print the reference (``> docs/settings.md``)."""
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
