"""The processor must run where Django is not installed (AWS Lambda, a bare worker)."""

import subprocess
import sys

MODULES = [
    "realtime_uploads.core.errors",
    "realtime_uploads.processing.image.render",
    "realtime_uploads.core.keys",
    "realtime_uploads.processing.callback_client",
    "realtime_uploads.processing.pipeline",
    "realtime_uploads.processing.dispatcher",
    "realtime_uploads.processing.config",
    "realtime_uploads.core.settings_schema",
]


def test_processing_package_imports_no_django():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in MODULES)
        + "names = ('django', 'rest_framework', 'channels')\n"
        + "leaked = sorted(m for m in sys.modules if m.split('.')[0] in names)\n"
        + "print(','.join(leaked))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"processing imported: {result.stdout.strip()}"
