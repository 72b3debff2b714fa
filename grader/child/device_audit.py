"""Finds, on a machine without a GPU, the two bugs that only show on one.

1. A tensor kept as a plain attribute (not a parameter, not a buffer): it
   stays on the CPU when the module moves with ``.to(device)``.
2. A tensor created inside ``forward`` without ``device=``: it lives on the
   CPU whatever device the input is on.

The forward pass runs for real, on the CPU, under a ``TorchFunctionMode``
that tags such tensors as "stranded" and reports the first operation that
mixes a stranded tensor (not 0-dim) with a tensor that follows the model
(the input, parameters, buffers and everything computed from them).  Because
values are real, data-dependent control flow works.  Tensors created with
``device=...``, by ``*_like`` or ``Tensor.new_*`` functions, moved with
``.to(x)``/``.to(x.device)``, 0-dim tensors and Python numbers are never
stranded, so a correct module is never flagged.
"""

from __future__ import annotations

import traceback

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

_TAG = "_grader_stranded"

FACTORIES = {
    torch.zeros, torch.ones, torch.empty, torch.full, torch.rand, torch.randn, torch.randint,
    torch.randperm, torch.arange, torch.linspace, torch.logspace, torch.eye, torch.tensor,
    torch.as_tensor, torch.normal, torch.from_numpy, torch.empty_strided,
}
_MOVERS = {torch.Tensor.to, torch.Tensor.cuda, torch.Tensor.type_as}
_CPU = {torch.Tensor.cpu}


def plain_tensor_attributes(module: nn.Module) -> list[tuple[str, torch.Tensor]]:
    found = []
    for prefix, sub in module.named_modules():
        registered = set(sub._parameters) | set(sub._buffers)
        for name, value in vars(sub).items():
            if name in registered or name.startswith("_"):
                continue
            items = []
            if isinstance(value, torch.Tensor):
                items = [(name, value)]
            elif isinstance(value, (list, tuple)):
                items = [(f"{name}[{i}]", v) for i, v in enumerate(value)
                         if isinstance(v, torch.Tensor)]
            elif isinstance(value, dict):
                items = [(f"{name}[{k!r}]", v) for k, v in value.items()
                         if isinstance(v, torch.Tensor)]
            for label, tensor in items:
                if isinstance(tensor, nn.Parameter) or tensor.dim() == 0:
                    continue
                found.append((f"{prefix}.{label}" if prefix else label, tensor))
    return found


def _tensors(obj, out: list) -> list:
    if isinstance(obj, torch.Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            _tensors(item, out)
    elif isinstance(obj, dict):
        for item in obj.values():
            _tensors(item, out)
    return out


def _gives_device(args, kwargs) -> bool:
    for value in list(args[1:]) + list(kwargs.values()):
        if isinstance(value, (torch.device, torch.Tensor)):
            return True
        if isinstance(value, str) and value.split(":")[0] in ("cuda", "cpu", "meta", "mps", "xpu"):
            return True
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
                and len(args) > 1 and args[1] is value:
            return True
    return False


class StrandedTensorMode(TorchFunctionMode):
    def __init__(self, learner_frames) -> None:
        super().__init__()
        self.learner_frames = learner_frames
        self.finding: dict | None = None

    def _origin(self, what: str) -> dict:
        frames = self.learner_frames(traceback.extract_stack()[:-2])
        return {"what": what, "frames": frames}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        if func in FACTORIES:
            if kwargs.get("device") is None and isinstance(result, torch.Tensor) \
                    and result.dim() > 0:
                _tag(result, self._origin(getattr(func, "__name__", "factory")))
            return result
        if func in _MOVERS:
            if _gives_device(args, kwargs) or func is not torch.Tensor.to:
                _untag(result)  # on the CPU a move to the CPU returns the same object
            elif args and _stranded(args[0]):
                _tag(result, getattr(args[0], _TAG))
            return result
        if func in _CPU:
            if isinstance(result, torch.Tensor) and result.dim() > 0:
                _tag(result, self._origin("cpu()"))
            return result
        inputs = _tensors(list(args), [])
        _tensors(kwargs, inputs)
        stranded = [t for t in inputs if _stranded(t) and t.dim() > 0]
        following = [t for t in inputs if not _stranded(t) and t.dim() > 0]
        if stranded and following and self.finding is None:
            self.finding = {
                "created": getattr(stranded[0], _TAG),
                "used": self._origin(getattr(func, "__name__", str(func))),
            }
        if stranded and not following:
            for out in _tensors(result, []):
                if out.dim() > 0:
                    _tag(out, getattr(stranded[0], _TAG))
        return result


def _stranded(t) -> bool:
    return isinstance(t, torch.Tensor) and hasattr(t, _TAG)


def _tag(t, origin) -> None:
    if isinstance(t, torch.Tensor) and not isinstance(t, nn.Parameter):
        try:
            setattr(t, _TAG, origin)
        except (AttributeError, RuntimeError):
            pass


def _untag(t) -> None:
    if _stranded(t):
        try:
            delattr(t, _TAG)
        except AttributeError:
            pass


def audit(module: nn.Module, inputs: tuple, learner_frames) -> dict:
    """Run ``module(*inputs)`` on the CPU and report the device bugs found."""
    attributes = []
    for name, tensor in plain_tensor_attributes(module):
        attributes.append({"name": name, "shape": list(tensor.shape)})
        _tag(tensor, {"what": "attribute", "attribute": name, "frames": []})
    mode = StrandedTensorMode(learner_frames)
    with torch.no_grad(), mode:
        module(*inputs)
    for _name, tensor in plain_tensor_attributes(module):
        _untag(tensor)
    return {"attributes": attributes, "finding": mode.finding}
