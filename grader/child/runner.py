"""The forked child: set limits, import the learner's module, run one probe.

Learner code runs in this very process, so it can patch anything here: torch,
json, pytest, builtins.  Verdicts are never taken here (the grader compares in
its own process), but the probe's own bookkeeping must not be fooled either:

* after every call into learner code (every ``rec.step``) the functions the
  probes and the recorder rely on (comparisons, serialisation, ``isinstance``,
  ``os.write``...) are put back as they were before any learner code ran;
* tensors are recorded through torch's C functions, bound before learner code
  runs, with ``__torch_function__`` of tensor subclasses switched off;
* the child ends through an ``os._exit`` bound before learner code runs.
"""

from __future__ import annotations

import builtins
import ctypes
import faulthandler
import fcntl
import importlib
import io
import json
import json.decoder
import json.encoder
import os
import resource
import signal
import sys
import traceback
import types
import warnings

import psutil
import torch
import torch.nn.functional
import torch.nn.init
from safetensors import torch as _st_torch
from safetensors.torch import load as _st_load
from torch import nn

from . import accelerator, framing, probes, recorder
from .protocol import EXIT_INTERNAL, EXIT_MEMORY, STEP_IMPORT, cpu_limits
from .recorder import Recorder

RESULT_FD = 3
OUTPUT_FD = 1
WATCHDOG_FD = 4
CONTROL_FD = 5  # a pre-forked child's request pipe, closed once the request is read
MAX_INPUTS = 256 * 1024 * 1024

_exit = os._exit
_isinstance = builtins.isinstance
_TB = torch._C.TensorBase
_Tensor = torch.Tensor
_detach, _to, _clone, _contiguous = _TB.detach, _TB.to, _TB.clone, _TB.contiguous
_dtype_of = _TB.__dict__["dtype"].__get__
_device_of = _TB.__dict__["device"].__get__
_layout_of = _TB.__dict__["layout"].__get__
_quantized = _TB.__dict__["is_quantized"].__get__
_no_subclass_tf = torch._C.DisableTorchFunctionSubclass
_STRIDED = torch.strided


# -- what learner code may not change for the probes ------------------------------------
_TORCH_NAMES = (
    "equal",
    "allclose",
    "isclose",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "all",
    "any",
    "isfinite",
    "isnan",
    "isinf",
    "is_tensor",
    "is_floating_point",
    "numel",
    "abs",
    "sum",
    "mean",
    "std",
    "var",
    "max",
    "min",
    "where",
    "count_nonzero",
    "unique",
    "sort",
    "cat",
    "stack",
    "tensor",
    "as_tensor",
    "save",
    "load",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "manual_seed",
    "Tensor",
    "device",
    "dtype",
    "Size",
    "nn",
    "optim",
    "autograd",
    "zeros",
    "ones",
    "empty",
    "full",
    "rand",
    "randn",
    "arange",
    "zeros_like",
    "ones_like",
    "strided",
)
_OS_NAMES = (
    "write",
    "writev",
    "read",
    "readv",
    "close",
    "dup2",
    "getcwd",
    "listdir",
    "path",
    "stat",
    "fstat",
    "open",
    "fspath",
    "_exit",
    "getpid",
    "kill",
    "killpg",
)


class _Pristine:
    """A snapshot of selected attributes, to be put back after learner code ran."""

    def __init__(self) -> None:
        self.entries: list[tuple[object, list[str], list[object], frozenset | None]] = []

    def add(self, owner: object, names=None, is_class: bool = False) -> None:
        d = vars(owner)
        keys = [n for n in (names if names is not None else list(d)) if n in d]
        self.entries.append(
            (owner, keys, [d[k] for k in keys], frozenset(keys) if is_class else None)
        )

    def restore(self) -> None:
        for owner, keys, values, keyset in self.entries:
            d = vars(owner)
            for key, value in zip(keys, values):
                if d.get(key, _MISSING) is not value:
                    try:
                        setattr(owner, key, value)
                    except (AttributeError, TypeError):
                        pass
            if keyset is not None and len(d) != len(keyset):
                # an attribute added on the class that shadows an inherited one
                for key in [k for k in d if k not in keyset]:
                    if any(key in vars(base) for base in owner.__mro__[1:]):
                        try:
                            delattr(owner, key)
                        except (AttributeError, TypeError):
                            pass


_MISSING = object()
_PRISTINE = _Pristine()


