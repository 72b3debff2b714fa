"""Probe for devices.py, with real and simulated GPU counts."""

from __future__ import annotations

import importlib
import os
import sys

import torch

from . import probe


def _describe(value) -> dict:
    if isinstance(value, torch.device):
        return {"type": "device", "str": str(value)}
    if isinstance(value, (list, tuple)):
        return {"type": type(value).__name__, "items": [_describe(v) for v in value]}
    return {"type": type(value).__name__, "str": str(value)[:100]}


def _calls(rec, mod, label: str) -> None:
    for i in (None, 0, 1, 3):
        call = "try_gpu()" if i is None else f"try_gpu({i})"
        with rec.step(f"{label}/{call}", f"{call} with {label} GPU(s)"):
            rec.value(f"{label}/{call}", _describe(mod.try_gpu() if i is None else mod.try_gpu(i)))
    with rec.step(f"{label}/try_all_gpus()", f"try_all_gpus() with {label} GPU(s)"):
        rec.value(f"{label}/try_all_gpus()", _describe(mod.try_all_gpus()))


def _learner_file(module, here: str) -> bool:
    path = getattr(module, "__file__", None)
    return isinstance(path, str) and os.path.abspath(path).startswith(here)


@probe("devices")
def devices(rec, mod, t, device, params):
    _calls(rec, mod, "real")
    here = os.path.dirname(os.path.abspath(mod.__file__)) + os.sep
    accelerator = getattr(torch, "accelerator", None)
    for count in params.get("simulated", (0, 1, 2, 4)):
        torch.cuda.device_count = lambda count=count: count
        torch.cuda.is_available = lambda count=count: count > 0
        if accelerator is not None:
            accelerator.device_count = lambda count=count: count
            accelerator.is_available = lambda count=count: count > 0
        # every module of the submission is imported afresh: a helper module
        # may have read (and kept) the GPU count when it was imported
        for name in [m for m, module in list(sys.modules.items())
                     if _learner_file(module, here)]:
            del sys.modules[name]
        with rec.step(f"import/{count}", f"import devices with {count} simulated GPU(s)") as s:
            fresh = importlib.import_module(mod.__name__)
        if s.ok:
            _calls(rec, fresh, str(count))
