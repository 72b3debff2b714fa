"""What the bubblewrap sandbox costs, compared with the --no-isolation fallback.

Usage:  python benchmarks/sandbox_overhead.py [--reps 3] [--warm 5]

For each isolation mode (``bubblewrap``, ``rlimits``) a fresh Python process
(so nothing is shared between modes but the OS page cache) measures:

  * ``start``: starting a zygote (bubblewrap + Python + torch import + warm-up,
    or the same without bubblewrap) until it answers;
  * ``first``: grading solutions/ right after (the cold path of ``grade one/``,
    minus the grader's own imports, which do not depend on the mode);
  * ``warm``: grading solutions/ again with the warm zygote (median of
    ``--warm`` gradings): the steady-state cost per submission of a class run;
  * ``collect``: of a warm grading, only the sandboxed part (loading the
    submission and one forked child per exercise run, no checks), median;
  * ``per run``: ``collect`` divided by the number of child runs.

The modes alternate, ``--reps`` times, and the medians are reported with the
difference bubblewrap - rlimits.  Run it on an idle machine: the figures are
wall-clock times.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
MODES = ("bubblewrap", "rlimits")


def worker(mode: str, warm: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from grader.grading import Options, collect, grade
    from grader.i18n import set_language
    from grader.limits import Limits
    from grader.sandbox import Zygote, detect_isolation
    from grader.submission import read_submission

    set_language("en")
    isolation = detect_isolation(mode == "rlimits")
    if mode == "bubblewrap" and not isolation.filesystem:
        return {"mode": mode, "unavailable": isolation.reason}
    options = Options(devices=["cpu"], limits=Limits())
    zygote = Zygote(options.limits, isolation)
    t = time.monotonic()
    zygote.start()
    start = time.monotonic() - t
    try:
        t = time.monotonic()
        doc = grade(SOLUTIONS, zygote, options, isolation)
        first = time.monotonic() - t
        assert doc["score"] == doc["max_score"], "the solutions did not get full marks"
        warm_times, collect_times, runs = [], [], 0
        files = read_submission(SOLUTIONS)
        for _ in range(warm):
            t = time.monotonic()
            grade(SOLUTIONS, zygote, options, isolation)
            warm_times.append(time.monotonic() - t)
            before = _runs(zygote)
            t = time.monotonic()
            collect(zygote, files, ["cpu"])
            collect_times.append(time.monotonic() - t)
            runs = _runs(zygote) - before
    finally:
        zygote.close()
    return {
        "mode": mode,
        "start": start,
        "first": first,
        "warm": statistics.median(warm_times),
        "collect": statistics.median(collect_times),
        "runs": runs,
    }


def _runs(zygote) -> int:
    """Child runs so far (counted on the grader's side of the pipe)."""
    return getattr(zygote, "_bench_runs", 0)


def _count_runs() -> None:
    from grader.sandbox import Zygote

    original = Zygote.run

    def run(self, request, inputs):
        self._bench_runs = getattr(self, "_bench_runs", 0) + 1
        return original(self, request, inputs)

    Zygote.run = run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--warm", type=int, default=5)
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _count_runs()
        print(json.dumps(worker(args.worker, args.warm)))
        return
    results: dict[str, list[dict]] = {m: [] for m in MODES}
    for rep in range(args.reps):
        for mode in MODES:
            out = subprocess.run(
                [sys.executable, __file__, "--worker", mode, "--warm", str(args.warm)],
                capture_output=True,
                text=True,
                check=True,
            )
            doc = json.loads(out.stdout.strip().splitlines()[-1])
            if "unavailable" in doc:
                sys.exit(f"bubblewrap is not available here: {doc['unavailable']}")
            results[mode].append(doc)
            print(
                f"rep {rep + 1}/{args.reps} {mode:10s} start {doc['start']:.2f} s  "
                f"first {doc['first']:.2f} s  warm {doc['warm']:.2f} s  "
                f"collect {doc['collect']:.2f} s ({doc['runs']} runs)",
                file=sys.stderr,
            )
    rows = [
        ("start (zygote ready)", "start"),
        ("first submission", "first"),
        ("warm, per submission", "warm"),
        ("warm, sandboxed part only", "collect"),
    ]
    med = {m: {k: statistics.median(d[k] for d in results[m]) for _, k in rows} for m in MODES}
    runs = results["bubblewrap"][0]["runs"] or 1
    print(f"{'':28s}{'bubblewrap':>12s}{'rlimits':>12s}{'difference':>12s}")
    for label, key in rows:
        b, r = med["bubblewrap"][key], med["rlimits"][key]
        print(f"{label:28s}{b:11.2f}s{r:11.2f}s{b - r:+11.2f}s")
    b, r = med["bubblewrap"]["collect"] / runs, med["rlimits"]["collect"] / runs
    print(
        f"{'per child run (' + str(runs) + ' runs)':28s}{b * 1000:10.1f}ms{r * 1000:10.1f}ms"
        f"{(b - r) * 1000:+10.1f}ms"
    )


if __name__ == "__main__":
    main()