def _snapshot() -> None:
    if _PRISTINE.entries:
        return
    _PRISTINE.add(builtins)
    _PRISTINE.add(torch, _TORCH_NAMES)
    _PRISTINE.add(os, _OS_NAMES)
    for mod in (json, json.encoder, json.decoder, _st_torch):
        _PRISTINE.add(mod)
    for cls in (
        torch.Tensor,
        nn.Module,
        nn.Parameter,
        nn.Linear,
        nn.Sequential,
        json.JSONEncoder,
        json.JSONDecoder,
    ):
        _PRISTINE.add(cls, is_class=True)


class _GuardedStep:
    def __init__(self, inner) -> None:
        self.inner = inner

    def __enter__(self):
        _PRISTINE.restore()
        return self.inner.__enter__()

    def __exit__(self, exc_type, exc, tb) -> bool:
        _PRISTINE.restore()
        _repin(_write_output)
        try:
            return self.inner.__exit__(exc_type, exc, tb)
        finally:
            _PRISTINE.restore()


class GuardedRecorder(Recorder):
    """The recorder, with learner patches undone around every learner step."""

    def step(self, name: str, label: str = ""):
        return _GuardedStep(super().step(name, label))

    def tensor(self, name: str, value: object) -> None:
        if not _isinstance(value, _Tensor):
            return
        with _no_subclass_tf():
            t = _detach(value)
            if _layout_of(t) != _STRIDED or _quantized(t) or _device_of(t).type == "meta":
                return
            if _dtype_of(t) not in recorder._SAFE_DTYPES:
                return
            self.tensors[str(name)] = _contiguous(_clone(_to(t, "cpu")))

    def finish(self) -> None:
        _PRISTINE.restore()
        super().finish()


def warm_up() -> None:
    """Import in the zygote what probes need, so children start fast and a
    learner module named like a standard module cannot shadow it.

    Nothing here may initialise an accelerator (see ``accelerator``): no
    backward pass (it starts autograd's per-device threads where a GPU is
    visible) and no optimizer step with its accelerator health check (it asks
    for the current CUDA stream)."""
    # modules learner code commonly imports, loaded once here instead of per run
    import copy  # noqa: F401
    import json  # noqa: F401
    import math  # noqa: F401
    import pathlib  # noqa: F401
    import pickle  # noqa: F401
    import random  # noqa: F401
    import tempfile  # noqa: F401
    import zipfile  # noqa: F401

    import torch.nn.functional  # noqa: F401
    import torch.optim  # noqa: F401

    from . import device_audit  # noqa: F401

    for name in probes.BUILT_IN:
        importlib.import_module(f"{probes.__name__}.{name}")
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.BatchNorm1d(4))
    net(torch.randn(2, 4)).sum()
    for p in net.parameters():
        p.grad = torch.zeros_like(p)  # as a backward pass would leave them
    for opt in (torch.optim.SGD(net.parameters(), lr=0.1), torch.optim.Adam(net.parameters())):
        # the first step imports a lot lazily (torch._dynamo...)
        opt._accelerator_graph_capture_health_check = _no_health_check
        opt.step()
    accelerator.pin_precision()
    _snapshot()


def _no_health_check() -> None:
    """Stands in for the optimizer's CUDA-graph capture check in the warm-up."""


def _write_output(data: bytes) -> None:
    try:
        os.write(OUTPUT_FD, data)
    except OSError:
        pass


_repin = accelerator.repin_and_report  # bound before learner code runs


_Process, _process_iter = psutil.Process, psutil.process_iter  # bound before learner code runs


def _vm_size() -> int:
    """This process's address space in bytes (VmSize)."""
    return _Process().memory_info().vms


def _tasks_of_my_user() -> int:
    """Threads of every process of this user: what RLIMIT_NPROC counts."""
    uid, count = os.getuid(), 0
    for proc in _process_iter(["uids", "num_threads"]):
        uids, threads = proc.info["uids"], proc.info["num_threads"]
        if uids is not None and threads is not None and uids.real == uid:
            count += threads
    return count


