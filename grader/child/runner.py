"""The forked child: set limits, import the learner's module, run one probe."""

from __future__ import annotations

import faulthandler
import importlib
import io
import os
import resource
import signal
import sys

import torch
from safetensors.torch import load as _st_load

from . import probes
from .recorder import Recorder

RESULT_FD = 3
OUTPUT_FD = 1
WATCHDOG_FD = 4


def warm_up() -> None:
    """Import in the zygote what probes need, so children start fast and a
    learner module named like a standard module cannot shadow it."""
    import copy, random, json, pickle, zipfile, tempfile, pathlib, math  # noqa: F401,E401
    import torch.nn.functional  # noqa: F401
    import torch.optim  # noqa: F401
    from . import device_audit, fixtures  # noqa: F401
    for name in probes.MODULES:
        importlib.import_module(f"{probes.__name__}.{name}")
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.BatchNorm1d(4))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)  # the first optimizer imports a lot lazily
    net(torch.randn(2, 4)).sum().backward()
    opt.step()
    torch.optim.Adam(net.parameters()).step()


def _vm_size() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _set_limits(limits: dict) -> None:
    def cap(which: int, value: int) -> None:
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass

    cap(resource.RLIMIT_CORE, 0)
    cpu = int(float(limits["time"])) + 1
    cap(resource.RLIMIT_CPU, cpu)
    cap(resource.RLIMIT_FSIZE, int(limits["file_size"]))
    cap(resource.RLIMIT_NOFILE, int(limits["open_files"]))
    cap(resource.RLIMIT_NPROC, int(limits["procs"]))
    cap(resource.RLIMIT_AS, _vm_size() + int(limits["memory"]))


def _redirect(res_w: int, out_w: int, dog_w: int) -> None:
    """Leave exactly stdin (/dev/null), stdout/stderr (capture), the result
    pipe and the watchdog pipe open."""
    os.dup2(out_w, OUTPUT_FD)
    os.dup2(out_w, 2)
    os.dup2(res_w, RESULT_FD)
    os.dup2(dog_w, WATCHDOG_FD)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.closerange(WATCHDOG_FD + 1, 65536)
    for fd in (0, 1, 2):
        os.set_inheritable(fd, True)
    sys.stdin = open(0, "r", closefd=False)
    sys.stdout = io.TextIOWrapper(open(1, "wb", buffering=0, closefd=False), write_through=True)
    sys.stderr = sys.stdout
    sys.__stdout__ = sys.__stderr__ = sys.stdout


def child_main(req: dict, inputs: bytes, workdir: str, res_w: int, out_w: int, dog_w: int) -> None:
    os.setsid()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    _redirect(res_w, out_w, dog_w)
    limits = req["limits"]
    faulthandler.enable(file=WATCHDOG_FD, all_threads=True)
    faulthandler.dump_traceback_later(max(float(limits["time"]) - 0.3, 0.1), exit=False,
                                      file=WATCHDOG_FD)
    os.chdir(workdir)
    os.environ["TMPDIR"] = os.path.join(workdir, ".scratch")
    sys.path.insert(0, workdir)
    tensors = _st_load(inputs) if inputs else {}
    rec = Recorder(RESULT_FD, workdir)
    _set_limits(limits)
    torch.manual_seed(int(req.get("seed", 0)))
    probe = probes.get(req["probe"])
    params = dict(req.get("params", {}))
    device = req.get("device", "cpu")
    module = None
    if req.get("module"):
        with rec.step("import", req["module"]):
            module = importlib.import_module(req["module"])
        if module is None:
            rec.finish()
            os._exit(0)
    probe(rec, module, tensors, device, params)
    rec.finish()
    sys.stdout.flush()
    os._exit(0)
