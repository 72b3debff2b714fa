"""README.md's "What is checked" list is the specs' and checks' own, so that
they cannot drift.  Like the report goldens, it is rewritten from the specs
with ``pytest tests/test_readme.py --update-goldens`` (or ``UPDATE_GOLDENS=1``;
``python -m grader.contract`` prints it)."""

from __future__ import annotations

import re

import pytest

from grader.contract import total_points, what_is_checked

from conftest import ROOT
from conftest_report_plugin import update_goldens_requested

README = ROOT / "README.md"
_LIST = re.compile(
    r"## What is checked\n.*?\((?P<total>\d+) in all\).*?\n\n"
    r"(?P<list>(?:- `[^\n]*\n)+)",
    re.S,
)


@pytest.fixture
def readme(request) -> str:
    text = README.read_text()
    if update_goldens_requested(request.config):
        m = _LIST.search(text)
        text = text[: m.start("list")] + what_is_checked() + "\n" + text[m.end("list") :]
        m = _LIST.search(text)
        text = text[: m.start("total")] + total_points() + text[m.end("total") :]
        README.write_text(text)
    return text


def test_readme_lists_every_exercise_and_check_of_the_specs(readme):
    m = _LIST.search(readme)
    assert m, 'README.md: no "What is checked" list'
    assert m["list"].rstrip("\n") == what_is_checked(), (
        "regenerate it: pytest tests/test_readme.py --update-goldens"
    )


def test_readme_gives_the_specs_total(readme):
    assert _LIST.search(readme)["total"] == total_points()
