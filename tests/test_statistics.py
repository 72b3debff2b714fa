"""The statistical checks never fail a correct solution (200 seeds) and still
reject wrong distributions."""

from __future__ import annotations

import importlib.util
import math

import pytest
import torch
from torch import nn

from grader.assignments.custom_models.initializers import fixtures
from grader.assignments.custom_models.initializers.checks import LAYERS, SPECS
from grader.feedback import CheckFailed
from grader.statistics import ks_test, normal_cdf, uniform_cdf

from conftest import SOLUTIONS

SEEDS = range(200)
STATISTICAL = ("init_normal", "init_xavier", "my_init")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"reference_{name}", SOLUTIONS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reference():
    return _load("initializers")


def _weights_of(net):
    state = net.state_dict()
    return [(state[key], fan_in, fan_out) for key, fan_in, fan_out in LAYERS]


@pytest.mark.slow
@pytest.mark.parametrize("name", STATISTICAL)
def test_reference_initialiser_passes_under_200_seeds(reference, name):
    verify = SPECS[name]["weights"]
    failures = []
    for seed in SEEDS:
        torch.manual_seed(seed)
        net = fixtures.init_net()
        net.apply(getattr(reference, name))
        lin = fixtures.no_bias_linear()
        getattr(reference, name)(lin)
        for weight, fan_in, fan_out in _weights_of(net) + [(lin.weight, *fixtures.NO_BIAS)]:
            try:
                verify(weight.detach(), fan_in, fan_out, "w")
            except CheckFailed as exc:
                failures.append((seed, str(exc)))
    assert failures == []


@pytest.mark.slow
def test_reference_my_linear_init_passes_under_200_seeds():
    layers = _load("layers")
    failures = []
    for seed in SEEDS:
        torch.manual_seed(seed)
        big = layers.MyLinear(128, 256)
        wide = layers.MyLinear(2, 8192)
        for t in (big.weight, big.bias, wide.bias):
            result = ks_test(t, normal_cdf(0.0, 1.0))
            if not result.passed:
                failures.append((seed, result))
    assert failures == []


WRONG = {
    "init_normal": [
        lambda w: nn.init.normal_(w, 0, 0.1),
        lambda w: nn.init.normal_(w, 0, 1),
        lambda w: nn.init.uniform_(w, -0.0173, 0.0173),  # same std, wrong shape
        lambda w: nn.init.normal_(w, 0.005, 0.01),
    ],
    "init_xavier": [
        nn.init.xavier_normal_,
        nn.init.kaiming_uniform_,
        lambda w: nn.init.uniform_(w, -math.sqrt(6 / w.shape[1]), math.sqrt(6 / w.shape[1])),
    ],
    "my_init": [
        lambda w: nn.init.uniform_(w, -10, 10),
        lambda w: w.data.copy_(
            torch.where(torch.rand_like(w) < 0.5, 0.0, torch.empty_like(w).uniform_(5, 10))
        ),
    ],
}


@pytest.mark.parametrize("name,index", [(n, i) for n, fs in WRONG.items() for i in range(len(fs))])
def test_wrong_distribution_is_rejected(name, index):
    torch.manual_seed(1)
    weight = torch.empty(128, 256)
    with torch.no_grad():
        WRONG[name][index](weight)
    with pytest.raises(CheckFailed, match="Kolmogorov-Smirnov"):
        SPECS[name]["weights"](weight, 256, 128, "w")


def test_wrong_my_linear_init_is_rejected():
    for t in (torch.rand(128, 256), torch.randn(128, 256) * 0.1, torch.zeros(256)):
        assert not ks_test(t, normal_cdf(0.0, 1.0)).passed
    # bias look-alikes, caught with the 8192 values of MyLinear(2, 8192).bias
    torch.manual_seed(1)
    for t in (torch.rand(8192) * 2 - 1, torch.randn(8192) * 0.5, torch.randn(8192) + 0.2):
        assert not ks_test(t, normal_cdf(0.0, 1.0)).passed


@pytest.mark.slow
def test_reference_rand_weight_passes_under_200_seeds():
    blocks = _load("blocks")
    failures = []
    for seed in SEEDS:
        torch.manual_seed(seed)
        rw = blocks.FixedHiddenMLP().rand_weight
        if not ks_test(rw, uniform_cdf(0.0, 1.0)).passed:
            failures.append(seed)
    assert failures == []


def test_wrong_rand_weight_is_rejected():
    torch.manual_seed(1)
    for t in (torch.rand(20, 20) * 0.1, torch.rand(20, 20) ** 2, torch.rand(20, 20) * 0.5):
        assert not ks_test(t, uniform_cdf(0.0, 1.0)).passed


def test_statistics_messages_say_in_plain_words_what_differs():
    torch.manual_seed(1)
    weight = torch.empty(128, 256)
    nn.init.normal_(weight, 0, 0.1)
    with pytest.raises(CheckFailed) as info:
        SPECS["init_normal"]["weights"](weight, 256, 128, "w")
    text = str(info.value)
    assert "standard deviation 0.1" in text and "expected N(0, 0.01²)" in text
    assert "standard deviation about 0.01" in text
    assert text.index("standard deviation") < text.index("Kolmogorov-Smirnov")
