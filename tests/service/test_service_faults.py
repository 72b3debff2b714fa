"""Faults: a worker killed in the middle of a grading, and the whole service
killed with submissions queued and running.  Every acknowledged submission
is graded afterwards, at most once more, and nothing is lost."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from .conftest import Server, cheap_files, roster, solution_files, upload

pytestmark = pytest.mark.slow


def _wait_state(server: Server, token: str, sid: int, state: str, timeout: float = 120) -> None:
    with server.client(token) as c:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if c.get(f"/api/submissions/{sid}").json()["state"] == state:
                return
            time.sleep(0.1)
    raise AssertionError(f"submission {sid} never {state}")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_worker_killed_while_grading(server):
    token = server.tokens["eve"]
    with server.client(token) as c:
        r = upload(c, solution_files())
        assert r.status_code == 202
        sid = r.json()["id"]
    _wait_state(server, token, sid, "grading")
    (victim,) = server.worker_pids()
    os.kill(victim, signal.SIGKILL)
    doc = server.wait(token, sid, timeout=300)
    assert doc["state"] == "done" and doc["score"] == 93
    assert doc["attempts"] == 2  # graded once more, not more
    assert not _alive(victim)
    assert server.worker_pids()[0] != victim  # the server started a new worker


def test_service_killed_with_submissions_queued_and_running(tmp_path):
    """kill -9 of grade serve (its workers die with it); after a restart on the
    same data, every acknowledged submission is graded; --no-isolation says so
    on every page."""
    data = tmp_path / "data"
    tokens = roster(data, ["ana", "ben", "cat"])
    srv = Server(data, no_isolation=True).start()
    try:
        ids = {}
        for who in ("ana", "ben", "cat"):
            with srv.client(tokens[who]) as c:
                files = solution_files() if who == "ana" else cheap_files()
                r = upload(c, files)
                assert r.status_code == 202, r.text
                ids[who] = r.json()["id"]
        _wait_state(srv, tokens["ana"], ids["ana"], "grading")
        workers = srv.worker_pids()
        srv.kill()
        end = time.monotonic() + 10
        while any(_alive(p) for p in workers) and time.monotonic() < end:
            time.sleep(0.1)
        assert not any(_alive(p) for p in workers), "workers outlived the server"
        srv.start()
        assert "queued again" in srv.log()
        for who, sid in ids.items():
            doc = srv.wait(tokens[who], sid, timeout=300)
            assert doc["state"] == "done", doc
            assert doc["attempts"] <= 2
        assert srv.wait(tokens["ana"], ids["ana"])["score"] == 93
        with srv.client() as c:
            c.get(f"/login/{tokens['ben']}")
            page = c.get("/")
            assert "Isolation is OFF" in page.text
        with srv.client(srv.instructor) as c:
            assert len(c.get("/api/submissions").json()) == 3
        # one result per finished grading, kept on disk
        for sid in ids.values():
            assert any((Path(data) / "results" / str(sid)).iterdir())
    finally:
        srv.stop()
