"""Class-scale benchmark: cold single grading vs a warm batch.

Usage:  python benchmarks/batch.py [--sizes 10 50 200] [--jobs 2]

Builds a class of submissions (reference solutions, alternative correct ones
and buggy ones from tests/data, overlaid on solutions/), then measures, in one
run on this machine:
  * the wall time of a cold `grade one/` (a fresh process: imports, sandbox);
  * the wall time of `grade` over each class size with --jobs N;
  * the throughput ratio  size x cold / batch  and the marginal cost per
    submission between sizes;
  * the peak memory (PSS, so pages shared by fork are not counted twice) of
    each worker's process tree: worker, bubblewrap, zygote and its children.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
DATA = ROOT / "tests" / "data"


def build_class(dest: Path, size: int) -> list[Path]:
    cases = [None] + sorted(
        p for kind in ("correct", "buggy") for p in (DATA / kind).glob("*") if p.is_dir()
    )
    subs = []
    for i, case in zip(range(size), itertools.cycle(cases)):
        sub = dest / f"s{i:03d}_{case.name if case else 'reference'}"
        shutil.copytree(SOLUTIONS, sub, ignore=shutil.ignore_patterns("__pycache__"))
        if case is not None:
            for f in case.iterdir():
                if f.is_file() and f.name != "expect.json":
                    shutil.copy(f, sub / f.name)
        subs.append(sub)
    return subs


def _pss(proc: psutil.Process) -> int:
    try:
        return proc.memory_full_info().pss
    except psutil.Error:
        return 0


def _tree_pss(worker: psutil.Process) -> int:
    """PSS of ``worker`` and all its descendants."""
    try:
        procs = [worker, *worker.children(recursive=True)]
    except psutil.Error:
        return 0
    return sum(map(_pss, procs))


class MemorySampler(threading.Thread):
    """Peak PSS of each direct child's process tree of ``root`` (the workers)."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        root = psutil.Process(self.root)
        while not self.stop.is_set():
            try:
                workers = root.children()
            except psutil.Error:
                workers = []
            for worker in workers:
                self.peak = max(self.peak, _tree_pss(worker))
            time.sleep(0.2)


def timed_grade(subs: list[Path], out: Path, jobs: int) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grader",
            *map(str, subs),
            "--out",
            str(out),
            "--jobs",
            str(jobs),
            "--force",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    sampler = MemorySampler(proc.pid)
    sampler.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    sampler.stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"grade failed ({proc.returncode}): {err[-2000:]}")
    return elapsed, sampler.peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--cold-runs", type=int, default=3, help="cold runs to take the median of (default 3)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
        tmp = Path(tmp)
        subs = build_class(tmp / "class", max(args.sizes))
        colds = sorted(
            timed_grade(subs[:1], tmp / f"cold{i}", 1) for i in range(max(1, args.cold_runs))
        )
        cold, cold_mem = colds[len(colds) // 2]
        print(
            f"cold `grade one/`: {cold:.2f} s, median of {len(colds)} "
            f"({', '.join(f'{c:.2f}' for c, _ in colds)}); peak PSS per worker "
            f"{cold_mem / 2**20:.0f} MiB"
        )
        figures = {"cold_s": cold, "jobs": args.jobs, "sizes": {}}
        previous = None
        for size in sorted(args.sizes):
            wall, mem = timed_grade(subs[:size], tmp / f"out{size}", args.jobs)
            ratio = size * cold / wall
            line = (
                f"{size:4d} submissions, --jobs {args.jobs}: {wall:7.2f} s, "
                f"{wall / size:.2f} s/submission, ratio {size} x cold / batch = {ratio:5.1f}, "
                f"peak PSS per worker {mem / 2**20:.0f} MiB"
            )
            if previous:
                marginal = (wall - previous[1]) / (size - previous[0])
                line += f", marginal {marginal:.2f} s/submission since {previous[0]}"
                figures["sizes"][size] = {
                    "wall_s": wall,
                    "ratio": ratio,
                    "marginal_s": marginal,
                    "peak_worker_mib": mem / 2**20,
                }
            else:
                figures["sizes"][size] = {
                    "wall_s": wall,
                    "ratio": ratio,
                    "peak_worker_mib": mem / 2**20,
                }
            print(line, flush=True)
            previous = (size, wall)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
