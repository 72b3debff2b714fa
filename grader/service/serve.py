"""``grade serve``: the web service and its grading workers on one machine.

The workers are processes of their own (``python -m grader.service.worker``),
started and restarted by a supervisor thread; each dies with the server
(``PR_SET_PDEATHSIG``).  At start, submissions left ``grading`` by a server
that was killed are queued again (with SQLite, every worker is this server's)."""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import sys
import threading
import time

from sqlalchemy import select, update

from ..parent_death import die_with_parent
from . import store, tokens
from .database import DataFolder, open_data
from .models import Attempt, Learner, Submission, utcnow

RESTART_DELAY = 1.0


def ensure_instructor(Session_) -> str | None:
    """Create the instructor at the first start; returns their token then (None later)."""
    with Session_.begin() as session:
        if session.scalar(select(Learner).where(Learner.role == "instructor")) is not None:
            return None
        session.add(Learner(id="instructor", name="Instructor", email="", role="instructor"))
        session.flush()
        return tokens.issue(session, "instructor")


def instructor_token(Session_) -> str:
    """A fresh instructor token (the older one stops working)."""
    ensure_instructor(Session_)
    with Session_.begin() as session:
        who = session.scalar(select(Learner.id).where(Learner.role == "instructor"))
        return tokens.issue(session, who)


def requeue_orphans(Session_) -> int:
    """Submissions a previous run of this server was grading: queued again."""
    with Session_.begin() as session:
        ids = list(session.scalars(select(Submission.id).where(Submission.state == "grading")))
        if ids:
            session.execute(
                update(Submission)
                .where(Submission.id.in_(ids))
                .values(state="queued", worker=None, lease_until=None)
            )
            session.execute(
                update(Attempt)
                .where(Attempt.submission_id.in_(ids), Attempt.finished_at.is_(None))
                .values(finished_at=utcnow(), outcome="lost")
            )
        return len(ids)


class Supervisor(threading.Thread):
    """Starts the workers and starts again any that ends."""

    def __init__(
        self, data_dir: str, count: int, *, no_isolation: bool, lease: float, poll: float
    ) -> None:
        super().__init__(daemon=True, name="workers")
        self.data_dir = data_dir
        self.count = count
        self.no_isolation = no_isolation
        self.lease = lease
        self.poll = poll
        self.procs: list[subprocess.Popen | None] = [None] * count
        self.stopping = threading.Event()
        self.pid_file = os.path.join(data_dir, "workers.pid")

    def _start(self, i: int) -> subprocess.Popen:
        cmd = [
            sys.executable,
            "-m",
            "grader.service.worker",
            "--data",
            self.data_dir,
            "--name",
            f"{os.uname().nodename}:{os.getpid()}:w{i}:{time.monotonic_ns()}",
            "--lease",
            str(self.lease),
            "--poll",
            str(self.poll),
        ]
        if self.no_isolation:
            cmd.append("--no-isolation")
        return subprocess.Popen(cmd, preexec_fn=die_with_parent, stdin=subprocess.DEVNULL)

    def run(self) -> None:
        while not self.stopping.is_set():
            changed = False
            for i, proc in enumerate(self.procs):
                if proc is None or proc.poll() is not None:
                    if proc is not None:
                        print(
                            f"grade serve: worker {i} ended (exit code {proc.returncode}); "
                            "starting it again",
                            file=sys.stderr,
                            flush=True,
                        )
                        time.sleep(RESTART_DELAY)
                    if self.stopping.is_set():
                        return
                    self.procs[i] = self._start(i)
                    changed = True
            if changed:
                self._write_pids()
            self.stopping.wait(0.5)

    def _write_pids(self) -> None:
        tmp = self.pid_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write("\n".join(str(p.pid) for p in self.procs if p is not None) + "\n")
        os.replace(tmp, self.pid_file)

    def stop(self) -> None:
        self.stopping.set()
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            if proc is not None:
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def serve(
    *,
    host: str,
    port: int,
    data_dir: str,
    workers: int,
    lang: str,
    isolation_off: str | None,
    no_isolation: bool,
    lease: float,
    poll: float,
    base_url: str | None,
    echo,
) -> None:
    import uvicorn

    from .web import Service, create_app

    data = DataFolder(data_dir)
    data.create()
    lock = hold_lock(data)  # one server per data folder
    sock = bind(host, port)  # a port in use: said before anything else
    data, engine, Session_ = open_data(data_dir)
    store.sweep(Session_, data)
    requeued = requeue_orphans(Session_)
    token = ensure_instructor(Session_)
    base = (base_url or f"http://{host}:{port}").rstrip("/")
    if token:
        echo(
            f"Instructor link (keep it private; `grade serve --instructor-link` makes a new "
            f"one): {base}/login/{token}"
        )
    if requeued:
        echo(f"{requeued} submission(s) left grading by the last run: queued again")
    service = Service(data, Session_, lang=lang, isolation_off=isolation_off, lease=lease)
    app = create_app(service)
    supervisor = Supervisor(
        str(data.root), workers, no_isolation=no_isolation, lease=lease, poll=poll
    )
    supervisor.start()
    echo(f"Serving on {base} with {workers} worker(s); data in {data.root}")
    try:
        uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)).run(
            sockets=[sock]
        )
    finally:
        supervisor.stop()
        engine.dispose()
        sock.close()
        lock.close()


class Busy(Exception):
    """The data folder is served already, or the port is taken: one line why."""


def hold_lock(data: DataFolder):
    """An exclusive lock on ``<data>/serve.lock`` (with this pid) for as long as
    the server runs; released by the kernel when it dies."""
    fh = open(data.root / "serve.lock", "a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.seek(0)
        pid = fh.read().strip() or "?"
        fh.close()
        raise Busy(
            f"{data.root} is already served (grade serve, pid {pid}); one server per data folder"
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"{os.getpid()}\n")
    fh.flush()
    return fh


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise Busy(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} (another program "
            "uses that port? --port to choose another)"
        ) from None
    sock.set_inheritable(False)
    return sock
