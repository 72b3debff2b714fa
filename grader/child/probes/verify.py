"""Runs in the sandbox without learner code: reads files that learner code
wrote, the way another program would (``torch.load(..., weights_only=True)``)."""

from __future__ import annotations

import os

import torch

from . import describe_loaded, probe


@probe("verify_torch_file")
def verify_torch_file(rec, mod, t, device, params):
    for i, key in enumerate(params.get("files", [])):
        path = os.path.join(os.getcwd(), ".scratch", f"file{i}.bin")
        with open(path, "wb") as fh:
            fh.write(t[key].numpy().tobytes())
        with rec.step(key, "torch.load(path, weights_only=True)"):
            describe_loaded(rec, key, torch.load(path, weights_only=True, map_location="cpu"))
