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

A tensor that reaches an operation without being any of those (a module-level
or class-level constant, an attribute the inspection does not list, a tensor
made by a constructor that bypasses torch functions) is "foreign": it is on
the CPU whatever the model's device, and is treated like a stranded one unless
it is 0-dim or shares memory with a tensor that follows the model (``.data``).
Copying into a tensor on the right device (``copy_``, ``new_tensor``,
``X[i] = t``) and indexing with CPU index tensors work on a GPU and are not
flagged.
"""

from __future__ import annotations

import re
import traceback

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

_TAG = "_grader_stranded"

FACTORIES = {
    torch.zeros,
    torch.ones,
    torch.empty,
    torch.full,
    torch.rand,
    torch.randn,
    torch.randint,
    torch.randperm,
    torch.arange,
    torch.linspace,
    torch.logspace,
    torch.eye,
    torch.tensor,
    torch.as_tensor,
    torch.normal,
    torch.from_numpy,
    torch.empty_strided,
}
_MOVERS = {torch.Tensor.to, torch.Tensor.cuda, torch.Tensor.type_as}
_CPU = {torch.Tensor.cpu}
# cross-device on a GPU too: the destination (first argument) decides the device
_INTO = {
    torch.Tensor.copy_,
    torch.Tensor.new_tensor,
    torch.Tensor.__setitem__,
    torch.Tensor.__getitem__,
}
for _name in ("asarray", "scalar_tensor", "frombuffer", "tril_indices", "triu_indices"):
    if hasattr(torch, _name):
        FACTORIES.add(getattr(torch, _name))


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
                items = [
                    (f"{name}[{i}]", v) for i, v in enumerate(value) if isinstance(v, torch.Tensor)
                ]
            elif isinstance(value, dict):
                items = [
                    (f"{name}[{k!r}]", v) for k, v in value.items() if isinstance(v, torch.Tensor)
                ]
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
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value >= 0
            and len(args) > 1
            and args[1] is value
        ):
            return True
    return False


_CPU_LITERAL = re.compile(r"""(['"])cpu(:\d+)?\1""")


def _device_arg(func, args, kwargs):
    """The device a factory or ``Tensor.to`` call was given, if any."""
    if "device" in kwargs:
        return kwargs["device"]
    if func is torch.Tensor.to:
        for value in args[1:]:
            if isinstance(value, (str, torch.device)):
                return value
    return None


def _is_cpu(device) -> bool:
    if isinstance(device, torch.device):
        return device.type == "cpu"
    return isinstance(device, str) and device.split(":")[0] == "cpu"


class StrandedTensorMode(TorchFunctionMode):
    def __init__(self, learner_frames, following: list) -> None:
        super().__init__()
        self.learner_frames = learner_frames
        self.finding: dict | None = None
        self.known: dict[int, torch.Tensor] = {}  # strong refs: ids stay unique
        self.storages: set[int] = set()
        # foreign tensors that cannot carry a tag (parameters of unregistered modules)
        self.foreign: dict[int, tuple[torch.Tensor, dict]] = {}
        for t in following:
            self.follow(t)

    def follow(self, t) -> None:
        if isinstance(t, torch.Tensor) and id(t) not in self.known:
            self.known[id(t)] = t
            try:
                self.storages.add(t.untyped_storage().data_ptr())
            except (RuntimeError, NotImplementedError, AttributeError):
                pass

    def follows(self, t: torch.Tensor) -> bool:
        if id(t) in self.known:
            return True
        try:
            return t.untyped_storage().data_ptr() in self.storages
        except (RuntimeError, NotImplementedError, AttributeError):
            return True  # no storage to judge by: give it the benefit of the doubt

    def classify(self, t: torch.Tensor) -> str:
        """ "stranded", "following" or "scalar"; tags foreign tensors stranded."""
        if t.dim() == 0:
            return "scalar"
        if self.stranded(t):
            return "stranded"
        if self.follows(t):
            return "following"
        origin = self._origin(
            "unregistered_parameter" if isinstance(t, nn.Parameter) else "foreign"
        )
        _tag(t, origin)
        if not _stranded(t):
            self.foreign[id(t)] = (t, origin)
        return "stranded"

    def stranded(self, t) -> bool:
        return _stranded(t) or (isinstance(t, torch.Tensor) and id(t) in self.foreign)

    def origin_of(self, t) -> dict:
        if _stranded(t):
            return getattr(t, _TAG)
        return self.foreign.get(id(t), (None, {"what": "foreign", "frames": []}))[1]

    def _origin(self, what: str) -> dict:
        frames = self.learner_frames(traceback.extract_stack()[:-2])
        return {"what": what, "frames": frames}

    def _pinned_to_cpu(self, func, args, kwargs) -> dict | None:
        """A call that names the CPU in the learner's own line (``device="cpu"``,
        ``.to("cpu")``, ``torch.device("cpu")``): on a GPU its result stays on
        the CPU.  On this CPU-only machine the device value alone cannot tell
        it from ``device=X.device``, so the line of code decides."""
        if not _is_cpu(_device_arg(func, args, kwargs)):
            return None
        origin = self._origin("cpu_literal")
        frames = origin["frames"]
        code = str(frames[-1].get("code", "")).split("#", 1)[0] if frames else ""
        return origin if _CPU_LITERAL.search(code) else None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        outputs = _tensors(result, [])
        inputs = _tensors(list(args), [])
        _tensors(kwargs, inputs)
        if func in FACTORIES or (not inputs and outputs):
            # made from Python data: on the CPU unless a device was given; made
            # from a tensor that follows the model (torch.as_tensor(X),
            # torch.normal(X, 1.0)): on that tensor's device
            from_following = any(self.classify(t) == "following" for t in inputs)
            pinned = self._pinned_to_cpu(func, args, kwargs)
            if pinned is not None:
                for out in outputs:
                    if out.dim() > 0:
                        _tag(out, pinned)
            elif kwargs.get("device") is None and not from_following:
                for out in outputs:
                    if out.dim() > 0:
                        _tag(out, self._origin(getattr(func, "__name__", "factory")))
            else:
                for out in outputs:
                    self.follow(out)
            return result
        if func in _MOVERS:
            pinned = self._pinned_to_cpu(func, args, kwargs) if func is torch.Tensor.to else None
            if pinned is not None:
                if isinstance(result, torch.Tensor) and result.dim() > 0:
                    if result is args[0]:  # on the CPU, .to("cpu") returns its input
                        result = result.view_as(result)
                    _tag(result, pinned)
            elif _gives_device(args, kwargs) or func is not torch.Tensor.to:
                _untag(result)  # on the CPU a move to the CPU returns the same object
                self.follow(result)
            elif (
                args and isinstance(args[0], torch.Tensor) and self.classify(args[0]) == "stranded"
            ):
                _tag(result, self.origin_of(args[0]))
            else:
                self.follow(result)
            return result
        if func in _CPU:
            if isinstance(result, torch.Tensor) and result.dim() > 0:
                _tag(result, self._origin("cpu()"))
            return result
        if func in _INTO:
            target = args[0] if args and isinstance(args[0], torch.Tensor) else None
            if target is not None and self.classify(target) != "stranded":
                for out in outputs:
                    _untag(out)
                    self.follow(out)
            elif target is not None:
                for out in outputs:
                    if out.dim() > 0 and out is not target:
                        _tag(out, self.origin_of(target))
            return result
        kinds = [(t, self.classify(t)) for t in inputs]
        stranded = [t for t, kind in kinds if kind == "stranded"]
        following = [t for t, kind in kinds if kind == "following"]
        if stranded and following and self.finding is None:
            self.finding = {
                "created": self.origin_of(stranded[0]),
                "used": self._origin(getattr(func, "__name__", str(func))),
            }
        if stranded and not following:
            for out in outputs:
                if out.dim() > 0:
                    _tag(out, self.origin_of(stranded[0]))
        else:
            for out in outputs:
                if not self.stranded(out):
                    self.follow(out)
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


def _storage(t: torch.Tensor) -> int | None:
    try:
        return t.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError, AttributeError):
        return None


def _separate_aliases(module: nn.Module) -> list[tuple[nn.Module, str, torch.Tensor]]:
    """A plain attribute that is the very tensor registered as a buffer or
    parameter (``self.initial = self.rand_weight``) is harmless as long as
    forward uses the registered name; ``.to()`` would leave the alias behind.
    For the audit such an attribute holds a copy of its own, so that only a
    use of the alias is flagged; ``_restore`` puts the original back."""
    registered = {_storage(t) for t in [*module.parameters(), *module.buffers()]}
    registered.discard(None)
    swapped = []
    for sub in module.modules():
        names = set(sub._parameters) | set(sub._buffers)
        for name, value in list(vars(sub).items()):
            if (
                name in names
                or name.startswith("_")
                or not isinstance(value, torch.Tensor)
                or isinstance(value, nn.Parameter)
                or _storage(value) not in registered
            ):
                continue
            sub.__dict__[name] = value.detach().clone()
            swapped.append((sub, name, value))
    return swapped


def _restore(swapped) -> None:
    for sub, name, value in swapped:
        sub.__dict__[name] = value


def audit(module: nn.Module, inputs: tuple, learner_frames) -> dict:
    """Run ``module(*inputs)`` on the CPU and report the device bugs found."""
    swapped = _separate_aliases(module)
    registered = {_storage(t) for t in [*module.parameters(), *module.buffers()]}
    attributes = []
    for name, tensor in plain_tensor_attributes(module):
        if _storage(tensor) in registered:
            continue  # an alias kept in a list or dict: not a tensor of its own
        attributes.append({"name": name, "shape": list(tensor.shape)})
        _tag(tensor, {"what": "attribute", "attribute": name, "frames": []})
    following = [*_tensors(list(inputs), []), *module.parameters(), *module.buffers()]
    mode = StrandedTensorMode(learner_frames, following)
    try:
        with torch.no_grad(), mode:
            output = module(*inputs)
        if mode.finding is None:
            # a tensor that stays on the CPU and is returned as the output
            for out in _tensors(output, []):
                if out.dim() > 0 and mode.stranded(out):
                    mode.finding = {
                        "created": mode.origin_of(out),
                        "used": {"what": "output", "frames": []},
                    }
                    break
    finally:
        for _name, tensor in plain_tensor_attributes(module):
            _untag(tensor)
        for t in _module_level_tensors(module):
            _untag(t)
        _restore(swapped)
    return {"attributes": attributes, "finding": mode.finding}


def _module_level_tensors(module: nn.Module) -> list[torch.Tensor]:
    """Tensors the audit may have tagged that outlive it: class attributes and
    module globals of the learner's classes."""
    import sys

    found = []
    for sub in module.modules():
        for cls in type(sub).__mro__:
            if cls.__module__.startswith("torch"):
                continue
            scopes = [vars(cls)]
            mod = sys.modules.get(cls.__module__)
            if mod is not None:
                scopes.append(vars(mod))
            for scope in scopes:
                found += [v for v in list(scope.values()) if isinstance(v, torch.Tensor)]
    return found
