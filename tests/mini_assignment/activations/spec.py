"""activations.py: relu(x), elementwise max(x, 0)."""

from __future__ import annotations

import torch

from grader.assignment import Exercise
from grader.i18n import N_
from grader.inputs import gen, randn

FILE = "activations.py"
ORDER = 1


def relu_inputs() -> dict:
    g = gen(301)
    return {"X": randn(g, 4, 6), "X3d": randn(g, 2, 3, 5, dtype=torch.float64)}


EXERCISES = (
    Exercise(
        id="relu",
        file=FILE,
        title=N_("relu: max(x, 0), elementwise"),
        probe="relu",
        seed=1,
        inputs=relu_inputs,
    ),
)
