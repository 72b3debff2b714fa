"""Grades many submissions: warm workers, resumable, deterministic.

Each worker process owns one sandboxed zygote (torch imported once) and
grades submissions one after another; results are written atomically by the
parent, so an interrupted run resumes cleanly.
"""

from __future__ import annotations

import functools
import hashlib
import json
import multiprocessing
import multiprocessing.util
import os
import signal
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

from . import __version__
from .atomic import read_json, write_atomic, write_json
from .grading import Options, grade, read_submission, submission_hash
from .i18n import set_language
from .sandbox import Isolation, Zygote

_worker: dict = {}


@dataclass(frozen=True)
class Job:
    name: str
    folder: Path


def cache_key(files: dict[str, bytes], options: Options) -> str:
    doc = {"submission": submission_hash(files), "grader": __version__,
           "limits": asdict(options.limits), "devices": options.devices,
           "language": options.language, "checks": _checks_fingerprint()}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


@functools.lru_cache(maxsize=None)
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
    return bool(doc) and doc.get("metadata", {}).get("cache_key") == key and \
        (out_dir / "report.html").is_file()


# -- worker side ------------------------------------------------------------------------
def _init_worker(options: Options, isolation: Isolation) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    set_language(options.language)
    zygote = Zygote(options.limits, isolation)
    zygote.start()
    multiprocessing.util.Finalize(None, zygote.close, exitpriority=10)
    _worker.update(zygote=zygote, options=options, isolation=isolation)


def _grade_in_worker(job: Job, key: str) -> dict:
    doc = grade(job.folder, _worker["zygote"], _worker["options"], _worker["isolation"])
    doc["metadata"]["submission"] = job.name
    doc["metadata"]["cache_key"] = key
    return doc


# -- parent side --------------------------------------------------------------------------
def run_batch(jobs: list[Job], *, options: Options, isolation: Isolation, out: Path,
              workers: int, force: bool, on_done: Callable[[Job, dict, bool], None],
              render: Callable[[dict], str]) -> dict[str, dict]:
    """Grade ``jobs``; returns results by submission name (cached ones included)."""
    results: dict[str, dict] = {}
    todo: list[tuple[Job, str]] = []
    for job in jobs:
        key = cache_key(read_submission(job.folder), options)
        target = out / job.name
        if not force and is_current(target, key):
            doc = read_json(target / "results.json")
            results[job.name] = doc
            on_done(job, doc, True)
        else:
            todo.append((job, key))
    if not todo:
        return results
    workers = max(1, min(workers, len(todo)))
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(options, isolation)) as pool:
        pending: dict[Future, Job] = {}
        queue: Iterable = iter(todo)
        for job, key in queue:
            pending[pool.submit(_grade_in_worker, job, key)] = job
            if len(pending) >= workers * 2:
                break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                job = pending.pop(fut)
                doc = fut.result()
                save(out / job.name, doc, render)
                results[job.name] = doc
                on_done(job, doc, False)
                nxt = next(queue, None)
                if nxt is not None:
                    pending[pool.submit(_grade_in_worker, *nxt)] = nxt[0]
    return results


def save(target: Path, doc: dict, render: Callable[[dict], str]) -> None:
    """report.html first, results.json last: results.json marks a finished grading."""
    write_atomic(target / "report.html", render(doc))
    write_json(target / "results.json", doc)


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)))
