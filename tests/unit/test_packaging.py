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


def test_the_package_is_typed_and_ships_its_marker():
    assert (ROOT / "realtime_uploads" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["realtime_uploads"]


def test_the_openapi_document_is_an_extra_not_a_dependency():
    project = PYPROJECT["project"]
    names = {re.split(r"[\[<>=~!; ]", requirement)[0].lower() for requirement in project["dependencies"]}
    assert not names & {"drf-spectacular", "drf-spectacular-sidecar"}
    for extra in ("schema", "test"):
        assert {"drf-spectacular", "drf-spectacular-sidecar"} <= {
            re.split(r"[\[<>=~!; ]", requirement)[0].lower() for requirement in project["optional-dependencies"][extra]}


def test_the_version_is_one_number_read_from_the_package():
    import realtime_uploads

    assert PYPROJECT["project"]["dynamic"] == ["version"] and "version" not in PYPROJECT["project"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "realtime_uploads.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", realtime_uploads.__version__)


def test_the_docs_name_the_version_only_through_the_package():
    """A number in the docs would go stale at the next release: they say ``realtime_uploads.__version__``, and
    only the contract's version notes name releases, the current one marked "(this release)"."""
    import realtime_uploads

    version = realtime_uploads.__version__
    contract = (ROOT / "docs" / "contract.md").read_text()
    assert f"**{version} (this release)**" in contract
    notes = contract.index("## Contract version notes")
    assert version not in contract[:notes]
    for doc in [ROOT / "README.md", *(p for p in (ROOT / "docs").glob("*.md") if p.name != "contract.md")]:
        assert version not in doc.read_text(), f"{doc.name} names the version {version}"
