"""Each check fails only for its own property: one bug, one penalty.

The checks are called directly on hand-made observations (what a probe would
have recorded), so that the test pins the check's logic, not a probe's."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from grader.assignments.custom_models.initializers import checks as inits
from grader.assignments.custom_models.initializers import fixtures
from grader.checks.common import inputs
from grader.feedback import CheckFailed
from grader.observations import Observation


def _init_observation(name: str, init) -> Observation:
    """What the initializer probe records for ``init`` applied to the grader's net."""
    t = inputs(name)
    net = fixtures.init_net()
    with torch.no_grad():
        for key, value in net.state_dict().items():
            value.copy_(t[f"state/{key}"])
    net.apply(init)
    lin = fixtures.no_bias_linear()
    with torch.no_grad():
        lin.weight.copy_(t["no_bias/initial"])
    init(lin)
    tensors = {f"after/{k}": v.detach().clone() for k, v in net.state_dict().items()}
    tensors["no_bias/weight"] = lin.weight.detach().clone()
    return Observation(
        name,
        "cpu",
        values={
            "same_objects": True,
            "optimizer_sees": True,
            "is_parameter": [True],
            "requires_grad": [True],
        },
        tensors=tensors,
        steps=[("apply", ""), ("no_bias", "")],
    )


def _wrong_std(m):
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, 0, 0.1)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def _forgets_weight_without_bias(m):
    if isinstance(m, nn.Linear) and m.bias is not None:
        nn.init.normal_(m.weight, 0, 0.01)
        nn.init.zeros_(m.bias)


def test_a_wrong_distribution_fails_the_weights_check_only():
    torch.manual_seed(0)
    o = _init_observation("init_normal", _wrong_std)
    with pytest.raises(CheckFailed, match="standard deviation"):
        inits.test_init_normal_weights(o)
    inits.test_init_normal_no_bias(o)  # "Works on nn.Linear(..., bias=False)": it does
    inits.test_init_normal_bias(o)
    inits.test_init_normal_others_untouched(o)


def test_a_bias_false_bug_still_fails_the_bias_false_check():
    torch.manual_seed(0)
    o = _init_observation("init_normal", _forgets_weight_without_bias)
    inits.test_init_normal_weights(o)
    with pytest.raises(CheckFailed):
        inits.test_init_normal_no_bias(o)
