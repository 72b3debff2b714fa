"""Probe for devices.py, with real and simulated GPU counts."""

from __future__ import annotations

import importlib
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


@probe("devices")
def devices(rec, mod, t, device, params):
    _calls(rec, mod, "real")
    for count in params.get("simulated", (0, 1, 2, 4)):
        torch.cuda.device_count = lambda count=count: count
        torch.cuda.is_available = lambda count=count: count > 0
        for name in [m for m in sys.modules if m == mod.__name__]:
            del sys.modules[name]
        with rec.step(f"import/{count}", f"import devices with {count} simulated GPU(s)") as s:
            fresh = importlib.import_module(mod.__name__)
        if s.ok:
            _calls(rec, fresh, str(count))
