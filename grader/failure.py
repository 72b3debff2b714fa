"""The outcome of a submission the grader itself failed to grade.

It is shown like any other result (every exercise 0, with the reason), but
carries no cache key, so the next run grades the submission again."""

from __future__ import annotations

import torch

from . import __version__
from .exercises import EXERCISES
from .observations import Observation
from .results import build_results


def grader_error_results(name: str, reason: str, options, isolation) -> dict:
    reason = reason.encode("utf-8", "backslashreplace").decode("utf-8")
    problem = {"kind": "grader_error", "detail": reason}
    observations = {ex.id: {"cpu": Observation(ex.id, "cpu", problem=dict(problem))}
                    for ex in EXERCISES}
    doc = build_results(name=name, observations=observations, outcomes={}, files={},
                        options=options, isolation=isolation, execution_time=0.0,
                        metadata={"grader_version": __version__,
                                  "torch_version": torch.__version__,
                                  "grader_error": reason})
    return doc
