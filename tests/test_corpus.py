"""Buggy submissions lose points exactly where their bug is; alternative
correct solutions get full marks."""

from __future__ import annotations

import pytest

from conftest import cases, expectation, failing, overlay

BUGGY = cases("buggy")
CORRECT = cases("correct")


def test_corpus_is_large_enough():
    assert len(BUGGY) >= 40
    assert len(CORRECT) >= 8


@pytest.mark.slow
@pytest.mark.parametrize("case", BUGGY, ids=[c.name for c in BUGGY])
def test_buggy_submission_loses_points_only_where_the_bug_is(grader, case, tmp_path):
    doc = grader(overlay(case, tmp_path))
    expected = set(expectation(case)["fails"])
    # a GPU-only bug (cuda_fails) is right on the CPU by accident: on this
    # CPU-only grader it must cost nothing (benchmarks/gpu_check.py: caught on CUDA)
    assert expected or expectation(case).get("cuda_fails"), (
        "a buggy case must name the exercises it breaks"
    )
    assert failing(doc) == expected, {
        t["check"]: t["output"] for t in doc["tests"] if t["status"] != "passed"
    }


@pytest.mark.slow
@pytest.mark.parametrize("case", CORRECT, ids=[c.name for c in CORRECT])
def test_alternative_correct_solution_gets_full_marks(grader, case, tmp_path):
    doc = grader(overlay(case, tmp_path))
    assert failing(doc) == set(), {
        t["check"]: t["output"] for t in doc["tests"] if t["status"] != "passed"
    }
