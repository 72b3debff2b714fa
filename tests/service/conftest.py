"""A real ``grade serve`` process on 127.0.0.1 (a free port, a temporary data
folder), a roster of learners and their tokens."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from grader.sandbox import detect_isolation

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
LEARNERS = ["ana", "ben", "cat", "dan", "eve", "fox", "gus", "hal"]
LEASE = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def grade_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "grader", *args]


def roster(data: Path, learners: list[str]) -> dict[str, str]:
    """Import ``learners`` and return their tokens."""
    csv_path = data.parent / f"{data.name}-roster.csv"
    csv_path.write_text(
        "id,name,email,group\n"
        + "".join(f"{who},{who.title()} Test,{who}@example.org,A\n" for who in learners)
    )
    subprocess.run(
        grade_cmd("roster", "import", str(csv_path), "--data", str(data)),
        check=True,
        capture_output=True,
        timeout=120,
    )
    out = subprocess.run(
        grade_cmd("roster", "links", "--base-url", "http://testserver", "--data", str(data)),
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return {row["id"]: row["token"] for row in csv.DictReader(io.StringIO(out))}


class Server:
    def __init__(self, data: Path, *, no_isolation: bool = False, workers: int = 1) -> None:
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.no_isolation = no_isolation or not detect_isolation().filesystem
        self.workers = workers
        self.log_path = data.parent / f"{data.name}-serve.log"
        self.proc: subprocess.Popen | None = None
        self.instructor: str | None = None

    def start(self, timeout: float = 120) -> Server:
        cmd = grade_cmd(
            "serve",
            "--port",
            str(self.port),
            "--data",
            str(self.data),
            "--workers",
            str(self.workers),
            "--lease",
            str(LEASE),
            "--poll",
            "0.2",
        )
        if self.no_isolation:
            cmd.append("--no-isolation")
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"grade serve ended: {self.log()}")
            try:
                if httpx.get(self.url + "/api/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            raise RuntimeError(f"grade serve did not answer: {self.log()}")
        found = re.findall(r"/login/(\S+)", self.log())
        if found and self.instructor is None:
            self.instructor = found[0]
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_pids(self, timeout: float = 60) -> list[int]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                pids = [int(p) for p in (self.data / "workers.pid").read_text().split()]
                if len(pids) == self.workers:
                    return pids
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError("no workers.pid")

    def client(self, token: str | None = None, lang: str | None = None) -> httpx.Client:
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if lang:
            headers["Accept-Language"] = lang
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def kill(self) -> None:
        """kill -9 the server (its workers die with it)."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        for pid in self._workers_left():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def _workers_left(self) -> list[int]:
        try:
            return [
                int(p)
                for p in (self.data / "workers.pid").read_text().split()
                if Path(f"/proc/{p}").exists()
            ]
        except (OSError, ValueError):
            return []

    def wait(self, token: str, sid: int, timeout: float = 240) -> dict:
        with self.client(token) as c:
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                doc = c.get(f"/api/submissions/{sid}").json()
                if doc["state"] in ("done", "error"):
                    return doc
                time.sleep(0.5)
        raise AssertionError(f"submission {sid} not graded after {timeout} s: {doc}")


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("service") / "data"
    tokens = roster(data, LEARNERS)
    srv = Server(data).start()
    srv.tokens = tokens
    try:
        yield srv
    finally:
        srv.stop()


def cheap_files(extra: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """A submission that grades in a few seconds: one exercise file that does
    not import (every other file missing)."""
    return {"devices.py": b"def broken(:\n", **(extra or {})}


def solution_files() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(SOLUTIONS.glob("*.py"))}


def upload(client: httpx.Client, files: dict[str, bytes]) -> httpx.Response:
    return client.post(
        "/api/submissions", files=[("files", (name, data)) for name, data in files.items()]
    )


def copy_solutions(dest: Path) -> Path:
    shutil.copytree(SOLUTIONS, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def pytest_collection_modifyitems(items) -> None:
    """Tests that start a real service (the ``server`` fixture) or run the grade
    command are slow; the unit tests here stay in the fast set."""
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        if "server" in uses or item.name.startswith(
            ("test_a_folder_named_serve", "test_instructor_link_on_demand", "test_roster_import")
        ):
            item.add_marker(pytest.mark.slow)
