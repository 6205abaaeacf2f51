"""The documentation points only at things in this repository, and says each thing once.

README.md, SECURITY.md and docs/*.md: every relative Markdown link names a
file or folder that exists (and, into a Markdown file, a heading that
exists); every path written as code (``tests/scenarios/test_stack.py``) exists, and
every test named as code (``tests/unit/core/test_keys.py::test_x``, or ``::test_y``
after it) is defined in its file; nothing refers to the design folder outside
the repository. The README stays short (at most 250 lines) and links every
page of docs/; no paragraph, list item or table row of some length is written
in two of these files (move it, and link to it).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.servers import ROOT

DOCS = sorted([ROOT / "README.md", ROOT / "SECURITY.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# `dir/file.ext` or `dir/` whose first folder is one of the repository's (not `60/min`, `image/png`).
CODE_PATH = re.compile(r"`((?:[\w.-]+/)+[\w.-]*)`")
GENERATED = (".state/", ".venv/", "staticfiles/", "fuzz/corpus")  # made by make / the demo, not committed
CODE_SPAN = re.compile(r"`([^`\n]+)`")
# `tests/unit/core/test_keys.py::test_x`, and `::test_y` naming another test of the file named last.
TEST_NODE = re.compile(r"((?:[\w.-]+/)+[\w.-]+\.py)?::(\w+)")
README_MAX_LINES = 250
# Shorter units (a heading, "See [settings](settings.md).", a table row of a few cells) may well recur.
REPEATED_MIN_CHARS = 200


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(line.lstrip("#")) for line in path.read_text().splitlines() if line.startswith("#")}


def _outside_code_blocks(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.S)


def _units(text: str) -> set[str]:
    """The paragraphs, list items and table rows of ``text`` outside code blocks, whitespace collapsed and list
    markers dropped, of at least REPEATED_MIN_CHARS characters."""
    units = set()
    for block in re.split(r"\n[ \t]*\n", _outside_code_blocks(text)):
        for unit in re.split(r"\n(?=[ \t]*(?:[-*+]|\d+\.|\|)[ \t])", block):
            unit = re.sub(r"^(?:[-*+]|\d+\.)\s+", "", " ".join(unit.split()))
            if len(unit) >= REPEATED_MIN_CHARS:
                units.add(unit)
    return units


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


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_tests_named_as_code_exist(doc):
    missing, current = [], None
    for span in CODE_SPAN.findall(_outside_code_blocks(doc.read_text())):
        node = TEST_NODE.fullmatch(span)
        if node is None:
            if re.fullmatch(r"(?:[\w.-]+/)+[\w.-]+\.py", span):
                current = span
            continue
        path, name = node.groups()
        current = path or current
        source = ROOT / current if current else None
        if source is None or not source.is_file() or not re.search(rf"^\s*(?:async\s+)?def {name}\(",
                                                                    source.read_text(), re.M):
            missing.append(f"{current}::{name}")
    assert not missing, f"{doc.name} names tests that do not exist: {missing}"


def test_the_readme_is_short():
    lines = len((ROOT / "README.md").read_text().splitlines())
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines, more than {README_MAX_LINES}: move the detail into docs/ and link it")


def test_the_readme_links_every_page_of_the_docs():
    linked = {target.partition("#")[0]
              for target in LINK.findall(_outside_code_blocks((ROOT / "README.md").read_text()))}
    unlinked = [f"docs/{page.name}" for page in sorted((ROOT / "docs").glob("*.md"))
                if f"docs/{page.name}" not in linked]
    assert not unlinked, f"README.md's documentation list misses {unlinked}"


def test_no_paragraph_is_written_in_two_documents():
    first_seen: dict[str, Path] = {}
    repeated = []
    for doc in DOCS:
        for unit in sorted(_units(doc.read_text())):
            if unit in first_seen:
                repeated.append(f"{first_seen[unit].relative_to(ROOT)} and {doc.relative_to(ROOT)}: {unit[:100]}…")
            else:
                first_seen[unit] = doc
    assert not repeated, "written in two places (keep one, link to it):\n" + "\n".join(repeated)
