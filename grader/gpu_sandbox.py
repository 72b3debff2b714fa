"""What the sandbox takes from the host so that CUDA works inside it, and no more.

Only on a host with an NVIDIA driver (``/dev/nvidiactl``); decided without
initialising CUDA in the grader.  Bound into the sandbox:

* device nodes: ``/dev/nvidia0``..., ``/dev/nvidiactl``, ``/dev/nvidia-uvm``
  (and ``-tools``), ``/dev/nvidia-modeset``, ``/dev/nvidia-caps`` (MIG).
  ``/dev/nvidia-uvm`` is created lazily by the setuid ``nvidia-modprobe`` the
  first time a process uses CUDA; it cannot run in the sandbox (no new
  privileges), so the grader runs it first (``nvidia-modprobe -u -c=0``);
* of ``/sys``, only what the driver, NVML and CUDA read: the PCI devices
  (``/sys/bus/pci/devices``, links into ``/sys/devices/pci*``), the CPU and
  NUMA topology (``/sys/devices/system/cpu``, ``/sys/devices/system/node``)
  and the driver's module (``/sys/module/nvidia*``), all read-only;
* libraries: ``/usr`` is bound already (the driver's ``libcuda.so.1`` and
  ``libnvidia-ml.so.1`` live in ``/usr/lib/...`` on distribution and
  container-toolkit installs); ``/usr/local/nvidia``, ``/usr/local/cuda``,
  ``/etc/nvidia`` and the folders of ``LD_LIBRARY_PATH`` where they exist,
  and ``LD_LIBRARY_PATH`` itself (``--clearenv`` drops it).

``benchmarks/gpu_check.py`` verifies on a GPU machine that this is enough.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess

SYS_PATHS = ("/sys/bus/pci/devices", "/sys/devices/system/cpu", "/sys/devices/system/node")
LIBRARY_DIRS = ("/usr/local/nvidia", "/usr/local/cuda", "/etc/nvidia")


def driver_present() -> bool:
    return os.path.exists("/dev/nvidiactl")


@functools.cache
def ensure_uvm_device() -> bool:
    """Create /dev/nvidia-uvm where the driver has not yet (no CUDA process
    ran on this host since it booted); True when it exists."""
    if os.path.exists("/dev/nvidia-uvm"):
        return True
    tool = shutil.which("nvidia-modprobe")
    if tool:
        try:
            subprocess.run([tool, "-u", "-c=0"], capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            pass
    return os.path.exists("/dev/nvidia-uvm")


def library_path() -> list[str]:
    return [
        p
        for p in os.environ.get("LD_LIBRARY_PATH", "").split(":")
        if p.startswith("/") and os.path.isdir(p)
    ]


def bwrap_args() -> list[str]:
    """bubblewrap arguments for CUDA inside the sandbox (none without a driver)."""
    if not driver_present():
        return []
    ensure_uvm_device()
    args: list[str] = []
    for dev in sorted(glob.glob("/dev/nvidia*")):
        args += ["--dev-bind", dev, dev]
    for path in SYS_PATHS:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    pci = sorted(glob.glob("/sys/devices/pci*"))  # where /sys/bus/pci/devices links point
    for path in pci + sorted(glob.glob("/sys/module/nvidia*")):
        args += ["--ro-bind", path, path]
    for path in (*LIBRARY_DIRS, *library_path()):
        if os.path.exists(path) and not path.startswith("/usr/"):
            args += ["--ro-bind", path, path]
    return args


def env() -> dict[str, str]:
    """Environment the sandbox needs for CUDA (none without a driver)."""
    if not driver_present() or not library_path():
        return {}
    return {"LD_LIBRARY_PATH": ":".join(library_path())}


def cuda_problem(limits, isolation) -> str | None:
    """Whether CUDA starts in a child of a fresh sandbox, as a CUDA run would
    (no learner code): None if it does, else why not ("CUDA is not usable in
    the sandbox: ...").  For a start-of-grading decision on a GPU host."""
    from .child.protocol import Problem
    from .observations import parse_run
    from .sandbox import Zygote

    request = {
        "probe": "verify_torch_file",
        "module": None,
        "device": "cuda",
        "seed": 0,
        "params": {"files": []},
        "exercise": "cuda_check",
    }
    with Zygote(limits, isolation) as zygote:
        reply, raw = zygote.run(request, b"")
    obs = parse_run("cuda_check", "cuda", reply, raw)
    if obs.problem is None:
        return None
    if obs.problem.get("kind") == Problem.CUDA_UNAVAILABLE:
        return str(obs.problem.get("detail"))
    return f"CUDA is not usable in the sandbox: the check run failed ({obs.problem})"[:500]
