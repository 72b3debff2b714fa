"""layers.py: CenteredLayer, MyLinear."""

from __future__ import annotations

import torch

from grader.assignment import Exercise
from grader.i18n import N_
from grader.inputs import gen, randn, seeded_state

FILE = "layers.py"
ORDER = 2


def centered_inputs() -> dict:
    g = gen(104)
    seq = seeded_state(3, lambda: torch.nn.Linear(8, 128))
    return {
        "X": randn(g, 4, 8) * 3 + 2,
        "G": randn(g, 4, 8),
        "Xbig": randn(g, 64, 256) * 100 + 1000,
        "X64": randn(g, 16, 16, dtype=torch.float64) + 5,
        "X3d": randn(g, 3, 4, 5) * 2 - 1,
        "seq/weight": seq["weight"],
        "seq/bias": seq["bias"],
    }


def linear_inputs() -> dict:
    g = gen(105)
    return {"X": randn(g, 6, 5), "G": randn(g, 6, 3), "X64": randn(g, 4, 64)}


EXERCISES = (
    Exercise(
        id="centered_layer",
        file=FILE,
        title=N_("CenteredLayer: a layer without parameters"),
        probe="centered_layer",
        model=True,
        seed=4,
        inputs=centered_inputs,
    ),
    Exercise(
        id="my_linear",
        file=FILE,
        title=N_("MyLinear: a layer with parameters"),
        probe="my_linear",
        model=True,
        seed=5,
        inputs=linear_inputs,
    ),
)
