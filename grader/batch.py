"""Grades many submissions: warm workers, resumable, deterministic, stoppable.

Each worker process owns one sandboxed zygote (torch imported once) and
grades submissions one after another; results are written atomically by the
parent as they arrive, so an interrupted run resumes cleanly.

Stopping (see ``run_batch``): the first Ctrl-C stops handing out work, keeps
what arrives within ``GRACE`` seconds and then kills the workers; a second
Ctrl-C, SIGTERM or SIGHUP kills them at once.  Workers die with the parent
(``PR_SET_PDEATHSIG``), and each worker's sandbox dies with its worker, so
even a SIGKILL of the grader leaves no process behind.
"""

from __future__ import annotations

import functools
import hashlib
import json
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path

import torch

from . import __version__
from .atomic import read_json, write_atomic, write_json
from .grading import Options, grade_or_error, submission_hash
from .i18n import set_language
from .parent_death import die_with_parent
from .results import error_results
from .sandbox import Isolation, Zygote
from .submission import read_submission

GRACE = 1.0  # seconds the first Ctrl-C waits for submissions about to finish
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class Job:
    name: str  # the learner's name: gradebook row and output folder
    folder: Path  # the folder whose files are graded
    notices: tuple[str, ...] = field(default=())  # said in the report (already translated)


