"""The model that model_io saves and loads, built by the probe (in the sandbox)
and by the checks and inputs (in the grader)."""

from __future__ import annotations

from torch import nn


def N_(message: str) -> str:
    """Marks a name for the catalog: the probe sends it as a step label, the
    checks quote it, and the grader translates both."""
    return message


def io_net() -> nn.Module:
    return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


# the saved objects' names in step labels
OBJECT_NAMES = {"tensor": N_("tensor"), "list": N_("list"), "dict": N_("dict")}
