"""GPU-only device bugs are caught on a machine without a GPU, in learner
terms, and cost only the device check of their exercise."""

from __future__ import annotations

import pytest

from grader.assignment import default

from conftest import cases, expectation, overlay

DEVICE_BUGS = [
    c
    for c in cases("buggy")
    if "device bug" in expectation(c)["why"] and not expectation(c).get("cuda_fails")
]
GPU_ONLY_BUGS = [c for c in cases("buggy") if expectation(c).get("cuda_fails")]
MODEL_EXERCISES_WITH_CUSTOM_FORWARD = {
    "mlp",
    "my_sequential",
    "fixed_hidden_mlp",
    "centered_layer",
    "my_linear",
}


def test_every_model_exercise_with_a_forward_has_a_device_bug_case():
    covered = {ex for c in DEVICE_BUGS for ex in expectation(c)["fails"]}
    assert MODEL_EXERCISES_WITH_CUSTOM_FORWARD <= covered
    assert all(default().by_id[ex].model for ex in covered)


@pytest.mark.slow
@pytest.mark.parametrize("case", DEVICE_BUGS, ids=[c.name for c in DEVICE_BUGS])
def test_device_bug_is_caught_on_cpu_by_the_device_check(grader, case, tmp_path):
    doc = grader(overlay(case, tmp_path))
    (exercise,) = expectation(case)["fails"]
    failed = {t["check"]: t["output"] for t in doc["tests"] if t["status"] != "passed"}
    assert f"{exercise}.device" in failed, failed
    message = failed[f"{exercise}.device"]
    if "plain tensor attribute" in message:
        assert "register_buffer" in message
    else:
        assert "lives on the CPU" in message or "puts a tensor on the CPU explicitly" in message
        assert ", line " in message and ".py" in message
        assert "device=X.device" in message
    others = {c for c in failed if c != f"{exercise}.device"}
    # a plain-attribute rand_weight also breaks the buffer contract of FixedHiddenMLP
    assert others <= {"fixed_hidden_mlp.buffer"}, failed


def test_device_check_message_names_the_attribute(grader, tmp_path):
    case = next(c for c in DEVICE_BUGS if c.name == "fixed_hidden_mlp_rand_weight_plain_attribute")
    doc = grader(overlay(case, tmp_path))
    (test,) = [t for t in doc["tests"] if t["check"] == "fixed_hidden_mlp.device"]
    assert "`rand_weight` is a plain tensor attribute" in test["output"]


VALID_IDIOMS = ("device=X.device", "zeros_like(", ".new_zeros(", "torch.tensor(1.0)")


@pytest.mark.parametrize("idiom", VALID_IDIOMS)
def test_correct_corpus_exercises_each_valid_device_idiom(idiom):
    """Each idiom appears in a forward of some alternative correct solution
    (graded with full marks by tests/test_corpus.py)."""
    assert any(idiom in f.read_text() for c in cases("correct") for f in c.glob("*.py")), idiom


def test_gpu_only_device_bugs_are_listed_for_the_gpu_check():
    """A device saved in __init__ and a module-level DEVICE are right on the CPU
    by accident: tests/test_corpus.py proves they cost nothing here, and
    benchmarks/gpu_check.py that CUDA catches them in their exercise only."""
    names = {c.name for c in GPU_ONLY_BUGS}
    assert {"mlp_device_saved_in_init", "my_linear_device_module_constant"} <= names
    for case in GPU_ONLY_BUGS:
        exp = expectation(case)
        assert exp["fails"] == [] and "GPU-only device bug" in exp["why"]
        assert all(default().by_id[ex].model for ex in exp["cuda_fails"])
