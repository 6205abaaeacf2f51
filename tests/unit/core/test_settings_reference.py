"""docs/settings.md is what the settings table says: written by ``make docs``, never by hand."""

from __future__ import annotations

from realtime_uploads.core import settings_reference
from realtime_uploads.core.setting_kinds import Whole
from realtime_uploads.core.settings_schema import SETTINGS, Setting
from tests.servers import ROOT


def test_the_committed_reference_is_what_the_table_writes():
    committed = (ROOT / "docs" / "settings.md").read_text()
    assert committed == settings_reference.render(), (
        "docs/settings.md is stale: run `make docs` (python -m realtime_uploads.core.settings_reference "
        "> docs/settings.md) and commit it")


def test_every_key_has_a_row_with_its_variable_and_what_it_accepts():
    rows = {line.split("|")[1].strip().strip("`"): line for line in settings_reference.render().splitlines()
            if line.startswith("| `")}
    assert set(rows) == set(SETTINGS)
    assert "`REALTIME_UPLOADS_CALLBACK_SECRET`" in rows["CALLBACK_SECRETS"]  # the list's one variable
    assert "whole number 1 to 5 368 709 120 (bytes)" in rows["MAX_SIZE"]
    assert "*(processor)*" in rows["MAX_SIZE"] and "*(processor)*" not in rows["PRESIGN_RATE"]


def test_a_byte_default_is_shown_with_its_size():
    setting = Setting(Whole(1, unit="bytes"), 10 * 1024 * 1024, "largest upload")
    assert settings_reference.default_text(setting) == "`10485760` (10 MiB)"
    assert settings_reference.default_text(Setting(Whole(1), 20, "")) == "`20`"
