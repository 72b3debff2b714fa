"""The network the initialisers are applied to, built by the probe (in the
sandbox) and by the checks and inputs (in the grader)."""

from __future__ import annotations

import torch
from torch import nn


class Scale(nn.Module):
    """A non-Linear module that also has a parameter called ``weight``."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full((5,), 2.5))

    def forward(self, x):  # pragma: no cover - never called
        return x * self.weight


def init_net() -> nn.Sequential:
    """A big Linear first (for the statistics), then modules an initialiser
    must leave alone."""
    return nn.Sequential(
        nn.Linear(256, 128),
        nn.ReLU(),
        nn.BatchNorm1d(128),
        nn.LayerNorm(128),
        nn.Conv1d(2, 3, 3),
        Scale(),
        nn.Linear(128, 64),
        nn.Conv2d(2, 3, 3),
        nn.Embedding(10, 4),
        nn.BatchNorm2d(3),
    )


UNTOUCHED = ("2", "3", "4", "5", "7", "8", "9")  # indices of the modules that must not change


def linear_weights(net: nn.Module) -> tuple[tuple[str, int, int], ...]:
    """The weights of ``init_net()``'s Linear layers, which the checks judge
    statistically: (state_dict key, fan_in, fan_out)."""
    return tuple(
        (f"{name}.weight", m.in_features, m.out_features)
        for name, m in net.named_children()
        if isinstance(m, nn.Linear)
    )


# the layer without bias every initialiser must handle too: (in_features, out_features)
NO_BIAS = (30, 20)
NO_BIAS_CODE = f"nn.Linear({NO_BIAS[0]}, {NO_BIAS[1]}, bias=False)"


def no_bias_linear() -> nn.Linear:
    return nn.Linear(*NO_BIAS, bias=False)
