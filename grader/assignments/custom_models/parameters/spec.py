"""parameters.py: nested blocks, parameter access, tied parameters."""

from __future__ import annotations

from grader.assignment import Exercise
from grader.i18n import N_
from grader.inputs import gen, randn

FILE = "parameters.py"
ORDER = 3


def nested_inputs() -> dict:
    return {"X": randn(gen(106), 3, 4)}


def tied_inputs() -> dict:
    g = gen(107)
    return {"X": randn(g, 5, 4), "G": randn(g, 5, 1)}


EXERCISES = (
    Exercise(
        id="nested_blocks",
        file=FILE,
        title=N_("Nested blocks: block1, block2, rgnet"),
        probe="nested_blocks",
        model=True,
        seed=6,
        inputs=nested_inputs,
    ),
    Exercise(
        id="parameter_access",
        file=FILE,
        title=N_("Parameter access: count_parameters and param_shapes"),
        probe="parameter_access",
        seed=7,
    ),
    Exercise(
        id="tied_parameters",
        file=FILE,
        title=N_("Tied parameters: tied_net"),
        probe="tied_parameters",
        model=True,
        seed=8,
        inputs=tied_inputs,
    ),
)
