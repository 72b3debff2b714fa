"""losses.py: mse(pred, target), the mean squared error."""

from __future__ import annotations

from grader.assignment import Exercise
from grader.i18n import N_
from grader.inputs import gen, randn

FILE = "losses.py"
ORDER = 2


def mse_inputs() -> dict:
    g = gen(302)
    return {"pred": randn(g, 8, 3), "target": randn(g, 8, 3)}


EXERCISES = (
    Exercise(
        id="mse",
        file=FILE,
        title=N_("mse: the mean squared error"),
        probe="mse",
        seed=2,
        inputs=mse_inputs,
    ),
)
