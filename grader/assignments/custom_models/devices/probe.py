"""Probe for devices.py, with real and simulated GPU counts."""

from __future__ import annotations

import importlib
import os
import sys

import torch

from .. import N_, label


def _describe(value) -> dict:
    if isinstance(value, torch.device):
        return {"type": "device", "str": str(value)}
    if isinstance(value, (list, tuple)):
        return {"type": type(value).__name__, "items": [_describe(v) for v in value]}
    return {"type": type(value).__name__, "str": str(value)[:100]}


def _with(call: str, count: int | None) -> dict:
    if count is None:
        return label(N_("{call} with this machine's real GPUs"), call=call)
    return label(N_("{call} with {count} simulated GPU(s)"), call=call, count=str(count))


def _calls(rec, mod, key: str, count: int | None, indices) -> None:
    for i in (None, *indices):
        call = "try_gpu()" if i is None else f"try_gpu({i})"
        with rec.step(f"{key}/{call}", _with(call, count)):
            rec.value(f"{key}/{call}", _describe(mod.try_gpu() if i is None else mod.try_gpu(i)))
    with rec.step(f"{key}/try_all_gpus()", _with("try_all_gpus()", count)):
        rec.value(f"{key}/try_all_gpus()", _describe(mod.try_all_gpus()))


def _learner_file(module, here: str) -> bool:
    path = getattr(module, "__file__", None)
    return isinstance(path, str) and os.path.abspath(path).startswith(here)


class _Properties:
    """What torch.cuda.get_device_properties(i) answers for a simulated GPU."""

    def __init__(self, i: int) -> None:
        self.name = f"Simulated GPU {i}"
        self.index = i
        self.major, self.minor = 8, 0
        self.total_memory = 16 * 1024**3
        self.multi_processor_count = 80
        self.is_integrated = 0
        self.is_multi_gpu_board = 0

    def __repr__(self) -> str:
        return (
            f"_CudaDeviceProperties(name='{self.name}', major=8, minor=0, "
            "total_memory=16384MB, multi_processor_count=80)"
        )


def _index(device, count: int) -> int:
    """The GPU a query names (None: the current one, 0); raise as torch does
    when it does not exist."""
    if device is None:
        i = 0
    elif isinstance(device, torch.device):
        if device.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {device}")
        i = 0 if device.index is None else device.index
    elif isinstance(device, str):
        return _index(torch.device(device), count)
    else:
        i = int(device)
    if not 0 <= i < count:
        raise AssertionError("Invalid device id")
    return i


def simulate(count: int) -> None:
    """Make every CUDA query a learner plausibly uses answer as if this
    machine had ``count`` GPUs, consistently."""
    cuda = torch.cuda

    def need_gpu():
        if count == 0:
            raise RuntimeError("No CUDA GPUs are available")

    def current_device() -> int:
        need_gpu()
        return 0

    cuda.device_count = lambda: count
    cuda.is_available = lambda: count > 0
    cuda.current_device = current_device
    cuda.get_device_properties = lambda device=None: _Properties(_index(device, count))
    cuda.get_device_name = lambda device=None: _Properties(_index(device, count)).name
    cuda.get_device_capability = lambda device=None: (_index(device, count) * 0 + 8, 0)
    cuda.mem_get_info = lambda device=None: (_index(device, count) * 0 + 15 * 1024**3, 16 * 1024**3)
    cuda.is_initialized = lambda: count > 0
    accelerator = getattr(torch, "accelerator", None)
    if accelerator is not None:
        accelerator.device_count = lambda: count
        accelerator.is_available = lambda: count > 0
        accelerator.current_accelerator = lambda check_available=False: (
            torch.device("cuda") if count > 0 else None
        )
        if hasattr(accelerator, "current_device_index"):
            accelerator.current_device_index = current_device
        if hasattr(accelerator, "current_device_idx"):
            accelerator.current_device_idx = current_device


def devices(rec, mod, t, device, params):
    # the grader names each run's observations with a key of its own (drawn
    # per run), so that only code that reads the question can answer it
    indices = [int(i) for i in params.get("indices", (0, 1, 3))]
    _calls(rec, mod, str(params.get("real", "real")), None, indices)
    here = os.path.dirname(os.path.abspath(mod.__file__)) + os.sep
    for key, count in params.get("simulated", [(str(c), c) for c in (0, 1, 2, 4)]):
        count = int(count)
        simulate(count)
        # every module of the submission is imported afresh: a helper module
        # may have read (and kept) the GPU count when it was imported
        for name in [m for m, module in list(sys.modules.items()) if _learner_file(module, here)]:
            del sys.modules[name]
        with rec.step(
            f"import/{key}",
            label(N_("import devices with {count} simulated GPU(s)"), count=str(count)),
        ) as s:
            fresh = importlib.import_module(mod.__name__)
        if s.ok:
            _calls(rec, fresh, str(key), count, indices)
