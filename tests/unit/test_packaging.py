"""``pip install -e .`` prints no setuptools warnings.

Building needs setuptools from the index (pip's isolated build), which the
suite does not download, so the causes are checked in pyproject.toml:

- ``project.license`` as a TOML table (``{text = …}``) made setuptools 77+
  print its deprecation warning three times per install (once per build
  hook); license classifiers are deprecated the same way. The SPDX string
  needs setuptools 77, so the build requires it.
- A flat layout found by ``packages.find`` alone is installed editable
  through an import hook, and setuptools then prints an "Editable
  installation" warning on every install; mapped explicitly (``package-dir
  = {"" = "."}``) it is a plain ``.pth`` file, installed silently.
"""

from __future__ import annotations

import re
import tomllib

from tests.servers import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_license_is_an_spdx_string_without_license_classifiers():
    project = PYPROJECT["project"]
    assert isinstance(project["license"], str) and re.fullmatch(r"[A-Za-z0-9.+-]+", project["license"])
    assert not [c for c in project.get("classifiers", []) if c.startswith("License ::")]
    assert project["license-files"] == ["LICENSE"]
    assert "BSD 3-Clause License" in (ROOT / "LICENSE").read_text()  # the text the SPDX id names
    setuptools = next(r for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools"))
    assert tuple(int(n) for n in re.search(r">=\s*([\d.]+)", setuptools).group(1).split(".")) >= (77,)


def test_the_flat_layout_is_mapped_so_editable_installs_are_a_plain_pth_file():
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"": "."}
    assert PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"] == ["realtime_uploads*"]
