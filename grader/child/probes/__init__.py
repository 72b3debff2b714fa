"""The probe toolkit: what probes use to exercise learner code in the sandbox.

A probe (a function of an exercise folder's ``probe.py``, see
``grader/assignment.py``) gets the recorder, the imported learner module, the
input tensors sent by the grader, the device name and JSON parameters
(``Probe``).  It records observations only; it decides nothing.

The exercise folders are not in the sandbox: the grader sends a folder's
``fixtures.py`` and ``probe.py``, compiled, with each run (``load_folder``), and
they are loaded here as the subpackage ``<this package>.<folder>``, so that a
probe imports this toolkit with ``from .. import forward``.  The probes that
belong to no exercise (``verify``) are built in.
"""

from __future__ import annotations

import base64
import importlib
import marshal
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import torch
from torch import nn

from .. import device_audit
from ..protocol import (
    KEY_BUFFER_DEVICES,
    KEY_DEVICE_AUDIT,
    KEY_PARAM_DEVICES,
    STEP_DEVICE_AUDIT,
    STEP_TO_DEVICE,
    SUFFIX_DEVICE,
    SUFFIX_INPUT_CHANGED,
)
from ..recorder import Recorder
from ..steps import N_, label

BUILT_IN = ("verify",)

_REGISTRY: dict[str, Callable] = {}


class Probe(Protocol):
    """What the runner calls: ``probe(rec, module, inputs, device, params)``."""

    def __call__(
        self,
        rec: Recorder,
        mod: types.ModuleType | None,
        t: Mapping[str, torch.Tensor],
        device: str,
        params: Mapping[str, Any],
    ) -> None: ...


def probe(name: str):
    """Register a built-in probe (one that belongs to no exercise)."""

    def register(fn):
        _REGISTRY[name] = fn
        return fn

    return register


def get(name: str) -> Probe:
    """A built-in probe by name."""
    if not _REGISTRY:
        for mod in BUILT_IN:
            importlib.import_module(f"{__name__}.{mod}")
    return _REGISTRY[name]


def load_folder(name: str, code: Mapping[str, str]) -> types.ModuleType:
    """Load an exercise folder's modules (``{"fixtures.py": ..., "probe.py":
    ...}``, in that order, each compiled by the grader: marshal, base64) as the
    package ``<this package>.<name>``; returns its ``probe`` module."""
    package = f"{__name__}.{name.replace('.', '_')}"
    pkg = types.ModuleType(package)
    pkg.__path__ = []
    pkg.__package__ = package
    sys.modules[package] = pkg
    for file, data in code.items():
        short = file.removesuffix(".py")
        compiled = marshal.loads(base64.b64decode(data))
        module = types.ModuleType(f"{package}.{short}")
        module.__package__ = package
        module.__file__ = compiled.co_filename
        sys.modules[module.__name__] = module
        exec(compiled, module.__dict__)  # noqa: S102 - the grader's own code
        setattr(pkg, short, module)
    return pkg.probe


# -- shared recording helpers ------------------------------------------------------
def record_parameters(rec, prefix: str, net: nn.Module) -> None:
    """Names, shapes, kinds and values of parameters, buffers and state_dict."""
    params = []
    for name, p in net.named_parameters():
        params.append(
            {
                "name": name,
                "shape": list(p.shape),
                "is_parameter": isinstance(p, nn.Parameter),
                "requires_grad": bool(p.requires_grad),
                "device": p.device.type,
            }
        )
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


def forward(rec, name: str, net, X, label: str | dict = ""):
    """Run ``net(X)``, record output (on the CPU) and where it lived."""
    given = X.clone()  # every call gets its own copy of the input
    with rec.step(name, label) as s:
        out = net(given)
        rec.value(f"{name}.type", type(out).__name__)
        if isinstance(out, torch.Tensor):
            rec.value(f"{name}{SUFFIX_DEVICE}", out.device.type)
            rec.value(f"{name}.shape", list(out.shape))
            rec.value(f"{name}.dtype", str(out.dtype).replace("torch.", ""))
            rec.tensor(name, out)
    # compared after the step, with the grader's own functions put back
    if given.shape != X.shape or not torch.equal(given, X):
        rec.value(f"{name}{SUFFIX_INPUT_CHANGED}", True)
    return out if s.ok else None


def move(rec, net: nn.Module, device: str) -> bool:
    with rec.step(STEP_TO_DEVICE, device) as s:
        moved = net.to(device)
        rec.value("to_device.returns_self", moved is net)
        rec.value(KEY_PARAM_DEVICES, sorted({p.device.type for p in net.parameters()}))
        rec.value(KEY_BUFFER_DEVICES, sorted({b.device.type for b in net.buffers()}))
    return s.ok


def audit(rec, make: Callable[[], nn.Module], inputs: tuple, device: str) -> None:
    """On the CPU, look for GPU-only device bugs in a fresh instance."""
    if device != "cpu":
        return
    with rec.step(
        STEP_DEVICE_AUDIT,
        label(N_("forward pass on the CPU, looking for tensors that would be left on the CPU")),
    ):
        net = make()
        rec.value(KEY_DEVICE_AUDIT, device_audit.audit(net, inputs, rec.learner_frames_from_stack))


def describe(module: nn.Module, depth: int = 0) -> dict:
    """A plain-data description of a module tree."""
    cls = type(module)
    info: dict = {
        "type": f"{cls.__module__}.{cls.__qualname__}",
        "is_linear": isinstance(module, nn.Linear),
        "is_relu": isinstance(module, nn.ReLU),
        "is_sequential": isinstance(module, nn.Sequential),
        "own_params": [n for n, _ in module.named_parameters(recurse=False)],
    }
    if isinstance(module, nn.Linear):
        info["in"] = module.in_features
        info["out"] = module.out_features
        info["bias"] = module.bias is not None
    if depth < 6:
        # _modules keeps a module registered twice (a tie) at both positions
        info["children"] = [
            [name, describe(child, depth + 1)]
            for name, child in module._modules.items()
            if child is not None
        ]
    return info


def describe_loaded(rec, key: str, obj) -> None:
    """Record the structure of a loaded object and its tensors."""
    if isinstance(obj, torch.Tensor):
        rec.value(key, {"type": "tensor"})
        rec.tensor(f"{key}/value", obj)
    elif isinstance(obj, (list, tuple)):
        rec.value(
            key,
            {"type": type(obj).__name__, "len": len(obj), "items": [type(v).__name__ for v in obj]},
        )
        for i, v in enumerate(obj):
            if isinstance(v, torch.Tensor):
                rec.tensor(f"{key}/{i}", v)
    elif isinstance(obj, dict):
        rec.value(
            key,
            {
                "type": type(obj).__name__,
                "keys": [str(k) for k in obj],
                "items": [type(v).__name__ for v in obj.values()],
            },
        )
        for k, v in obj.items():
            if isinstance(v, torch.Tensor):
                rec.tensor(f"{key}/{k}", v)
    else:
        rec.value(key, {"type": type(obj).__name__})


__all__ = [
    "N_",
    "Probe",
    "audit",
    "describe",
    "describe_loaded",
    "forward",
    "get",
    "label",
    "load_folder",
    "move",
    "nn",
    "probe",
    "record_grads",
    "record_parameters",
    "record_state",
    "torch",
]
