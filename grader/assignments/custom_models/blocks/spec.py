"""blocks.py: MLP, MySequential, FixedHiddenMLP."""

from __future__ import annotations

import torch

from grader.assignment import Exercise
from grader.i18n import N_
from grader.inputs import gen, randn, seeded_state

from . import fixtures

FILE = "blocks.py"
ORDER = 1


def mlp_inputs() -> dict:
    g = gen(101)
    return {
        "X1": randn(g, 1, 20),
        "X3": randn(g, 3, 20),
        "X64": randn(g, 64, 20),
        "G": randn(g, 64, 10),
    }


def seq_inputs() -> dict:
    t = {"X": randn(gen(102), 5, 8)}
    for chain, make in fixtures.CHAINS.items():
        state = seeded_state(len(chain), lambda make=make: torch.nn.Sequential(*make()))
        t.update({f"{chain}/given/{k}": v for k, v in state.items()})
    return t


def fixed_inputs() -> dict:
    return {"X": torch.rand(2, 20, generator=gen(103))}


EXERCISES = (
    Exercise(
        id="mlp",
        file=FILE,
        title=N_("MLP: a block with two layers"),
        probe="mlp",
        model=True,
        seed=1,
        inputs=mlp_inputs,
    ),
    Exercise(
        id="my_sequential",
        file=FILE,
        title=N_("MySequential: your own container"),
        probe="my_sequential",
        model=True,
        seed=2,
        inputs=seq_inputs,
    ),
    Exercise(
        id="fixed_hidden_mlp",
        file=FILE,
        title=N_("FixedHiddenMLP: constants and control flow"),
        probe="fixed_hidden_mlp",
        model=True,
        seed=3,
        inputs=fixed_inputs,
        # rand_weight's device has a check of its own
        device_exempt=("rand_weight",),
    ),
)
