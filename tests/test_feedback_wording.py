"""Feedback in learner terms: what went wrong, where, and nothing beside the point."""

from __future__ import annotations

import pytest

from grader.i18n import set_language
from grader.steps import label, translate

from conftest import DATA, failing, overlay

_DOCS: dict = {}


@pytest.fixture
def graded(grader, tmp_path):
    def run(case: str, lang: str = "en") -> dict:
        if (case, lang) not in _DOCS:
            _DOCS[case, lang] = grader(overlay(DATA / case, tmp_path), lang=lang)
        return _DOCS[case, lang]

    return run


def _failed(doc: dict, exercise: str) -> dict[str, dict]:
    return {
        t["check"]: t for t in doc["tests"] if t["exercise"] == exercise and t["status"] != "passed"
    }


def test_a_transposed_weight_is_reported_as_shapes_not_as_a_grader_crash(graded):
    doc = graded("buggy/my_linear_transposed_weight")
    failed = _failed(doc, "my_linear")
    assert "my_linear.gradients" in failed and "my_linear.in_sequential" in failed
    for t in failed.values():
        assert "internal error" not in t["output"], t["output"]
    assert (
        "weight of MyLinear(64, 8) has shape (8, 64); expected (64, 8)"
        in failed["my_linear.in_sequential"]["output"]
    )


def test_an_in_place_change_of_the_input_is_said_as_such(graded):
    doc = graded("buggy/mlp_input_normalised_in_place")
    failed = _failed(doc, "mlp")
    assert "forward changed its input X in place" in failed["mlp.formula"]["output"]
    assert "forward changed its input X in place" in failed["mlp.gradients"]["output"]
    # every call got its own copy: the output shapes and the rest are unaffected
    assert set(failed) == {"mlp.formula", "mlp.gradients"}


def test_after_an_import_failure_only_the_import_failure_is_shown(graded):
    doc = graded("buggy/blocks_syntax_error_imported_by_parameters")
    failed = _failed(doc, "mlp")
    assert len(failed) == 6
    for t in failed.values():
        assert t["output"].startswith("blocks.py: SyntaxError")
        assert t["hint"] == ""


@pytest.mark.parametrize(
    "case", ["buggy/mlp_device_input_to_cpu_string", "buggy/my_linear_device_output_to_cpu"]
)
def test_a_tensor_pinned_to_the_cpu_is_named_with_its_code(graded, case):
    doc = graded(case)
    ex = case.split("/")[1].split("_device")[0]
    msg = _failed(doc, ex)[f"{ex}.device"]
    assert "puts a tensor on the CPU explicitly" in msg["output"]
    assert "cpu()()" not in msg["output"]
    if ex == "my_linear":
        assert "register_buffer" not in msg["hint"]


@pytest.mark.slow
def test_one_bug_one_penalty(graded):
    assert set(_failed(graded("buggy/init_normal_std_0_1"), "init_normal")) == {
        "init_normal.weights"
    }
    assert set(_failed(graded("buggy/load_params_no_eval"), "model_io")) == {"model_io.eval_mode"}
    assert set(_failed(graded("buggy/try_all_gpus_empty_without_gpu"), "devices")) == {
        "devices.try_all_gpus_no_gpu"
    }


def test_statistics_in_plain_words(graded):
    msg = _failed(graded("buggy/init_normal_std_0_1"), "init_normal")["init_normal.weights"]
    assert "standard deviation 0.09" in msg["output"] or "standard deviation 0.1" in msg["output"]
    assert "expected N(0, 0.01²): mean about 0, standard deviation about 0.01" in msg["output"]


def test_children_that_skip_a_repeated_module_are_explained(graded):
    msg = _failed(graded("buggy/my_sequential_children_skips_repeats"), "my_sequential")[
        "my_sequential.output"
    ]
    assert "self.children()" in msg["output"] and "must run twice" in msg["output"]


def test_no_grader_warning_is_shown_as_learner_output(graded):
    doc = graded("correct/parameters_shapes_torch_size")
    assert failing(doc) == set()
    for ex in doc["exercises"]:
        assert "gchild" not in ex["output"], ex["output"]


def test_spanish_labels_have_no_english_left():
    set_language("es")
    try:
        assert (
            translate(
                label(
                    "{call} on {name} {shape}",
                    call="CenteredLayer.forward",
                    name="X",
                    shape="(4, 8)",
                )
            )
            == "CenteredLayer.forward sobre X (4, 8)"
        )
        assert (
            translate(
                label(
                    "{call} on {name} of shape {shape}",
                    call="MLP.forward",
                    name="X",
                    shape="(3, 20)",
                )
            )
            == "MLP.forward sobre X de forma (3, 20)"
        )
        assert (
            translate(label("count_parameters(<{case} network>)", case=label("buffered")))
            == "count_parameters(<red con buffers>)"
        )
    finally:
        set_language("en")
