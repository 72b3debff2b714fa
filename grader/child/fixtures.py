"""Modules that the checks build on both sides of the sandbox boundary.

The probe builds them inside the sandbox to hand them to learner code; the
grader builds the same architectures in its own process to compute what the
learner code should have answered.
"""

from __future__ import annotations

import torch
from torch import nn


# -- parameter_access -----------------------------------------------------------
def plain_net() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))


def _block() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())


def nested_net(blocks: int = 2) -> nn.Module:
    outer = nn.Sequential()
    for i in range(blocks):
        outer.add_module(f"block {i}", _block())
    return nn.Sequential(outer, nn.Linear(4, 1))


def tied_net() -> nn.Module:
    shared = nn.Linear(8, 8)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(),
                         nn.Linear(8, 1))


def frozen_net() -> nn.Module:
    net = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    for p in net[0].parameters():
        p.requires_grad_(False)
    return net


def buffer_net() -> nn.Module:
    return nn.Sequential(nn.Linear(5, 7), nn.BatchNorm1d(7), nn.ReLU(), nn.Linear(7, 2))


class OwnParameter(nn.Module):
    """A module with a parameter (and a buffer) of its own besides a child's."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(3))
        self.body = nn.Sequential(nn.Linear(4, 3))
        self.register_buffer("offset", torch.zeros(3))

    def forward(self, x):  # pragma: no cover - never called
        return self.body(x) * self.scale + self.offset


def linear_net() -> nn.Module:
    """A bare layer: its parameters are its own, it has no children."""
    return nn.Linear(4, 8)


def own_parameter_net() -> nn.Module:
    return nn.Sequential(OwnParameter(), nn.ReLU(), nn.Linear(3, 2))


PARAMETER_CASES = {
    "plain": plain_net,
    "nested": nested_net,
    "tied": tied_net,
    "frozen": frozen_net,
    "buffers": buffer_net,
    "linear": linear_net,
    "own": own_parameter_net,
}


# -- my_sequential ----------------------------------------------------------------
def chain_shapes() -> list[nn.Module]:
    """Shapes force the order: a reversed or partial chain fails or differs."""
    return [nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)]


def chain_square() -> list[nn.Module]:
    """Every permutation runs; only the given order gives the right values."""
    return [nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8), nn.Sigmoid()]


def chain_repeated() -> list[nn.Module]:
    """The same module twice: it must run twice, as in nn.Sequential."""
    shared = nn.Linear(8, 8)
    return [shared, nn.Tanh(), shared]


def chain_long() -> list[nn.Module]:
    """Twelve modules: "10" and "11" come before "2" in string order, so a
    forward that sorts the children's names runs them in the wrong order."""
    return [m for _ in range(6) for m in (nn.Linear(8, 8), nn.Tanh())]


CHAINS = {"shapes": chain_shapes, "square": chain_square, "repeated": chain_repeated,
          "long": chain_long}


# -- centered_layer -------------------------------------------------------------------
# inputs the layer is run on (grader/exercises.py builds them); X3d is 3-D: the
# mean is still over all elements
CENTER_INPUTS = ("X", "Xbig", "X64", "X3d")


# -- model_io -------------------------------------------------------------------
def io_net() -> nn.Module:
    return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


# -- initialisers -----------------------------------------------------------------
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


def describe(module: nn.Module, depth: int = 0) -> dict:
    """A plain-data description of a module tree."""
    cls = type(module)
    info: dict = {
        "type": f"{cls.__module__}.{cls.__qualname__}",
        "is_linear": isinstance(module, nn.Linear),
        "is_relu": isinstance(module, nn.ReLU),
        "is_sequential": isinstance(module, nn.Sequential),
        "own_params": [n for n, _ in module.named_parameters(recurse=False)],
    }
    if isinstance(module, nn.Linear):
        info["in"] = module.in_features
        info["out"] = module.out_features
        info["bias"] = module.bias is not None
    if depth < 6:
        # _modules keeps a module registered twice (a tie) at both positions
        info["children"] = [[name, describe(child, depth + 1)]
                            for name, child in module._modules.items() if child is not None]
    return info
