"""Probes: the code that exercises learner code inside the sandbox.

A probe gets the recorder, the imported learner module, the input tensors
sent by the grader, the device name and JSON parameters.  It records
observations only; it decides nothing.
"""

from __future__ import annotations

import importlib
from typing import Callable

import torch
from torch import nn

from .. import device_audit

MODULES = ("blocks", "layers", "parameters", "initializers", "storage", "devices", "verify")

_REGISTRY: dict[str, Callable] = {}


def probe(name: str):
    def register(fn):
        _REGISTRY[name] = fn
        return fn
    return register


def get(name: str) -> Callable:
    if not _REGISTRY:
        for mod in MODULES:
            importlib.import_module(f"{__name__}.{mod}")
    return _REGISTRY[name]


# -- shared recording helpers ------------------------------------------------------
def record_parameters(rec, prefix: str, net: nn.Module) -> None:
    """Names, shapes, kinds and values of parameters, buffers and state_dict."""
    params = []
    for name, p in net.named_parameters():
        params.append({"name": name, "shape": list(p.shape),
                       "is_parameter": isinstance(p, nn.Parameter),
                       "requires_grad": bool(p.requires_grad), "device": p.device.type})
        rec.tensor(f"{prefix}param/{name}", p)
    rec.value(f"{prefix}parameters", params)
    buffers = []
    for name, b in net.named_buffers():
        buffers.append({"name": name, "shape": list(b.shape), "device": b.device.type})
        rec.tensor(f"{prefix}buffer/{name}", b)
    rec.value(f"{prefix}buffers", buffers)
    rec.value(f"{prefix}state_dict_keys", [str(k) for k in net.state_dict().keys()])


def record_state(rec, prefix: str, net: nn.Module) -> None:
    for key, value in net.state_dict().items():
        rec.tensor(f"{prefix}state/{key}", value)


def record_grads(rec, prefix: str, net: nn.Module) -> None:
    missing = []
    for name, p in net.named_parameters():
        if p.grad is None:
            missing.append(name)
        else:
            rec.tensor(f"{prefix}grad/{name}", p.grad)
    rec.value(f"{prefix}grad_missing", missing)


def forward(rec, name: str, net, X, label: str = ""):
    """Run ``net(X)``, record output (on the CPU) and where it lived."""
    given = X.clone()  # every call gets its own copy of the input
    with rec.step(name, label) as s:
        out = net(given)
        rec.value(f"{name}.type", type(out).__name__)
        if isinstance(out, torch.Tensor):
            rec.value(f"{name}.device", out.device.type)
            rec.value(f"{name}.shape", list(out.shape))
            rec.value(f"{name}.dtype", str(out.dtype).replace("torch.", ""))
            rec.tensor(name, out)
    # compared after the step, with the grader's own functions put back
    if given.shape != X.shape or not torch.equal(given, X):
        rec.value(f"{name}.input_changed", True)
    return out if s.ok else None


def move(rec, net: nn.Module, device: str) -> bool:
    with rec.step("to_device", device) as s:
        moved = net.to(device)
        rec.value("to_device.returns_self", moved is net)
        rec.value("to_device.param_devices",
                  sorted({p.device.type for p in net.parameters()}))
        rec.value("to_device.buffer_devices",
                  sorted({b.device.type for b in net.buffers()}))
    return s.ok


def audit(rec, make: Callable[[], nn.Module], inputs: tuple, device: str) -> None:
    """On the CPU, look for GPU-only device bugs in a fresh instance."""
    if device != "cpu":
        return
    with rec.step("device_audit", "forward on CPU, looking for stranded tensors"):
        net = make()
        rec.value("device_audit", device_audit.audit(net, inputs, rec.learner_frames_from_stack))


__all__ = ["probe", "get", "record_parameters", "record_grads", "record_state", "forward",
           "move", "audit", "nn", "torch"]
