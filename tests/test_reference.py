"""The reference solutions get full marks; the stubs get nothing."""

from __future__ import annotations

from grader.assignment import default

from conftest import EXERCISES, SOLUTIONS, failing


def test_solutions_get_full_marks(grader):
    doc = grader(SOLUTIONS)
    assert failing(doc) == set(), [t["output"] for t in doc["tests"] if t["status"] != "passed"]
    assert doc["score"] == doc["max_score"] > 0
    assert [e["id"] for e in doc["exercises"]] == [ex.id for ex in default().exercises]
    assert doc["max_score"] == default().max_score()


def test_stubs_get_zero_and_say_not_implemented(grader):
    doc = grader(EXERCISES)
    assert doc["score"] == 0
    for ex in doc["exercises"]:
        assert ex["status"] == "not_implemented", ex
        assert "not implemented yet" in ex["problem"]["message"]
        assert "Traceback" not in ex["problem"]["message"]


def test_every_check_has_a_title_and_hint_and_points(grader):
    doc = grader(SOLUTIONS)
    for t in doc["tests"]:
        assert t["title"] and t["hint"] and t["max_score"] > 0
        assert t["exercise"] in t["check"]
        assert set(t["devices"]) == {"cpu"}
