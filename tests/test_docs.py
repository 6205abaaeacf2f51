"""The documentation points only at things in this repository.

README.md, SECURITY.md and docs/*.md: every relative Markdown link names a
file or folder that exists (and, into a Markdown file, a heading that
exists); every path written as code (``tests/test_stack.py``) exists; nothing
refers to the design folder outside the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .servers import ROOT

DOCS = sorted([ROOT / "README.md", ROOT / "SECURITY.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# `dir/file.ext` or `dir/` whose first folder is one of the repository's (not `60/min`, `image/png`).
CODE_PATH = re.compile(r"`((?:[\w.-]+/)+[\w.-]*)`")
GENERATED = (".state/", ".venv/", "staticfiles/", "fuzz/corpus")  # made by make / the demo, not committed


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(line.lstrip("#")) for line in path.read_text().splitlines() if line.startswith("#")}


def _outside_code_blocks(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.S)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_name_files_and_headings_that_exist(doc):
    broken = []
    for target in LINK.findall(_outside_code_blocks(doc.read_text())):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s):, mailto:
        path, _, anchor = target.partition("#")
        resolved = (doc.parent / path).resolve() if path else doc
        if not resolved.exists() or ROOT not in (resolved, *resolved.parents):
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(target)
    assert not broken, f"{doc.name} links to what is not in the repository: {broken}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_paths_written_as_code_exist(doc):
    missing = [p for p in CODE_PATH.findall(_outside_code_blocks(doc.read_text()))
               if not p.startswith(("/", "../", *GENERATED)) and "<" not in p and "*" not in p
               and (ROOT / p.split("/")[0]).is_dir() and not (ROOT / p).exists()]
    assert not missing, f"{doc.name} names paths that do not exist: {missing}"


@pytest.mark.parametrize("doc", [*DOCS, ROOT / "pyproject.toml"], ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_refers_outside_the_repository(doc):
    text = doc.read_text()
    assert "../shared" not in text and "/work/" not in text


def test_the_readme_links_the_contract():
    assert "(docs/contract.md)" in (ROOT / "README.md").read_text()
