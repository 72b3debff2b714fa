"""GPU check: run on a machine with CUDA (takes a few minutes at most).

Usage:  python benchmarks/gpu_check.py

1. The reference solutions get full marks with the checks run on the CPU and
   on CUDA, every model check passing on both devices.
2. Every device-bug submission in tests/data/buggy (those whose expect.json
   "why" says "device bug") is caught on CUDA too: the exercise it targets
   loses points there, and only that exercise.
3. Timings: grading the solutions on the CPU only vs on the CPU and CUDA, and
   the mean child run time per device.
Exit status 0 when all holds, 1 when something does not, 2 without CUDA.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.exercises import BY_ID  # noqa: E402
from grader.grading import Options, grade  # noqa: E402
from grader.limits import Limits  # noqa: E402
from grader.sandbox import Zygote, detect_isolation  # noqa: E402


def overlay(case: Path, dest: Path) -> Path:
    sub = dest / case.name
    shutil.copytree(ROOT / "solutions", sub, ignore=shutil.ignore_patterns("__pycache__"))
    for f in case.iterdir():
        if f.is_file() and f.name != "expect.json":
            shutil.copy(f, sub / f.name)
    return sub


def main() -> int:
    if not torch.cuda.is_available():
        print("gpu_check: no CUDA device on this machine; run this script where there is one")
        return 2
    print(f"torch {torch.__version__}, {torch.cuda.device_count()} GPU(s): "
          f"{torch.cuda.get_device_name(0)}")
    iso = detect_isolation()
    print(f"isolation: {iso}")
    ok = True
    limits = Limits(time=60.0)
    with Zygote(limits, iso) as zygote, tempfile.TemporaryDirectory() as tmp:
        timings = {}
        for devices in (["cpu"], ["cpu", "cuda"]):
            opts = Options(devices=devices, limits=limits)
            grade(ROOT / "solutions", zygote, opts, iso)  # warm-up (CUDA context, caches)
            start = time.perf_counter()
            doc = grade(ROOT / "solutions", zygote, opts, iso)
            timings["+".join(devices)] = time.perf_counter() - start
            bad = [t["check"] for t in doc["tests"] if t["status"] != "passed"]
            print(f"solutions on {'+'.join(devices)}: {doc['score']:g}/{doc['max_score']:g}"
                  f"{' FAILED: ' + ', '.join(bad) if bad else ''}")
            ok &= not bad
            if "cuda" in devices:
                model = [t for t in doc["tests"] if BY_ID[t["exercise"]].model]
                on_cuda = sum(1 for t in model if t["devices"].get("cuda", {}).get("status")
                              == "passed")
                print(f"  model checks passing on cuda: {on_cuda}/{len(model)}")
                ok &= on_cuda == len(model)
                walls = {d: [] for d in devices}
                for ex in doc["exercises"]:
                    for d in ex["devices"]:
                        walls[d].append(ex["wall_time"] / len(ex["devices"]))
                print("  mean run time per exercise: " + ", ".join(
                    f"{d} {sum(w) / max(len(w), 1) * 1000:.0f} ms" for d, w in walls.items()))
        print("grading time: " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()))
        opts = Options(devices=["cpu", "cuda"], limits=limits)
        for case in sorted((ROOT / "tests/data/buggy").glob("*")):
            expect = json.loads((case / "expect.json").read_text())
            if "device bug" not in expect.get("why", ""):
                continue
            doc = grade(overlay(case, Path(tmp)), zygote, opts, iso)
            failing = {e["id"] for e in doc["exercises"] if e["score"] < e["max_score"]}
            cuda_failures = sorted({t["check"] for t in doc["tests"]
                                    if t["devices"].get("cuda", {}).get("status") == "failed"})
            caught = failing == set(expect["fails"]) and bool(cuda_failures)
            ok &= caught
            print(f"{'caught' if caught else 'MISSED'}: {case.name}: fails {sorted(failing)}; "
                  f"failing on cuda: {', '.join(cuda_failures) or 'none'}")
    print("GPU CHECK " + ("PASSED" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
