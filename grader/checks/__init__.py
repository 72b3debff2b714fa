"""The hidden checks, as pytest tests run in the grader's own process.

Each test is declared with ``@check(...)`` and takes one argument, ``o``: the
``Observation`` of its exercise on one device (the plugin in
``grader/checking.py`` parametrizes it).  Tests never see learner code, only
observations, and compute what is expected themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

CHECK_MODULES = ("test_blocks", "test_layers", "test_parameters", "test_initializers",
                 "test_storage", "test_devices")


@dataclass(frozen=True)
class CheckInfo:
    id: str
    exercise: str
    title: str      # N_-marked
    hint: str       # N_-marked
    points: float
    order: int


CATALOG: dict[str, CheckInfo] = {}


def check(exercise: str, name: str, *, title: str, hint: str, points: float = 1.0):
    """Declare a hidden check of ``exercise`` worth ``points``."""
    cid = f"{exercise}.{name}"

    def register(fn):
        if cid in CATALOG:
            raise ValueError(f"check {cid} declared twice")
        CATALOG[cid] = CheckInfo(cid, exercise, title, hint, points, len(CATALOG))
        return pytest.mark.grader_check(id=cid, exercise=exercise)(fn)

    return register


def load_catalog() -> dict[str, CheckInfo]:
    import importlib

    for name in CHECK_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return CATALOG


def checks_of(exercise: str) -> list[CheckInfo]:
    return sorted((c for c in load_catalog().values() if c.exercise == exercise),
                  key=lambda c: c.order)
