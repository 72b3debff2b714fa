"""GPU verification: one command, at most five minutes, one JSON summary.

    python benchmarks/gpu_check.py            (from the repository root, in its venv)

What it checks, on a machine with an NVIDIA GPU:

1. facts: torch and its CUDA, the driver, the device nodes, the driver's
   libraries, how many GPUs NVML sees, the isolation in use;
2. the sandbox: CUDA starts inside bubblewrap without any limit (a bare
   CUDA start-up and matmul), and in a real child, where CUDA starts before
   the limits are set, with bubblewrap and with rlimits only;
3. the reference solutions on cpu+cuda, run by run: full marks, every model
   check passed on CUDA too; the mean run time per device (each run's own
   wall time, not an even split) and what CUDA adds per run;
4. a class graded with ``grade class/ --jobs 4`` on cpu+cuda: the reference,
   every case of tests/data/correct (full marks, model checks passed on
   CUDA), every device-bug case of tests/data/buggy (caught on CUDA, in its
   exercise only; GPU-only ones, ``cuda_fails``, only on CUDA) and the
   GPU-sensitive cases (map_location, try_gpu); wall time and peak GPU memory;
5. the same class with ``--device cpu``, and as on a CPU-only host
   (``CUDA_VISIBLE_DEVICES=""``): equal scores, exercise by exercise, and
   those the corpus expects.

The time limit per run stays the default (10 s).  Prints one JSON object;
exit status 0 when everything holds, 1 when something does not, 2 when this
machine has no usable CUDA device (nothing is checked), 3 when the script
itself failed.
"""

from __future__ import annotations

import ctypes.util
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from grader import gpu_sandbox  # noqa: E402
from grader.assignment import default  # noqa: E402
from grader.checking import run_checks  # noqa: E402
from grader.child.accelerator import nvml_device_count  # noqa: E402
from grader.grading import _run, collect  # noqa: E402
from grader.limits import Limits  # noqa: E402
from grader.sandbox import (  # noqa: E402
    INNER_WORK,
    Isolation,
    Zygote,
    _bwrap_binary,
    _child_env,
    bwrap_command,
    detect_isolation,
)
from grader.submission import read_submission  # noqa: E402

BUDGET_S = 290.0
JOBS = 4
SOLUTIONS = ROOT / "solutions"
DATA = ROOT / "tests" / "data"
MODEL = [ex.id for ex in default().exercises if ex.model]
GPU_SENSITIVE = ("load_params_no_map_location", "try_gpu_", "try_all_gpus_")
EXIT_OK, EXIT_FAILED, EXIT_NO_CUDA, EXIT_BROKEN = 0, 1, 2, 3

_BARE_CUDA = """
import json, time
t = time.perf_counter()
import torch
torch.cuda.init()
a = torch.randn(256, 256, device="cuda")
ok = bool(torch.allclose((a @ a).cpu(), a.cpu() @ a.cpu(), rtol=1e-3, atol=1e-3))
p = torch.cuda.get_device_properties(0)
print(json.dumps({"ok": ok, "name": p.name, "capability": list(torch.cuda.get_device_capability(0)),
                  "total_memory": p.total_memory, "start_s": round(time.perf_counter() - t, 3)}))
"""


class Check:
    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.results: list[dict] = []

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def record(self, name: str, ok: bool, **detail) -> bool:
        self.results.append({"name": name, "ok": bool(ok), **detail})
        return ok


