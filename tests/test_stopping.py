"""Stopping a class run: Ctrl-C once, twice, SIGTERM, SIGHUP, SIGKILL.

Each test starts ``grade`` in a session of its own (as a terminal would run
it), waits until its workers and sandboxes are up and a run is in flight,
sends the signal, then checks how fast it stopped, what it kept and that no
process it started is left."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from grader.batch import GRACE

from conftest import SOLUTIONS

HANGING = "hanging-forward"  # the name a hanging run gives its process, for the test to see

SLOW_LAYERS = """
import ctypes
import time

import torch
from torch import nn


class CenteredLayer(nn.Module):
    def forward(self, X):
        ctypes.CDLL(None).prctl(15, b"HANGING", 0, 0, 0)  # PR_SET_NAME
        while True:          # never returns: the run ends at the time limit
            time.sleep(0.05)


class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units))

    def forward(self, X):
        return torch.relu(X @ self.weight + self.bias)
""".replace("HANGING", HANGING)


def _class(root: Path, n: int) -> list[Path]:
    """One quick submission, then slow ones (a run that hangs to the time limit)."""
    subs = []
    for i in range(n):
        dest = root / f"s{i}"
        shutil.copytree(SOLUTIONS, dest, ignore=shutil.ignore_patterns("__pycache__"))
        if i:
            (dest / "layers.py").write_text(SLOW_LAYERS)
        subs.append(dest)
    return subs


def _start(subs: list[Path], out: Path, jobs: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grader",
            *map(str, subs),
            "--out",
            str(out),
            "--jobs",
            str(jobs),
            "--time-limit",
            "30",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _tree(proc: subprocess.Popen) -> list[psutil.Process]:
    try:
        return psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _wait_busy(proc: subprocess.Popen, out: Path, jobs: int) -> list[psutil.Process]:
    """Until the first submission is written and every worker's sandbox runs a
    hanging run (``jobs`` of them in flight)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        tree = _tree(proc)
        if (out / "s0" / "results.json").is_file() and sum(map(_is_hanging, tree)) >= jobs:
            assert sum(map(_is_sandbox, tree)) >= jobs
            return tree
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    pytest.fail("the class run did not get going in time")


def _is_hanging(p: psutil.Process) -> bool:
    try:
        return p.name() == HANGING
    except psutil.Error:
        return False


def _is_sandbox(p: psutil.Process) -> bool:
    try:
        cmd = " ".join(p.cmdline())
    except psutil.Error:
        return False
    return "bwrap" in cmd or "zygote" in cmd


def _assert_all_gone(tree: list[psutil.Process], within: float = 5.0) -> None:
    assert tree, "no process was seen before the signal"
    deadline = time.monotonic() + within
    alive = tree
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.05)
    assert not alive, [(p.pid, p.cmdline()[:3]) for p in alive if p.is_running()]


def _stop_time(proc: subprocess.Popen, limit: float) -> float:
    started = time.monotonic()
    try:
        proc.wait(timeout=limit + 30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("grade did not stop")
    return time.monotonic() - started


@pytest.mark.slow
def test_first_ctrl_c_stops_promptly_keeps_what_finished_and_says_how_to_resume(tmp_path):
    subs = _class(tmp_path / "class", 3)
    out = tmp_path / "out"
    proc = _start(subs, out, 2)
    tree = _wait_busy(proc, out, 2)
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    took = _stop_time(proc, 2.5)
    _, err = proc.communicate()
    assert took < 2.5, took
    assert proc.returncode == 130
    assert "run the same command again" in err and "Traceback" not in err
    assert json.loads((out / "s0" / "results.json").read_text())["score"] > 0
    assert not (out / "s1" / "results.json").exists()
    assert not list(out.rglob("*.tmp"))
    _assert_all_gone(tree)


@pytest.mark.slow
def test_second_ctrl_c_during_the_grace_period_stops_at_once(tmp_path):
    subs = _class(tmp_path / "class", 4)
    out = tmp_path / "out"
    proc = _start(subs, out, 2)
    tree = _wait_busy(proc, out, 2)
    os.killpg(proc.pid, signal.SIGINT)
    # the second Ctrl-C comes while the first one's grace period still runs (the
    # interval is what this test is about, not a wait for something to happen)
    time.sleep(GRACE / 2)
    os.killpg(proc.pid, signal.SIGINT)
    took = _stop_time(proc, 1.5)
    assert took < 1.5 and proc.returncode == 130, (took, proc.communicate())
    _assert_all_gone(tree)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_to_the_main_process_stop_at_once(tmp_path, sig):
    subs = _class(tmp_path / "class", 3)
    out = tmp_path / "out"
    proc = _start(subs, out, 2)
    tree = _wait_busy(proc, out, 2)
    os.kill(proc.pid, sig)  # the main process only, as a service manager does
    took = _stop_time(proc, 1.5)
    assert took < 1.5 and proc.returncode == 128 + sig, (took, proc.communicate())
    _assert_all_gone(tree)


@pytest.mark.slow
def test_sigkill_of_the_grader_takes_its_workers_and_sandboxes_with_it(tmp_path):
    subs = _class(tmp_path / "class", 3)
    out = tmp_path / "out"
    proc = _start(subs, out, 2)
    tree = _wait_busy(proc, out, 2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    _assert_all_gone(tree)


@pytest.mark.slow
def test_sigkill_without_isolation_takes_the_zygotes_too(tmp_path):
    subs = _class(tmp_path / "class", 2)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grader",
            *map(str, subs),
            "--out",
            str(out),
            "--jobs",
            "1",
            "--no-isolation",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    tree: list[psutil.Process] = []
    while time.monotonic() < deadline:
        tree = _tree(proc)
        if (out / "s0" / "results.json").is_file() and any(map(_is_hanging, tree)):
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    zygotes = [p for p in tree if _is_sandbox(p)]
    assert zygotes, [p.cmdline()[:3] for p in tree]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    _assert_all_gone(tree)


@pytest.mark.slow
def test_sigkill_while_the_sandboxes_start_leaves_nothing(tmp_path):
    """Killed while its zygotes still import torch (before they serve), the
    grader leaves no zygote behind either: they watch their pipe from the start."""
    subs = _class(tmp_path / "class", 2)
    proc = _start(subs, tmp_path / "out", 2)
    deadline = time.monotonic() + 120
    tree: list[psutil.Process] = []
    while time.monotonic() < deadline:
        tree = _tree(proc)
        if sum(map(_is_sandbox, tree)) >= 2:
            break
        time.sleep(0.02)
    assert sum(map(_is_sandbox, tree)) >= 2, "no sandbox started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    _assert_all_gone(tree, within=1.5)
