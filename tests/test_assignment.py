"""The assignment is data the grader is given: a second, small assignment
(tests/mini_assignment) is graded by the same core, and the core names no
exercise of either."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader import assignment
from grader.grading import Options, grade

from conftest import ROOT

MINI = Path(__file__).resolve().parent / "mini_assignment"


def test_an_assignment_loads_by_name_or_folder():
    course = assignment.load("custom_models")
    assert (
        course
        is assignment.default()
        is assignment.load(ROOT / "grader" / "assignments" / "custom_models")
    )
    assert "custom_models" in assignment.bundled()
    mini = assignment.load(MINI)
    assert mini.name == "mini_assignment" and mini.file_names == ("activations.py", "losses.py")
    assert [ex.id for ex in mini.exercises] == ["relu", "mse"]
    assert {c.id: c.points for c in mini.catalog().values()} == {
        "relu.values": 2,
        "mse.scalar": 1,
        "mse.value": 2,
    }
    assert mini.max_score() == 5
    # the two catalogs do not mix
    assert not set(mini.catalog()) & set(course.catalog())


def test_a_folder_that_is_not_an_assignment_is_refused(tmp_path):
    with pytest.raises(ValueError):
        assignment.load(tmp_path)
    (tmp_path / "__init__.py").write_text("")
    with pytest.raises(ValueError, match="no exercise folder"):
        assignment.load(tmp_path)


@pytest.fixture(scope="module")
def mini_docs(grader) -> dict[str, dict]:
    options = Options(devices=["cpu"], limits=grader.options.limits, assignment=str(MINI))
    folders = {
        "solutions": MINI / "solutions",
        "stubs": MINI / "exercises",
        "mse_sums": MINI / "buggy" / "mse_sums",
    }
    return {name: grade(f, grader.zygote, options, grader.isolation) for name, f in folders.items()}


def test_second_assignment_solutions_get_full_marks(mini_docs):
    doc = mini_docs["solutions"]
    mini = assignment.load(MINI)
    assert doc["score"] == doc["max_score"] == mini.max_score(), doc["tests"]
    assert [e["id"] for e in doc["exercises"]] == [ex.id for ex in mini.exercises]
    assert {t["check"] for t in doc["tests"]} == set(mini.catalog())


def test_second_assignment_stubs_are_not_implemented(mini_docs):
    doc = mini_docs["stubs"]
    assert doc["score"] == 0
    assert all(e["status"] == "not_implemented" for e in doc["exercises"])


def test_second_assignment_bug_costs_only_its_check(mini_docs):
    doc = mini_docs["mse_sums"]
    failed = {t["check"] for t in doc["tests"] if t["status"] != "passed"}
    assert failed == {"mse.value"}
    assert doc["score"] == assignment.load(MINI).max_score() - 2


def test_cli_grades_the_second_assignment_and_writes_its_reports(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "--assignment",
            str(MINI),
            "--out",
            str(out),
            str(MINI / "buggy" / "mse_sums"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "mse_sums" / "results.json").read_text())
    assert (doc["score"], doc["max_score"]) == (3, 5)
    assert [e["id"] for e in doc["exercises"]] == ["relu", "mse"]
    assert "mse is the mean of the squared errors" in (out / "mse_sums" / "report.html").read_text()


def test_the_core_names_no_exercise():
    """No module outside grader/assignments names an exercise id or file of
    either assignment (ids that are ordinary words, "devices", are left out)."""
    work = [assignment.default(), assignment.load(MINI)]
    names = {ex.id for a in work for ex in a.exercises} - {"devices"}
    names |= {f for a in work for f in a.file_names}
    alternatives = "|".join(map(re.escape, sorted(names)))
    pattern = re.compile(rf"[\"']({alternatives})[\"']")
    core = [p for p in (ROOT / "grader").rglob("*.py") if "assignments" not in p.parts]
    found = {
        f"{p.relative_to(ROOT)}: {m.group(0)}"
        for p in core
        for m in pattern.finditer(p.read_text())
    }
    assert found == set()


def test_an_unknown_assignment_names_the_bundled_ones():
    with pytest.raises(ValueError, match="bundled: custom_models"):
        assignment.load("no_such_assignment")