def _set_limits(limits: dict, pid_namespace: bool) -> None:
    def cap(which: int, soft: int, hard: int | None = None) -> None:
        try:
            resource.setrlimit(which, (soft, soft if hard is None else hard))
        except (ValueError, OSError):
            pass

    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_CPU, *cpu_limits(limits["time"]))  # SIGXCPU first, SIGKILL a second later
    cap(resource.RLIMIT_FSIZE, int(limits["file_size"]))
    cap(resource.RLIMIT_NOFILE, int(limits["open_files"]))
    # RLIMIT_NPROC counts every task of the user.  In the sandbox's own user
    # namespace that is just the sandbox; without it (and not root, for whom
    # the limit does not apply) it is everything the user runs on the machine.
    base = 0 if pid_namespace or os.getuid() == 0 else _tasks_of_my_user()
    # a pre-forked child waiting beside this run (warm.py) is not the learner's
    base += int(limits.get("reserved_tasks", 0))
    cap(resource.RLIMIT_NPROC, base + int(limits["procs"]))
    cap(resource.RLIMIT_AS, _vm_size() + int(limits["memory"]))


try:
    _libc = ctypes.CDLL(None, use_errno=True)  # bound in the zygote, before learner code
except OSError:
    _libc = None


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _no_privileges() -> None:
    """no_new_privs, and no capabilities at all (they matter when the grader
    runs as root without bubblewrap, e.g. in a container: learner code then
    cannot override file permissions, signal other users' processes, mount...,
    nor get capabilities back by executing a program)."""
    if _libc is None:
        return
    try:
        _libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
        if os.geteuid() == 0:
            header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
            _libc.capset(ctypes.byref(header), (_CapData * 2)())
    except AttributeError:  # a libc without these symbols
        pass


def _redirect(res_w: int, out_w: int, dog_w: int, control: int | None = None) -> None:
    """Leave exactly stdin (/dev/null), stdout/stderr (capture), the result
    pipe and the watchdog pipe open (and a pre-forked child's request pipe,
    as ``CONTROL_FD``)."""
    if control is not None:
        control = fcntl.fcntl(control, fcntl.F_DUPFD, 100)  # clear of the numbers taken below
    os.dup2(out_w, OUTPUT_FD)
    os.dup2(out_w, 2)
    os.dup2(res_w, RESULT_FD)
    os.dup2(dog_w, WATCHDOG_FD)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    first_closed = WATCHDOG_FD + 1
    if control is not None:
        os.dup2(control, CONTROL_FD)
        os.set_inheritable(CONTROL_FD, False)
        first_closed = CONTROL_FD + 1
    os.closerange(first_closed, 65536)
    for fd in (0, 1, 2):
        os.set_inheritable(fd, True)
    sys.stdin = open(0, closefd=False)
    sys.stdout = io.TextIOWrapper(open(1, "wb", buffering=0, closefd=False), write_through=True)
    sys.stderr = sys.stdout
    sys.__stdout__ = sys.__stderr__ = sys.stdout


def _stub_module(name: str, message: str) -> types.ModuleType:
    """Stands in for a file of the submission that cannot be imported, so that
    the files importing it are still graded: any name can be imported from it,
    and using one raises ImportError with ``message``."""

    def unavailable(attr: str):
        def fail(*_args, **_kwargs):
            raise ImportError(message.replace("{name}", attr))

        return type(
            attr,
            (),
            {
                "__init__": fail,
                "__call__": fail,
                "__init_subclass__": classmethod(lambda cls, **kw: None),
            },
        )

    stub = types.ModuleType(name)

    def __getattr__(attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return unavailable(attr)

    stub.__getattr__ = __getattr__
    return stub


class FreshInputs(dict):
    """The grader's input tensors; every lookup returns a copy of its own, so
    that learner code changing an input in place (``X.sub_()``) cannot change
    what a later call of the probe passes."""

    def __getitem__(self, key):
        value = super().__getitem__(key)
        return value.clone() if isinstance(value, torch.Tensor) else value

    def get(self, key, default=None):
        return self[key] if key in self else default


def _probe(req: dict) -> probes.Probe:
    """The probe a request names: a function of the exercise folder whose
    compiled modules it carries (``probe_folder``), or a built-in one."""
    folder = req.get("probe_folder")
    if folder:
        module = probes.load_folder(str(folder["name"]), dict(folder["code"]))
        return getattr(module, str(req["probe"]))
    return probes.get(str(req["probe"]))


def child_main(
    req: dict, inputs: bytes | bytearray, workdir: str, res_w: int, out_w: int, dog_w: int
) -> None:
    """A child forked for its run.  Never returns: it always ends with ``os._exit``."""
    _guarded(_cold_child, req, inputs, workdir, res_w, out_w, dog_w)


def warm_child_main(
    device: str, memory: int, control: int, res_w: int, out_w: int, dog_w: int
) -> None:
    """A child forked ahead of its run (see ``warm.py``): it starts ``device``
    now, then waits on ``control`` for its request.  Never returns."""
    _guarded(_warm_child, device, memory, control, res_w, out_w, dog_w)


def _guarded(main, *args) -> None:
    try:
        main(*args)
    except MemoryError:
        _exit(EXIT_MEMORY)
    except BaseException:  # noqa: BLE001 - whatever happened, end this process here
        try:
            _PRISTINE.restore()
            text = traceback.format_exc(limit=-8)
            os.write(2, b"\n[grader] the probe failed unexpectedly:\n" + text[-4000:].encode())
        except BaseException:  # noqa: BLE001
            pass
        _exit(EXIT_INTERNAL)
    _exit(0)


def _begin(res_w: int, out_w: int, dog_w: int, control: int | None = None) -> None:
    os.setsid()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGXCPU):
        signal.signal(sig, signal.SIG_DFL)
    _redirect(res_w, out_w, dog_w, control)


