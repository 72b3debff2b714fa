"""Step labels as they cross the sandbox boundary.

A probe names each step it takes in the learner's code.  A label that is code
(``MLP()``, ``save_tensors(tensor, path)``) is a plain string, shown as sent.
A label in words is a catalog message id with fields, ``label(N_("backward
pass through {model}"), model="MLP")``: ``{"msgid": ..., "fields": {...}}``,
translated in the grader (``grader/steps.py``).  A field may itself be such a
label (a test network's name, translated too).
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Marks ``message`` for the catalog (``pybabel extract``); the grader translates it."""
    return message


def label(msgid: str, **fields) -> dict:
    return {"msgid": msgid, "fields": fields}