def _run_cmd(cmd, timeout: float, env=None) -> tuple[int | None, str, str]:
    try:
        done = subprocess.run(
            cmd, capture_output=True, timeout=max(timeout, 1.0), env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return None, "", f"timed out after {timeout:.0f} s"
    except OSError as exc:
        return None, "", str(exc)
    return (
        done.returncode,
        done.stdout.decode(errors="replace"),
        done.stderr.decode(errors="replace"),
    )


# -- 1. facts -------------------------------------------------------------------------
def facts() -> dict:
    """What this machine offers, found without initialising CUDA here."""
    smi = shutil.which("nvidia-smi")
    gpus = []
    if smi:
        code, out, _err = _run_cmd(
            [smi, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"], 30
        )
        gpus = [line.strip() for line in out.splitlines() if line.strip()] if code == 0 else []
    try:
        driver = Path("/proc/driver/nvidia/version").read_text().splitlines()[0]
    except (OSError, IndexError):
        driver = None
    return {
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "driver": driver,
        "nvidia_smi": gpus,
        "nvml_gpus": nvml_device_count(),
        "device_nodes": sorted(glob.glob("/dev/nvidia*")),
        "uvm_device": gpu_sandbox.ensure_uvm_device() if gpu_sandbox.driver_present() else False,
        "libcuda": ctypes.util.find_library("cuda"),
        "libnvidia_ml": ctypes.util.find_library("nvidia-ml"),
        "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "LD_LIBRARY_PATH": os.environ.get("LD_LIBRARY_PATH"),
    }


def no_cuda_reason(f: dict) -> str | None:
    if not f["torch_cuda"]:
        return f"this torch ({f['torch']}) is built without CUDA"
    if not gpu_sandbox.driver_present():
        return "no NVIDIA driver (/dev/nvidiactl is missing)"
    if f["nvml_gpus"] == 0:
        return "NVML sees no GPU (CUDA_VISIBLE_DEVICES or the driver)"
    return None


# -- 2. the sandbox -----------------------------------------------------------------------
def bare_cuda_in_sandbox(check: Check, iso: Isolation) -> None:
    """CUDA inside bubblewrap, no limit at all: the binds are enough."""
    if iso.filesystem:
        cmd = bwrap_command(_bwrap_binary() or "bwrap", Limits())
        cmd = cmd[: cmd.index(sys.executable)] + [sys.executable, "-E", "-s", "-c", _BARE_CUDA]
        env = None
    else:
        cmd, env = [sys.executable, "-E", "-s", "-c", _BARE_CUDA], _child_env(INNER_WORK)
    code, out, err = _run_cmd(cmd, min(90, check.left()), env)
    try:
        info = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        info = {"ok": False, "exit": code, "stderr": err[-1500:]}
    check.record("sandbox: CUDA starts without limits", code == 0 and info.get("ok"), **info)


def start_of_grading(check: Check, iso: Isolation) -> None:
    why = gpu_sandbox.cuda_problem(Limits(), iso)
    check.record("sandbox: the start-of-grading CUDA check passes", why is None, reason=why)


def reference_run_by_run(check: Check, iso: Isolation) -> dict:
    """The reference on cpu+cuda in one warm sandbox, each run's wall time."""
    limits = Limits()
    files = read_submission(SOLUTIONS)
    timings: dict = {}
    with Zygote(limits, iso) as zyg:
        collect(zyg, files, ["cpu", "cuda"])  # warm: file system caches, first imports
        # CUDA started in a child ahead of each CUDA run (child/warm.py), and without
        started = time.perf_counter()
        cold = collect(zyg, files, ["cpu", "cuda"], ahead=False)
        timings["reference_cpu+cuda_without_ahead_s"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        obs = collect(zyg, files, ["cpu", "cuda"])
        timings["reference_cpu+cuda_s"] = round(time.perf_counter() - started, 3)
    cold_failed = sorted(c for c, o in run_checks(cold).items() if not o.passed)
    check.record(
        "CUDA started ahead: same outcomes as a fresh child per run",
        not cold_failed and sorted(run_checks(obs)) == sorted(run_checks(cold)),
        failed_without_ahead=cold_failed,
    )
    problems = {
        f"{ex}/{dev}": o.problem
        for ex, per in obs.items()
        for dev, o in per.items()
        if o.problem is not None
    }
    cuda_out = obs["mlp"]["cuda"].values.get("out1.device")
    check.record(
        "sandbox: CUDA children (CUDA before limits, bubblewrap)"
        if iso.filesystem
        else "sandbox: CUDA children (CUDA before limits)",
        not problems and cuda_out == "cuda",
        problems=problems,
        mlp_output_device=cuda_out,
    )
    outcomes = run_checks(obs)
    failed = sorted(c for c, o in outcomes.items() if not o.passed)
    on_cuda = [c for c, o in outcomes.items() if "cuda" in o.devices]
    check.record(
        "reference solutions: full marks on cpu+cuda",
        not failed,
        failed=failed,
        checks_run_on_cuda=len(on_cuda),
    )
    walls = {d: [obs[ex][d].wall for ex in MODEL if d in obs[ex]] for d in ("cpu", "cuda")}
    timings["mean_run_ms"] = {d: round(statistics.mean(w) * 1000, 1) for d, w in walls.items() if w}
    timings["cuda_extra_per_run_ms"] = round(
        statistics.mean(obs[ex]["cuda"].wall - obs[ex]["cpu"].wall for ex in MODEL) * 1000, 1
    )
    return timings


def rlimits_only(check: Check) -> None:
    iso = Isolation(False, "rlimits", "gpu_check: rlimits only")
    with Zygote(Limits(), iso) as zyg:
        zyg.load_submission(read_submission(SOLUTIONS))
        obs = _run(zyg, default().by_id["mlp"], "cuda")
    check.record(
        "sandbox: CUDA children (CUDA before limits, rlimits only)",
        obs.problem is None and obs.values.get("out1.device") == "cuda",
        problem=obs.problem,
    )


# -- 4./5. a class ----------------------------------------------------------------------
def build_class(dest: Path) -> dict[str, dict]:
    """Submission name -> what the corpus expects of it."""
    chosen = {"reference": (None, {"fails": []})}
    for case in sorted((DATA / "correct").iterdir()):
        if case.is_dir():
            chosen[f"correct_{case.name}"] = (case, {"fails": []})
    for case in sorted((DATA / "buggy").iterdir()):
        exp = json.loads((case / "expect.json").read_text()) if case.is_dir() else {}
        if _device_bug(case.name, exp) or case.name.startswith(GPU_SENSITIVE):
            chosen[f"buggy_{case.name}"] = (case, exp)
    for name, (case, _exp) in chosen.items():
        shutil.copytree(SOLUTIONS, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        for f in case.iterdir() if case else []:
            if f.is_file() and f.name != "expect.json":
                shutil.copy(f, dest / name / f.name)
    return {name: exp for name, (_case, exp) in chosen.items()}


def _device_bug(name: str, exp: dict) -> bool:
    if not (exp.get("fails") or exp.get("cuda_fails")):
        return False  # a correct case, whatever its name
    return "device bug" in exp.get("why", "") or "_device_" in name


class GpuMemory(threading.Thread):
    """Peak GPU memory in use, sampled with nvidia-smi (all processes)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.smi = shutil.which("nvidia-smi")
        self.peak_mib: int | None = None
        self.stop = threading.Event()

    def sample(self) -> None:
        if not self.smi:
            return
        code, out, _ = _run_cmd(
            [self.smi, "--query-gpu=memory.used", "--format=csv,noheader,nounits"], 10
        )
        if code == 0:
            used = sum(int(x) for x in out.split() if x.isdigit())
            self.peak_mib = max(self.peak_mib or 0, used)

    def run(self) -> None:
        while self.smi and not self.stop.is_set():
            self.sample()
            self.stop.wait(0.25)


def grade_class(check: Check, klass: Path, out: Path, device: str, env=None) -> tuple[dict, float]:
    started = time.perf_counter()
    code, _stdout, err = _run_cmd(
        [
            sys.executable,
            "-m",
            "grader",
            str(klass),
            "--device",
            device,
            "--jobs",
            str(JOBS),
            "--out",
            str(out),
        ],
        min(150, check.left()),
        env,
    )
    wall = time.perf_counter() - started
    docs = {}
    for path in sorted(out.glob("*/results.json")):
        docs[path.parent.name] = json.loads(path.read_text())
    if code != 0:
        check.record(f"grade --device {device}: ran", False, exit=code, stderr=err[-1500:])
    return docs, wall


def failing(doc: dict) -> set[str]:
    return {e["id"] for e in doc["exercises"] if e["score"] < e["max_score"]}


def class_on_gpu(check: Check, docs: dict, expected: dict) -> None:
    bad = {}
    for name, exp in expected.items():
        doc = docs.get(name)
        if doc is None:
            bad[name] = "no results"
            continue
        if doc["metadata"].get("grader_error"):
            bad[name] = "grader error: " + doc["metadata"]["grader_error"]
            continue
        if doc["metadata"].get("devices") != ["cpu", "cuda"]:
            bad[name] = f"graded on {doc['metadata'].get('devices')}"
            continue
        want = set(exp["fails"]) | set(exp.get("cuda_fails", []))
        got = failing(doc)
        cuda_failed = {
            t["check"]
            for t in doc["tests"]
            if t["devices"].get("cuda", {}).get("status") == "failed"
        }
        cpu_failed = {
            t["check"]
            for t in doc["tests"]
            if t["devices"].get("cpu", {}).get("status") == "failed"
        }
        model_checks = [t for t in doc["tests"] if t["exercise"] in MODEL]
        if got != want:
            bad[name] = {"fails": sorted(got), "expected": sorted(want)}
        elif not want and any(
            t["devices"].get("cuda", {}).get("status") != "passed" for t in model_checks
        ):
            bad[name] = "a model check did not pass on CUDA"
        elif _device_bug(name, exp) and not cuda_failed:
            bad[name] = "no check failed on CUDA"
        elif exp.get("cuda_fails") and cpu_failed:
            bad[name] = {"GPU-only bug failed on the CPU": sorted(cpu_failed)}
    check.record(
        "class on cpu+cuda: correct cases full marks, device bugs caught on CUDA "
        "in their exercise only",
        not bad,
        submissions=len(expected),
        wrong=bad,
    )


def class_on_cpu(check: Check, gpu_host: dict, cpu_host: dict, expected: dict) -> None:
    differ = {}
    for name, exp in expected.items():
        a, b = gpu_host.get(name), cpu_host.get(name)
        if a is None or b is None:
            differ[name] = "no results"
            continue
        sa = {e["id"]: e["score"] for e in a["exercises"]}
        sb = {e["id"]: e["score"] for e in b["exercises"]}
        if sa != sb:
            differ[name] = {k: [sa.get(k), sb.get(k)] for k in sa if sa.get(k) != sb.get(k)}
        elif failing(a) != set(exp["fails"]):
            differ[name] = {"fails": sorted(failing(a)), "expected": exp["fails"]}
    check.record(
        "--device cpu on this GPU host scores as a CPU-only host "
        '(CUDA_VISIBLE_DEVICES="") and as the corpus expects',
        not differ,
        wrong=differ,
    )


def guarded(check: Check, name: str, fn, *args):
    """``fn(*args)``; an exception is a failed check, not the end of the script."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001
        check.record(name, False, error=f"{type(exc).__name__}: {exc}"[:1500])
        return None


# -- main -------------------------------------------------------------------------------
def main() -> int:
    started = time.monotonic()
    check = Check(started + BUDGET_S)
    summary: dict = {"status": None, "facts": facts()}
    reason = no_cuda_reason(summary["facts"])
    if reason:
        summary.update(
            status="no_cuda", reason=f"no CUDA device here: {reason}", exit_code=EXIT_NO_CUDA
        )
        print(json.dumps(summary, indent=2))
        return EXIT_NO_CUDA
    iso = detect_isolation()
    summary["facts"]["isolation"] = iso.method + (f" ({iso.describe()})" if iso.reason else "")
    timings: dict = {}
    guarded(check, "sandbox: CUDA starts without limits", bare_cuda_in_sandbox, check, iso)
    guarded(check, "sandbox: the start-of-grading CUDA check passes", start_of_grading, check, iso)
    timings.update(
        guarded(check, "reference solutions run by run", reference_run_by_run, check, iso) or {}
    )
    guarded(check, "sandbox: CUDA children (rlimits only)", rlimits_only, check)
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        klass = Path(tmp) / "class"
        klass.mkdir()
        expected = build_class(klass)
        memory = GpuMemory()
        memory.sample()
        baseline = memory.peak_mib
        memory.start()
        on_gpu, wall = grade_class(check, klass, Path(tmp) / "out-gpu", "cuda")
        memory.stop.set()
        memory.join()
        timings["class"] = {
            "submissions": len(expected),
            "jobs": JOBS,
            "cpu+cuda_s": round(wall, 2),
            "gpu_memory_before_mib": baseline,
            "peak_gpu_memory_mib": memory.peak_mib,
        }
        class_on_gpu(check, on_gpu, expected)
        on_cpu, wall = grade_class(check, klass, Path(tmp) / "out-cpu", "cpu")
        timings["class"]["cpu_s"] = round(wall, 2)
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
        cpu_host, wall = grade_class(check, klass, Path(tmp) / "out-cpu-host", "cpu", env)
        timings["class"]["cpu_only_host_s"] = round(wall, 2)
        class_on_cpu(check, on_cpu, cpu_host, expected)
    elapsed = time.monotonic() - started
    check.record(
        f"within the budget ({BUDGET_S:.0f} s)", elapsed <= BUDGET_S, elapsed_s=round(elapsed, 1)
    )
    failed = [r["name"] for r in check.results if not r["ok"]]
    code = EXIT_FAILED if failed else EXIT_OK
    summary.update(
        status="failed" if failed else "passed",
        exit_code=code,
        failed=failed,
        elapsed_s=round(elapsed, 1),
        timings=timings,
        checks=check.results,
    )
    print(json.dumps(summary, indent=2, default=str))
    return code


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # noqa: BLE001 - still one JSON object, and a distinct status
        import traceback

        print(
            json.dumps(
                {
                    "status": "broken",
                    "exit_code": EXIT_BROKEN,
                    "error": f"{type(exc).__name__}: {exc}",
                    "traceback": traceback.format_exc()[-3000:],
                },
                indent=2,
            )
        )
        sys.exit(EXIT_BROKEN)
