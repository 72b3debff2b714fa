"""Hostile: forges the observations of my_sequential, model_io and devices.

Nothing is implemented (every function raises NotImplementedError).  When
imported by the grader's probe, this module finds the request in the caller's
frames, writes well-formed frames on the result channel itself (the pipe is
in its process) claiming what a correct solution would have observed, with
all-zero "reference" values where the probe used to report them (the
original model of model_io, the modules given to MySequential), the contract's
answers for the fixed device questions, and exits before the probe runs.
blocks.py and storage.py import this module, so the same happens for them.
SAFETY: it only writes to file descriptor 3 of a grader child (it checks for
the runner module) and exits that child."""

import io
import os
import sys

import torch


def _find(name):
    frame = sys._getframe()
    while frame is not None:
        if name in frame.f_locals:
            return frame.f_locals[name]
        frame = frame.f_back
    return None


def _framing():
    for mod_name, mod in list(sys.modules.items()):
        if mod_name.endswith("child.framing") and hasattr(mod, "write_frame"):
            return mod
    return None


def _runner():
    for mod_name, mod in list(sys.modules.items()):
        if mod_name.endswith("child.runner") and hasattr(mod, "RESULT_FD"):
            return mod
    return None


def _device(s):
    return {"type": "device", "str": s}


def _forge_devices(values, steps):
    for label, count in (("real", 0), ("0", 0), ("1", 1), ("2", 2), ("4", 4)):
        if label not in ("real",):
            steps.append(f"import/{label}")
        for i in (None, 0, 1, 3):
            call = "try_gpu()" if i is None else f"try_gpu({i})"
            j = 0 if i is None else i
            values[f"{label}/{call}"] = _device(f"cuda:{j}" if count >= j + 1 else "cpu")
            steps.append(f"{label}/{call}")
        values[f"{label}/try_all_gpus()"] = {
            "type": "list", "items": [_device(f"cuda:{k}") for k in range(count)]
            or [_device("cpu")]}
        steps.append(f"{label}/try_all_gpus()")
    return {}


def _forge_sequential(values, steps, tensors_in):
    from torch import nn
    tensors = {}
    chains = {"shapes": [nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)],
              "square": [nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8), nn.Sigmoid()],
              "repeated": [nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8)],
              "long": [m for _ in range(6) for m in (nn.Linear(8, 8), nn.Tanh())]}
    X = tensors_in.get("X", torch.zeros(5, 8))
    for chain, modules in chains.items():
        seq = nn.Sequential(*modules)
        for key, value in seq.state_dict().items():
            tensors[f"{chain}/given/{key}"] = torch.zeros_like(value)
        steps.append(f"{chain}/construct")
        values[f"{chain}/is_module"] = True
        values[f"{chain}/is_sequential"] = False
        values[f"{chain}/mro"] = ["blocks.MySequential", "torch.nn.modules.module.Module",
                                  "builtins.object"]
        values[f"{chain}/state_dict_keys"] = list(seq.state_dict())
        values[f"{chain}/children"] = [str(i) for i in range(len(modules))]
        n = len(list(seq.parameters()))
        values[f"{chain}/params_count"] = n
        values[f"{chain}/params_found"] = [True] * n
        if chain == "shapes":
            steps.append("to_device")
            values["to_device.param_devices"] = ["cpu"]
        steps.append(f"{chain}/out")
        out_dim = 4 if chain == "shapes" else 8
        tensors[f"{chain}/out"] = torch.zeros(X.shape[0], out_dim)   # "all-zero modules"
        values[f"{chain}/out.type"] = "Tensor"
        values[f"{chain}/out.device"] = "cpu"
    steps += ["empty/construct", "empty/out", "device_audit"]
    tensors["empty/out"] = X.clone()
    values["device_audit"] = {"attributes": [], "finding": None}
    return tensors


def _forge_model_io(values, steps):
    from torch import nn
    net = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    zero = {k: torch.zeros_like(v) for k, v in net.state_dict().items()}
    buf = io.BytesIO()
    torch.save(zero, buf)
    data = buf.getvalue()
    tensors = {"original/out": torch.zeros(7, 3), "clone/out": torch.zeros(7, 3),
               "gpu/out": torch.zeros(7, 3),
               "file.bytes": torch.frombuffer(bytearray(data), dtype=torch.uint8)}
    for key, value in zero.items():
        tensors[f"original/state/{key}"] = value
        tensors[f"clone/state/{key}"] = value
    steps += ["save", "load", "load_gpu"]
    values.update({"file.listing": ["params.bin"], "file.size": len(data), "factory_calls": 1,
                   "clone.type": "Sequential", "clone.is_original": False,
                   "clone.training": [False] * 5, "clone.shared_tensors": []})
    return tensors


def _forge():
    framing, runner = _framing(), _runner()
    req = _find("req")
    if framing is None or runner is None or not isinstance(req, dict):
        return  # SAFETY: not inside a grader child
    probe = req.get("probe")
    if probe not in ("my_sequential", "model_io", "devices"):
        return
    from safetensors.torch import save
    import json
    values, steps = {}, []
    if probe == "devices":
        tensors = _forge_devices(values, steps)
    elif probe == "my_sequential":
        tensors = _forge_sequential(values, steps, _find("tensors") or {})
    else:
        tensors = _forge_model_io(values, steps)
    fd = runner.RESULT_FD
    for name in ["import", *steps]:
        framing.write_frame(fd, {"t": "step", "name": name, "label": name})
    raw = json.dumps({"t": "result", "values": values, "errors": {}}).encode()
    payload = save({k: v.contiguous() for k, v in tensors.items()}) if tensors else b""
    framing.write_frame(fd, {"t": "result_header", "size": len(raw)}, raw + payload)
    os._exit(0)


_forge()


def try_gpu(i: int = 0) -> torch.device:
    raise NotImplementedError("try_gpu")


def try_all_gpus() -> list:
    raise NotImplementedError("try_all_gpus")
