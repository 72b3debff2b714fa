"""A grading worker: claims queued submissions from the database and grades
them with a warm sandbox, exactly as ``grade`` does (``grade_or_error``, then
``grader.batch.save``: report.html, then results.json).

Run by ``grade serve`` as ``python -m grader.service.worker --data DIR ...``,
one process per worker; it dies with the server (``PR_SET_PDEATHSIG``), and
its sandbox dies with it.  A worker killed while grading leaves its claim to
run out (the lease), after which another worker grades the submission."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from dataclasses import replace

from ..parent_death import die_with_parent


def _limits(settings):
    from ..limits import Limits

    return replace(
        Limits(),
        time=float(settings.time_limit),
        memory=int(settings.memory_limit),
        output=int(settings.output_limit),
    )


class Worker:
    def __init__(
        self, data_dir: str, name: str, *, no_isolation: bool, lease: float, poll: float
    ) -> None:
        from ..sandbox import detect_isolation
        from .claims import DatabaseQueue
        from .database import open_data

        self.data, self.engine, self.Session = open_data(data_dir, migrate=False)
        # never visible to learner code, wherever the instructor put it
        from ..sandbox import hide

        hide(self.data.root)
        self.queue = DatabaseQueue(self.Session, lease=lease)
        self.name = name
        self.poll = poll
        self.isolation = detect_isolation(no_isolation)
        self.zygote = None
        self.zygote_limits = None
        self.stopping = False

    def _zygote(self, limits):
        from ..sandbox import Zygote

        if self.zygote is not None and self.zygote_limits != limits:
            self.zygote.close()
            self.zygote = None
        if self.zygote is None:
            self.zygote = Zygote(limits, self.isolation)
            self.zygote.start()
            self.zygote_limits = limits
        return self.zygote

    def run(self) -> None:
        from .settings import load

        with self.Session() as session:  # warm the sandbox before the first submission
            self._zygote(_limits(load(session)))
        while not self.stopping:
            self.queue.requeue_expired()
            claimed = self.queue.claim(self.name)
            if claimed is None:
                time.sleep(self.poll)
                continue
            self.grade(*claimed)

    def grade(self, submission_id: int, attempt_id: int) -> None:
        from ..batch import Job, cache_key, save
        from ..grading import Options, grade_or_error
        from ..i18n import set_language
        from ..report import render_report
        from ..results import error_results
        from ..submission import read_submission
        from .models import Submission
        from .settings import load

        with self.Session() as session:
            sub = session.get(Submission, submission_id)
            settings = load(session, sub.assignment)
            learner, folder, lang = sub.learner_id, sub.folder, sub.language
            work = sub.assignment
        options = Options(devices=["cpu"], limits=_limits(settings), language=lang, assignment=work)
        set_language(lang)
        source = self.data.submissions / folder
        target = self.data.results / str(submission_id) / str(attempt_id)
        job = Job(name=learner, folder=source)
        beat = threading.Event()
        ticker = threading.Thread(target=self._heartbeat, args=(submission_id, beat), daemon=True)
        ticker.start()
        try:
            try:
                doc = grade_or_error(source, self._zygote(options.limits), options, self.isolation)
                doc["metadata"]["submission"] = learner
                if not doc["metadata"].get("grader_error"):
                    doc["metadata"]["cache_key"] = cache_key(read_submission(source), options)
            except Exception as exc:  # noqa: BLE001 - this submission only
                doc = error_results(
                    name=learner, error=exc, options=options, isolation=self.isolation
                )
                if self.zygote is not None:
                    self.zygote.close()
                    self.zygote = None
            doc = save(target, doc, render_report, options, self.isolation, job)
        finally:
            beat.set()
            ticker.join()
        self.queue.finish(
            submission_id,
            attempt_id,
            self.name,
            folder=f"{submission_id}/{attempt_id}",
            score=float(doc["score"]),
            max_score=float(doc["max_score"]),
            grader_error=bool(doc["metadata"].get("grader_error")),
        )

    def _heartbeat(self, submission_id: int, done: threading.Event) -> None:
        while not done.wait(self.queue.lease / 3):
            try:
                self.queue.heartbeat(submission_id, self.name)
            except Exception:  # noqa: BLE001 - the next beat tries again
                pass

    def close(self) -> None:
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="grader.service.worker")
    parser.add_argument("--data", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--no-isolation", action="store_true")
    parser.add_argument("--lease", type=float, default=60.0)
    parser.add_argument("--poll", type=float, default=0.5)
    args = parser.parse_args(argv)
    die_with_parent()
    import torch

    torch.set_num_threads(1)
    worker = Worker(
        args.data, args.name, no_isolation=args.no_isolation, lease=args.lease, poll=args.poll
    )

    def stop(signum, frame):
        worker.close()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    try:
        worker.run()
    finally:
        worker.close()


if __name__ == "__main__":
    sys.exit(main())
