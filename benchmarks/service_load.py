"""Course-service load benchmark: upload -> "report ready" latency under load.

Usage:  python benchmarks/service_load.py [--rate 1] [--duration 120]
            [--burst-factor 3] [--burst-seconds 60] [--workers 2] [--no-isolation]

Starts `grade serve --workers N` on 127.0.0.1 (a temporary data folder, one
learner per upload so that no per-learner limit applies), then:
  1. steady: simulated learners upload real submissions (the reference
     solutions, buggy cases from tests/data and the untouched stubs of
     exercises/) at --rate per second for --duration seconds;
  2. burst: --burst-factor x the workers' measured capacity for
     --burst-seconds, and the queue drains;
  3. the same number of submissions as the burst graded by
     `grade class/ --jobs N` on this machine, for the drain-rate comparison.
Prints p50/p95/p99 of upload -> report ready (the server's submitted_at ->
graded_at), throughput, the largest queue position seen, whether anything
was lost, and the peak memory (PSS) of the server and its workers.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
DATA = ROOT / "tests" / "data"
sys.path.insert(0, str(ROOT / "benchmarks"))
from batch import _pss  # noqa: E402  (PSS of one process)


def pool() -> list[dict[str, bytes]]:
    """Reference, buggy and stub submissions, as uploads."""
    base = {p.name: p.read_bytes() for p in SOLUTIONS.glob("*.py")}
    subs = [dict(base), {p.name: p.read_bytes() for p in EXERCISES.glob("*.py")}]
    for case in sorted((DATA / "buggy").glob("*"))[:20]:
        files = dict(base)
        files.update(
            {
                f.name: f.read_bytes()
                for f in case.iterdir()
                if f.is_file() and f.name != "expect.json"
            }
        )
        subs.append(files)
    return subs


def tree(pid: int) -> list[psutil.Process]:
    """The server and all its descendants (workers, sandboxes, their children)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


