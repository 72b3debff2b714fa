"""initializers.py: five initialisers, one probe."""

from __future__ import annotations

from collections.abc import Callable

from grader.assignment import Exercise
from grader.i18n import N_
from grader.inputs import seeded_state

from . import fixtures

FILE = "initializers.py"
ORDER = 4


def initializer_inputs(seed: int) -> Callable[[], dict]:
    def make() -> dict:
        state = seeded_state(seed, fixtures.init_net)
        t = {f"state/{k}": v for k, v in state.items()}
        t["no_bias/initial"] = seeded_state(7, fixtures.no_bias_linear)["weight"]
        return t

    return make


def _initializer(function: str, title: str, seed: int) -> Exercise:
    return Exercise(
        id=function,
        file=FILE,
        title=title,
        probe="initializer",
        seed=seed,
        inputs=initializer_inputs(seed),
        params={"function": function, "seed": seed},
    )


EXERCISES = (
    _initializer("init_normal", N_("init_normal: N(0, 0.01) weights, zero bias"), 9),
    _initializer("init_constant", N_("init_constant: weights 1, zero bias"), 10),
    _initializer("init_xavier", N_("init_xavier: Xavier uniform weights"), 11),
    _initializer("init_42", N_("init_42: weights 42"), 12),
    _initializer("my_init", N_("my_init: a custom distribution"), 13),
)
