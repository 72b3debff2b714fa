"""Probe for activations.py (runs in the sandbox)."""

from __future__ import annotations

from .. import N_, label


def relu(rec, mod, t, device, params):
    for name in ("X", "X3d"):
        X = t[name]
        with rec.step(
            f"relu/{name}",
            label(
                N_("{call} on {name} {shape}"), call="relu", name=name, shape=str(tuple(X.shape))
            ),
        ):
            out = mod.relu(X)
            rec.tensor(f"relu/{name}", out)