class Memory(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            self.peak = max(self.peak, sum(_pss(p) for p in tree(self.pid)))


def parse(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=1.0)
    ap.add_argument("--duration", type=float, default=120)
    ap.add_argument("--burst-factor", type=float, default=3)
    ap.add_argument("--burst-seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-isolation", action="store_true")
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="service-load-"))
    data = tmp / "data"
    # one learner per upload (tokens cost a scrypt each): the steady phase, and a burst
    # at the factor times a capacity of at most one grading a second per worker
    learners = [
        f"l{i:04d}"
        for i in range(
            int(args.rate * args.duration + args.burst_factor * args.workers * args.burst_seconds)
            + 10
        )
    ]
    (tmp / "roster.csv").write_text(
        "id,name,email\n" + "".join(f"{who},{who},\n" for who in learners)
    )
    grade = [sys.executable, "-m", "grader"]
    subprocess.run(
        grade + ["roster", "import", str(tmp / "roster.csv"), "--data", str(data)],
        check=True,
        capture_output=True,
    )
    print("issuing tokens (scrypt)...", flush=True)
    links = subprocess.run(
        grade + ["roster", "links", "--base-url", "http://x", "--data", str(data)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    tokens = [r["token"] for r in csv.DictReader(io.StringIO(links))]
    cmd = (
        grade
        + ["serve", "--port", str(args.port), "--data", str(data), "--workers", str(args.workers)]
        + (["--no-isolation"] if args.no_isolation else [])
    )
    log = open(tmp / "serve.log", "w")
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(600):
            try:
                httpx.get(url + "/api/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        instructor = (tmp / "serve.log").read_text().split("/login/")[1].split()[0]
        admin = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {instructor}"}, timeout=60
        )
        admin.put("/api/settings", json={"per_hour": 100000})
        time.sleep(5)  # workers warm their sandboxes
        memory = Memory(server.pid)
        memory.start()
        subs = itertools.cycle(pool())
        next_token = iter(tokens)
        sent: list[int] = []
        lock = threading.Lock()
        max_position = [0]

        def upload(files: dict[str, bytes]) -> None:
            with httpx.Client(
                base_url=url, timeout=120, headers={"Authorization": f"Bearer {next(next_token)}"}
            ) as c:
                r = c.post("/api/submissions", files=[("files", (n, b)) for n, b in files.items()])
            if r.status_code != 202:
                print("refused:", r.status_code, r.text[:200], flush=True)
                return
            with lock:
                sent.append(r.json()["id"])
                max_position[0] = max(max_position[0], r.json().get("position") or 0)

        def phase(rate: float, seconds: float) -> list[int]:
            start, threads, first = time.monotonic(), [], len(sent)
            for i in range(int(rate * seconds)):
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                t = threading.Thread(target=upload, args=(next(subs),))
                t.start()
                threads.append(t)
            for t in threads:
                t.join()
            return sent[first:]

        def drained(ids: list[int], timeout: float = 3600) -> dict[int, dict]:
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                docs = {d["id"]: d for d in admin.get("/api/submissions?limit=5000").json()}
                if all(docs[i]["state"] in ("done", "error") for i in ids):
                    return {i: docs[i] for i in ids}
                time.sleep(1)
            raise SystemExit("not drained")

        print(f"steady: {args.rate}/s for {args.duration:g} s", flush=True)
        t0 = time.time()
        steady = drained(phase(args.rate, args.duration))
        lat = [parse(d["graded_at"]) - parse(d["submitted_at"]) for d in steady.values()]
        steady_span = max(parse(d["graded_at"]) for d in steady.values()) - t0
        service_s = statistics.mean(lat) if lat else 1.0
        capacity = min(args.workers / max(service_s, 0.1), float(args.workers))
        burst_rate = args.burst_factor * capacity
        print(
            f"burst: {burst_rate:.2f}/s ({args.burst_factor:g}x the measured capacity "
            f"{capacity:.2f}/s) for {args.burst_seconds:g} s",
            flush=True,
        )
        burst_ids = phase(burst_rate, args.burst_seconds)
        burst = drained(burst_ids)
        b_end = max(parse(d["graded_at"]) for d in burst.values())
        first_done = min(parse(d["graded_at"]) for d in burst.values())
        drain_rate = (len(burst) - 1) / max(b_end - first_done, 1e-6)
        memory.stop.set()
        lost = [i for i in sent if i not in steady and i not in burst]
        blat = [parse(d["graded_at"]) - parse(d["submitted_at"]) for d in burst.values()]
    finally:
        server.terminate()
        server.wait(30)
    # the command line on the same submissions as the burst, for the drain-rate
    # comparison (its wall time includes its start: imports, sandboxes)
    klass = tmp / "class"
    mix = pool()
    for i, files in zip(
        range(len(burst_ids)),
        itertools.islice(itertools.cycle(mix), len(sent) - len(burst_ids), None),
    ):
        (klass / f"s{i:04d}").mkdir(parents=True)
        for name, blob in files.items():
            (klass / f"s{i:04d}" / name).write_bytes(blob)
    c0 = time.monotonic()
    subprocess.run(
        grade
        + [str(klass), "--out", str(tmp / "out"), "--jobs", str(args.workers), "--device", "cpu"]
        + (["--no-isolation"] if args.no_isolation else []),
        check=True,
        capture_output=True,
    )
    cli_rate = len(burst_ids) / (time.monotonic() - c0)
    print()
    print(
        f"steady  n={len(lat)}: p50 {percentile(lat, 50):.2f} s, p95 {percentile(lat, 95):.2f}"
        f" s, p99 {percentile(lat, 99):.2f} s; throughput {len(lat) / steady_span:.2f}/s; "
        f"mean grading {service_s:.2f} s"
    )
    print(
        f"burst   n={len(blat)}: p50 {percentile(blat, 50):.2f} s, p95 "
        f"{percentile(blat, 95):.2f} s, p99 {percentile(blat, 99):.2f} s; largest queue "
        f"position {max_position[0]}; drain {drain_rate:.3f}/s vs grade class/ --jobs "
        f"{args.workers} {cli_rate:.3f}/s ({100 * (drain_rate / cli_rate - 1):+.0f} %)"
    )
    print(
        f"lost: {len(lost)}; peak memory (PSS, server + workers + sandboxes) "
        f"{memory.peak / 2**20:.0f} MiB"
    )
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
