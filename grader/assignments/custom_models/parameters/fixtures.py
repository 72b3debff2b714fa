"""The test networks of parameter_access and tied_parameters, built by the probe
(in the sandbox) and by the checks (in the grader)."""

from __future__ import annotations

import torch
from torch import nn


def N_(message: str) -> str:
    """Marks a name for the catalog: the probe sends it as a step label, the
    checks quote it, and the grader translates both."""
    return message


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
    return nn.Sequential(
        nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1)
    )


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

# the test networks' names in step labels and messages
CASE_NAMES = {
    "plain": N_("plain"),
    "nested": N_("nested"),
    "tied": N_("tied"),
    "frozen": N_("frozen"),
    "buffers": N_("buffered"),
    "linear": N_("bare nn.Linear(4, 8)"),
    "own": N_("own-parameter"),
}
