"""The chains of modules MySequential is built from, by the probe (in the sandbox)
and by the checks (in the grader)."""

from __future__ import annotations

from torch import nn


def N_(message: str) -> str:
    """Marks a name for the catalog: the probe sends it as a step label, the
    checks quote it, and the grader translates both."""
    return message


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


CHAINS = {
    "shapes": chain_shapes,
    "square": chain_square,
    "repeated": chain_repeated,
    "long": chain_long,
}

# the chains' names in step labels and messages
CHAIN_NAMES = {
    "shapes": N_("shapes"),
    "square": N_("square"),
    "repeated": N_("repeated-module"),
    "long": N_("twelve-module"),
}
