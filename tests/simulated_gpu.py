"""Run grader code on this CPU-only machine as if a GPU were present, with a
spy on every entry point that initialises CUDA or starts autograd's device
threads (tests/test_accelerator.py runs this file in a subprocess).

    python tests/simulated_gpu.py zygote OUT.json WORKDIR
        the zygote's start (warm-up included) and its greeting, then a quit;
        then, as a control that the spies see what they must, an Adam step
        and a backward pass in the same process
    python tests/simulated_gpu.py child OUT.json WORKDIR [fail]
        one child run on "cuda" with a stand-in for CUDA's start-up that
        records the address-space limit it saw (or fails, with "fail")
    python tests/simulated_gpu.py ahead OUT.json WORKDIR
        the same, by a child started ahead of its run (child/warm.py), its
        request arriving on its pipe after CUDA's start-up
    python tests/simulated_gpu.py zygote-ahead OUT.json WORKDIR
        as "zygote", with a submission that asks for a CUDA child ahead
"""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

CALLS: list[str] = []


def _spy(owner, name: str, label: str, result=None) -> None:
    def called(*_args, **_kwargs):
        CALLS.append(label)
        if isinstance(result, BaseException):
            raise result
        return result

    setattr(owner, name, called)


class _Stream:
    def is_capturing(self) -> bool:
        return False


class _EngineSpy:
    """Stands in for autograd's engine: every backward pass goes through
    run_backward, which starts the per-device threads where a GPU is visible."""

    def __init__(self, engine) -> None:
        self._engine = engine

    def run_backward(self, *args, **kwargs):
        CALLS.append("autograd engine: run_backward (starts device threads)")
        return self._engine.run_backward(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._engine, name)


def simulate_gpu() -> None:
    """A GPU is present, as NVML would say; CUDA itself is spied on."""
    cuda = torch.cuda
    cuda._is_compiled = lambda: True
    cuda.is_available = lambda: True
    cuda.device_count = lambda: 1
    cuda._device_count_nvml = lambda: 1
    torch._C._accelerator_getAccelerator = lambda: torch.device("cuda")
    for name in (
        "_lazy_init",
        "init",
        "current_stream",
        "current_device",
        "synchronize",
        "set_device",
        "get_device_properties",
        "mem_get_info",
        "set_per_process_memory_fraction",
        "default_stream",
    ):
        _spy(cuda, name, f"torch.cuda.{name}", RuntimeError("spy: CUDA initialised"))
    for name in (
        "_cuda_init",
        "_cuda_getDeviceCount",
        "_cuda_getCurrentRawStream",
        "_accelerator_getStream",
        "_accelerator_getDeviceIndex",
        "_accelerator_setDevice",
        "_accelerator_synchronizeDevice",
    ):
        _spy(torch._C, name, f"torch._C.{name}", _Stream() if "Stream" in name else 0)
    for name in ("current_stream", "current_device_index", "set_device_index", "synchronize"):
        _spy(
            torch.accelerator,
            name,
            f"torch.accelerator.{name}",
            _Stream() if name == "current_stream" else 0,
        )
    variable = torch.autograd.variable.Variable
    variable._execution_engine = _EngineSpy(variable._execution_engine)


def zygote(out: str, workdir: str, ahead: bool = False) -> None:
    simulate_gpu()
    from grader.child import framing
    from grader.child import zygote as zyg
    from grader.limits import Limits

    r, w = os.pipe()
    if ahead:
        framing.write_frame(
            w,
            {"op": "submission", "files": [["a.py", 2]], "warm": "cuda", "memory": Limits().memory},
            b"#\n",
        )
    framing.write_frame(w, {"op": "quit"})
    os.close(w)
    os.dup2(r, 0)
    sys.argv = ["zygote", "--workdir", workdir]
    error = ""
    try:
        zyg.main()
    except BaseException as exc:  # noqa: BLE001
        error = f"{type(exc).__name__}: {exc}"
    served = list(CALLS)
    CALLS.clear()
    try:
        net = torch.nn.Linear(2, 2)
        net(torch.ones(1, 2)).sum().backward()
        torch.optim.Adam(net.parameters()).step()
    except Exception as exc:  # noqa: BLE001
        CALLS.append(f"control failed: {type(exc).__name__}: {exc}")
    Path(out).write_text(
        json.dumps(
            {
                "zygote": served,
                "error": error,
                "control": CALLS,
                "initialised": torch.cuda.is_initialized(),
            }
        )
    )


def child(out: str, workdir: str, fail: bool, ahead: bool = False) -> None:
    from grader.child import accelerator, runner
    from grader.limits import Limits

    record = Path(out)

    def note(event: str) -> None:
        with open(record, "a") as fh:
            fh.write(event + "\n")

    def fake_start(memory_limit: int) -> None:
        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
        note(
            f"start_cuda memory_limit={memory_limit} as_limit="
            f"{'none' if soft == resource.RLIM_INFINITY else soft}"
        )
        if fail:
            raise RuntimeError("CUDA driver initialization failed (simulated)")

    real_limits = runner._set_limits

    def set_limits(limits, pid_namespace):
        note("set_limits")
        real_limits(limits, pid_namespace)

    accelerator.start_cuda = fake_start
    runner._set_limits = set_limits
    res = os.open(os.path.join(workdir, "result.bin"), os.O_WRONLY | os.O_CREAT, 0o600)
    dog = os.open(os.path.join(workdir, "watchdog.txt"), os.O_WRONLY | os.O_CREAT, 0o600)
    os.makedirs(os.path.join(workdir, ".scratch"), exist_ok=True)
    req = {
        "probe": "verify_torch_file",
        "module": None,
        "device": "cuda",
        "seed": 0,
        "params": {"files": []},
        "limits": Limits().for_child(),
    }
    if not ahead:
        runner.child_main(req, b"", workdir, res, 1, dog)
    from grader.child import framing

    control, send = os.pipe()
    framing.write_frame(send, {"request": req, "workdir": workdir})
    os.close(send)
    runner.warm_child_main("cuda", Limits().memory, control, res, 1, dog)


if __name__ == "__main__":
    mode, out, work = sys.argv[1:4]
    if mode in ("zygote", "zygote-ahead"):
        zygote(out, work, ahead=mode == "zygote-ahead")
    else:
        child(out, work, fail=sys.argv[4:] == ["fail"], ahead=mode == "ahead")
