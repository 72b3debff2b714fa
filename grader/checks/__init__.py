"""The hidden checks' declaration, for the ``checks.py`` of every exercise
folder (see ``grader/assignment.py``).

Each check is a pytest test declared with ``@check(...)`` that takes one
argument, ``o``: the ``Observation`` of its exercise on one device (the plugin
in ``grader/checking.py`` parametrizes it).  Checks never see learner code,
only observations, and compute what is expected themselves.  An assignment
imports its check modules to learn their titles, hints and points
(``Assignment.catalog``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class CheckInfo:
    id: str
    exercise: str
    title: str  # N_-marked
    hint: str  # N_-marked
    points: float
    order: int
    module: str  # the check module that declares it


CATALOG: dict[str, CheckInfo] = {}


def check(exercise: str, name: str, *, title: str, hint: str, points: float = 1.0):
    """Declare a hidden check of ``exercise`` worth ``points``."""
    cid = f"{exercise}.{name}"

    def register(fn):
        if cid in CATALOG:
            raise ValueError(f"check {cid} declared twice")
        CATALOG[cid] = CheckInfo(cid, exercise, title, hint, points, len(CATALOG), fn.__module__)
        return pytest.mark.grader_check(id=cid, exercise=exercise)(fn)

    return register
