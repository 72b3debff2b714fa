"""Shared fixtures: one warm sandbox for the whole test session."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import pytest

from grader.grading import Options, grade
from grader.i18n import set_language
from grader.limits import Limits
from grader.sandbox import Zygote, detect_isolation

# the --update-goldens switch of tests/test_report.py (options must exist before
# the command line is parsed, hence here and not in the test module)
from conftest_report_plugin import pytest_addoption  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
DATA = Path(__file__).resolve().parent / "data"


def overlay(case: Path, dest: Path) -> Path:
    """A submission: the reference solutions with the case's files on top."""
    sub = dest / case.name
    shutil.copytree(SOLUTIONS, sub, ignore=shutil.ignore_patterns("__pycache__"))
    for f in case.iterdir():
        if f.name != "expect.json" and f.is_file():
            shutil.copy(f, sub / f.name)
    return sub


def expectation(case: Path) -> dict:
    return json.loads((case / "expect.json").read_text())


def cases(kind: str) -> list[Path]:
    folder = DATA / kind
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


@contextlib.contextmanager
def replies_of(zygote):
    """The zygote's replies to the runs made meanwhile (its ``run`` is wrapped,
    then put back)."""
    seen: list[dict] = []
    run = zygote.run

    def recording(request, inputs):
        reply, raw = run(request, inputs)
        seen.append(reply)
        return reply, raw

    zygote.run = recording
    try:
        yield seen
    finally:
        zygote.run = run


class Grader:
    def __init__(self, limits: Limits) -> None:
        self.isolation = detect_isolation()
        self.options = Options(devices=["cpu"], limits=limits)
        self.zygote = Zygote(limits, self.isolation)
        self.zygote.start()

    def __call__(self, folder: Path, lang: str = "en") -> dict:
        set_language(lang)
        try:
            return grade(folder, self.zygote, self.options, self.isolation)
        finally:
            set_language("en")


@pytest.fixture(scope="session")
def grader():
    g = Grader(Limits(time=20.0))
    yield g
    g.zygote.close()


def failing(doc: dict) -> set[str]:
    return {e["id"] for e in doc["exercises"] if e["score"] < e["max_score"]}
