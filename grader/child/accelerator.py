"""The GPU inside the sandbox: what the zygote must never do, and what each
forked child does about CUDA before any learner code runs.

CUDA cannot be used in a process forked from one that has initialised it
("Cannot re-initialize CUDA in forked subprocess"), and once the autograd
engine has started its per-device threads (on the first backward pass in a
process where a GPU is visible) no forked child can run a backward pass
("Unable to handle autograd's threading in combination with fork-based
multiprocessing").  So:

* the zygote never initialises CUDA nor runs a backward pass; it checks that
  before it serves (``assert_untouched``) and counts GPUs through NVML only
  (``nvml_device_count``);
* a child that runs on CUDA starts it at once (context, cuBLAS handle,
  autograd's device threads) *before* its resource limits are set: CUDA
  reserves tens of GiB of address space, which RLIMIT_AS would refuse.  If
  CUDA does not start, the child ends with ``EXIT_NO_CUDA``: the grader's
  set-up is at fault, not the learner;
* a child that runs on the CPU sees no GPU at all (``CUDA_VISIBLE_DEVICES``
  empty before torch asks), as on a CPU-only machine, except for the probes
  that ask about this machine's GPUs (an exercise with ``real_gpus``);
* the float32 precision switches (TF32 for cuBLAS/cuDNN, bf16/TF32 for
  oneDNN on the CPU) are pinned to full float32 before learner code runs and
  put back after every call into it; a change is reported in the output.
  This guards against well-meant speed-ups that would fail the checks at
  1e-3, not against hostile code, which can compute wrong values anyway.
"""

from __future__ import annotations

import operator
import os

import torch

from .protocol import EXIT_NO_CUDA, NO_CUDA_PREFIX  # noqa: E402,F401 - the child's side of them

# torch's newer per-backend precision switches ("ieee", "tf32", "bf16", "none")
_PRECISION = (
    "fp32_precision",
    "cuda.matmul.fp32_precision",
    "cudnn.fp32_precision",
    "cudnn.conv.fp32_precision",
    "cudnn.rnn.fp32_precision",
    "mkldnn.fp32_precision",
    "mkldnn.matmul.fp32_precision",
    "mkldnn.conv.fp32_precision",
    "mkldnn.rnn.fp32_precision",
)
_pinned: dict[str, str] | None = None


# -- the zygote -------------------------------------------------------------------
def assert_untouched() -> None:
    """Raise unless this process is still free to fork CUDA children."""
    if torch.cuda.is_initialized():
        raise RuntimeError("the zygote initialised CUDA: its children could not use the GPU")


def nvml_device_count() -> int:
    """GPUs visible to this process, through NVML (never through CUDA, which
    would make this process unfit to fork); -1 when NVML cannot tell."""
    if not torch.cuda._is_compiled():
        return 0
    try:
        return int(torch.cuda._device_count_nvml())
    except Exception:  # noqa: BLE001 - any failure: NVML cannot tell
        return -1


# -- a child, before learner code ----------------------------------------------------
def hide_gpus(real_gpus: bool, device: str) -> None:
    """A CPU run sees no GPU, as on a CPU-only machine, unless its probe asks
    about this machine's GPUs (its checks compare with them)."""
    if not device.startswith("cuda") and not real_gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""


def gpu_memory_fraction(memory_limit: int, total: int) -> float:
    """The share of the GPU's memory one run may take: as much as its memory
    limit allows on the host (so ``--jobs N`` runs take at most N times that)."""
    if total <= 0:
        return 1.0
    return max(min(memory_limit / total, 1.0), 0.0)


def start_cuda(memory_limit: int) -> None:
    """CUDA context, cuBLAS handle and autograd's device threads, now, while
    no limit applies; then the run's share of GPU memory."""
    torch.cuda.init()
    a = torch.ones(8, 8, device="cuda", requires_grad=True)
    (a @ a).sum().backward()  # cuBLAS and the autograd device threads
    torch.cuda.synchronize()
    del a
    total = torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory
    torch.cuda.set_per_process_memory_fraction(gpu_memory_fraction(memory_limit, total))


def prepare(real_gpus: bool, device: str, memory_limit: int) -> str | None:
    """Everything about devices a child does before its limits are set.
    Returns why CUDA is not usable (a run on CUDA only), else None."""
    hide_gpus(real_gpus, device)
    if device.startswith("cuda"):
        try:
            start_cuda(memory_limit)
        except Exception as exc:  # noqa: BLE001 - whatever stops CUDA, the grader says so
            return f"{type(exc).__name__}: {exc}"[:1000]
    pin_precision()
    return None


# -- float32 precision -------------------------------------------------------------------
def _get(name: str) -> str:
    return operator.attrgetter(name)(torch.backends)


def _set(name: str, value: str) -> None:
    owner, _, attr = name.rpartition(".")
    setattr(operator.attrgetter(owner)(torch.backends) if owner else torch.backends, attr, value)


def _legacy_pin() -> None:
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


def pin_precision() -> list[str]:
    """Full float32 precision everywhere; returns the switches that were not
    (empty the first time: that sets the reference)."""
    global _pinned
    names = [n for n in _PRECISION if _has(n)]
    if _pinned is None:
        _legacy_pin()
        _pinned = {n: _get(n) for n in names}
        return []
    changed = [n for n in names if _get(n) != _pinned[n]]
    try:
        legacy = (
            torch.backends.cuda.matmul.allow_tf32,
            torch.backends.cudnn.allow_tf32,
            torch.get_float32_matmul_precision(),
        )
    except RuntimeError:  # "a mix of the legacy and new APIs"
        legacy = None
    if legacy != (False, False, "highest"):
        changed.append("allow_tf32/float32_matmul_precision")
    if changed:
        _legacy_pin()
        for n in names:
            if _get(n) != _pinned[n]:
                _set(n, _pinned[n])
    return changed


def _has(name: str) -> bool:
    try:
        _get(name)
    except (AttributeError, RuntimeError):
        return False
    return True


def repin_and_report(write) -> None:
    """After a call into learner code: put full precision back, and say so."""
    try:
        changed = pin_precision()
    except Exception:  # noqa: BLE001 - learner code broke torch.backends itself
        return
    if changed:
        write(
            (
                "\n[grader] the code changed torch's float32 precision settings ("
                + ", ".join(changed)
                + "); they were set back to full float32 precision "
                "(TF32/bf16 off), as the checks compare results at 1e-3 or better\n"
            ).encode()
        )