def _watchdog(limits: dict) -> None:
    faulthandler.enable(file=WATCHDOG_FD, all_threads=True)
    faulthandler.dump_traceback_later(
        max(float(limits["time"]) - 0.3, 0.1), exit=False, file=WATCHDOG_FD
    )


def _cold_child(
    req: dict, inputs: bytes | bytearray, workdir: str, res_w: int, out_w: int, dog_w: int
) -> None:
    _begin(res_w, out_w, dog_w)
    limits = req["limits"]
    _watchdog(limits)
    # CUDA starts (or the GPU is hidden) before the limits: see accelerator.py
    no_cuda = accelerator.prepare(
        bool(req.get("real_gpus")), str(req.get("device", "cpu")), int(limits["memory"])
    )
    _run_request(req, inputs, workdir, no_cuda)


def _warm_child(device: str, memory: int, control: int, res_w: int, out_w: int, dog_w: int) -> None:
    _begin(res_w, out_w, dog_w, control)
    if accelerator.prepare(False, device, memory) is not None:
        # The device did not start while the run before executed (its learner
        # code may hold the GPU's memory): no answer for the next run from
        # here; the zygote forks a fresh child for it once that run is over.
        _exit(accelerator.EXIT_NO_CUDA)
    header, inputs = framing.read_frame(CONTROL_FD, MAX_INPUTS)
    os.close(CONTROL_FD)
    req = header["request"]
    if req.get("device") != device or int(req["limits"]["memory"]) != memory:
        raise RuntimeError("a pre-forked child got a request for another device or limit")
    _watchdog(req["limits"])
    _run_request(req, inputs, str(header["workdir"]), None)


def _run_request(req: dict, inputs: bytes | bytearray, workdir: str, no_cuda: str | None) -> None:
    if no_cuda is not None:
        os.write(2, f"[grader] {accelerator.NO_CUDA_PREFIX}{no_cuda}\n".encode())
        _exit(accelerator.EXIT_NO_CUDA)
    os.chdir(workdir)
    os.environ["TMPDIR"] = os.path.join(workdir, ".scratch")
    limits = req["limits"]
    device = str(req.get("device", "cpu"))
    sys.path.insert(0, workdir)
    tensors = FreshInputs(_st_load(bytes(inputs)) if inputs else {})
    # a warning raised by the grader's own probe code is not the learner's output
    warnings.filterwarnings("ignore", module=r"^(gchild|grader\.child)(\.|$)")
    rec = GuardedRecorder(RESULT_FD, workdir)
    _set_limits(limits, bool(req.get("pid_namespace")))
    _no_privileges()
    torch.manual_seed(int(req.get("seed", 0)))
    probe = _probe(req)
    params = dict(req.get("params", {}))
    module = None
    for name, message in dict(req.get("stubs") or {}).items():
        if name != req.get("module"):
            sys.modules[str(name)] = _stub_module(str(name), str(message))
    if req.get("module"):
        with rec.step(STEP_IMPORT, req["module"]):
            module = importlib.import_module(req["module"])
        if module is None:
            rec.finish()
            return
    probe(rec, module, tensors, device, params)
    rec.finish()
    _PRISTINE.restore()
    sys.stdout.flush()