class Interrupted(Exception):
    """The run was stopped by a signal; ``results`` holds what finished."""

    def __init__(self, signum: int, results: dict[str, dict], total: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.results = results
        self.total = total


def cache_key(files: dict[str, bytes], options: Options, notices: tuple[str, ...] = ()) -> str:
    doc = {
        "submission": submission_hash(files),
        "grader": __version__,
        "limits": asdict(options.limits),
        "devices": options.devices,
        "language": options.language,
        "checks": _checks_fingerprint(),
        "notices": list(notices),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


@functools.cache
def _checks_fingerprint() -> str:
    """Any change to the grader's own files (code, templates, catalogs)
    invalidates cached results."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    return h.hexdigest()


def is_current(out_dir: Path, key: str) -> bool:
    doc = read_json(out_dir / "results.json")
    meta = doc.get("metadata") if doc else None
    return (
        isinstance(meta, dict)
        and meta.get("cache_key") == key
        and not meta.get("grader_error")
        and (out_dir / "report.html").is_file()
    )


# -- worker side ------------------------------------------------------------------------
def _worker_main(conn: Connection, options: Options, isolation: Isolation) -> None:
    """Grade the jobs the parent sends until it sends None or goes away."""
    die_with_parent()
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    # OpenMP's thread pool does not survive fork: a parent that ran a parallel torch
    # operation would leave this process hanging in its first one (the checks are
    # small tensors; one thread is what they need)
    torch.set_num_threads(1)
    set_language(options.language)
    zygote: Zygote | None = None
    try:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                return
            if msg is None:
                return
            job, key = msg
            try:
                if zygote is None:
                    zygote = Zygote(options.limits, isolation)
                    zygote.start()
                doc = grade_or_error(job.folder, zygote, options, isolation)
                doc["metadata"]["submission"] = job.name
                if not doc["metadata"].get("grader_error"):  # never cached: regraded
                    doc["metadata"]["cache_key"] = key
                if job.notices:
                    doc["metadata"]["notices"] = list(job.notices)
                conn.send(("done", doc))
            except Exception as exc:  # noqa: BLE001 - this submission only, never the class
                conn.send(("error", f"{type(exc).__name__}: {exc}"[:500]))
                if zygote is not None:  # a fresh sandbox for the next submission
                    zygote.close()
                    zygote = None
    finally:
        if zygote is not None:
            zygote.close()


class _Worker:
    def __init__(self, ctx, options: Options, isolation: Isolation) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, options, isolation), daemon=True)
        # The stop signals stay blocked in the new process until it has set
        # its own handlers, so a Ctrl-C never runs the parent's handler there.
        old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            self.proc.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        child.close()
        self.job: tuple[Job, str] | None = None

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        self.conn.close()

    def stop(self, timeout: float) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.proc.join(timeout)
        self.kill()


class _Signals:
    """Turns stop signals into state the main loop reads; a wakeup socket
    interrupts its wait."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self._rsock, self._wsock = socket.socketpair()
        self._rsock.setblocking(False)
        self._wsock.setblocking(False)
        self._old: dict = {}
        self._old_fd = -1

    def __enter__(self) -> _Signals:
        for sig in STOP_SIGNALS:
            self._old[sig] = signal.signal(sig, self._on_signal)
        self._old_fd = signal.set_wakeup_fd(self._wsock.fileno(), warn_on_full_buffer=False)
        return self

    def __exit__(self, *exc) -> None:
        signal.set_wakeup_fd(self._old_fd)
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._rsock.close()
        self._wsock.close()

    def _on_signal(self, signum, frame) -> None:
        self.received.append(signum)

    def fileno(self) -> int:
        return self._rsock.fileno()

    def drain(self) -> None:
        try:
            while self._rsock.recv(512):
                pass
        except OSError:
            pass

    @property
    def stopping(self) -> bool:
        return bool(self.received)

    @property
    def immediate(self) -> bool:
        """A second signal, or any signal other than Ctrl-C."""
        return len(self.received) > 1 or any(s != signal.SIGINT for s in self.received)


# -- parent side --------------------------------------------------------------------------
def run_batch(
    jobs: list[Job],
    *,
    options: Options,
    isolation: Isolation,
    out: Path,
    workers: int,
    force: bool,
    on_done: Callable[[Job, dict, bool], None],
    render: Callable[[dict], str],
) -> dict[str, dict]:
    """Grade ``jobs``; returns results by submission name (cached ones included).

    Raises ``Interrupted`` (with what finished) when stopped by a signal."""
    results: dict[str, dict] = {}
    todo: list[tuple[Job, str]] = []
    for job in jobs:
        key = cache_key(read_submission(job.folder), options, job.notices)
        target = out / job.name
        if not force and is_current(target, key):
            doc = read_json(target / "results.json")
            results[job.name] = doc
            on_done(job, doc, True)
        else:
            todo.append((job, key))
    if not todo:
        return results
    ctx = multiprocessing.get_context("fork")
    pool: list[_Worker] = []
    with _Signals() as signals:
        try:
            pool = [
                _Worker(ctx, options, isolation) for _ in range(max(1, min(workers, len(todo))))
            ]
            _dispatch(pool, todo, ctx, options, isolation, signals, out, render, results, on_done)
        finally:
            if signals.stopping:
                for w in pool:
                    w.kill()
            else:
                for w in pool:
                    w.stop(timeout=10)
        if signals.stopping and len(results) < len(jobs):
            raise Interrupted(signals.received[-1], results, len(jobs))
    return results


def _dispatch(
    pool: list[_Worker],
    todo: list[tuple[Job, str]],
    ctx,
    options: Options,
    isolation: Isolation,
    signals: _Signals,
    out: Path,
    render: Callable[[dict], str],
    results: dict[str, dict],
    on_done: Callable[[Job, dict, bool], None],
) -> None:
    queue = list(reversed(todo))
    grace_end: float | None = None

    def finish(job: Job, doc: dict) -> None:
        doc = save(out / job.name, doc, render, options, isolation, job)
        results[job.name] = doc
        on_done(job, doc, False)

    while True:
        if signals.stopping:
            if signals.immediate:
                return
            grace_end = grace_end or time.monotonic() + GRACE
            if time.monotonic() >= grace_end:
                return
        else:
            for w in pool:
                if w.job is None and queue:
                    w.job = queue.pop()
                    try:
                        w.conn.send(w.job)
                    except OSError:
                        pass  # a dead worker: its sentinel says so below
        busy = [w for w in pool if w.job is not None]
        if not busy:
            return
        timeout = None if grace_end is None else max(0.0, grace_end - time.monotonic())
        ready = wait([signals] + [w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout)
        signals.drain()
        for i, w in enumerate(pool):
            if w.job is None:
                continue
            job, _key = w.job
            if w.conn in ready:
                try:
                    kind, payload = w.conn.recv()
                except (EOFError, OSError):
                    kind, payload = "error", "the grader's worker process ended unexpectedly"
            elif w.proc.sentinel in ready:
                kind, payload = (
                    "error",
                    f"the grader's worker process ended unexpectedly (exit code {w.proc.exitcode})",
                )
            else:
                continue
            w.job = None
            if kind == "done":
                finish(job, payload)
            else:
                finish(
                    job,
                    error_results(
                        name=job.name, error=payload, options=options, isolation=isolation
                    ),
                )
            if not w.proc.is_alive() and not signals.stopping:
                w.kill()
                pool[i] = _Worker(ctx, options, isolation)


def save(
    target: Path,
    doc: dict,
    render: Callable[[dict], str],
    options: Options,
    isolation: Isolation,
    job: Job,
) -> dict:
    """report.html first, results.json last: results.json marks a finished grading.

    If the document cannot be written (a grader bug on odd learner data), the
    submission gets a grader-error outcome instead: one learner, never the class."""
    try:
        write_atomic(target / "report.html", render(doc))
        write_json(target / "results.json", doc)
        return doc
    except Exception as exc:  # noqa: BLE001 - this submission only
        doc = error_results(name=job.name, error=exc, options=options, isolation=isolation)
        write_atomic(target / "report.html", render(doc))
        write_json(target / "results.json", doc)
        return doc


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)))
