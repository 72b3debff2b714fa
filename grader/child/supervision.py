"""Watching one run's child until it ends: its time, output, result and
process limits, and what it sent back, captured in buffers the zygote owns
(``memory.Capture``).  The reply it builds is the run's outcome."""

from __future__ import annotations

import os
import select
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import processes
from .memory import Capture, zero
from .protocol import Stopped, cpu_limits

PROC_SCAN_INTERVAL = 0.1  # how often process counts are taken without a PID namespace
WATCHDOG_CAP = 64 * 1024


@dataclass
class Pipes:
    """The read ends of a run's pipes: its result, its output, its watchdog."""

    result: int
    output: int
    watchdog: int

    def all(self) -> tuple[int, int, int]:
        return self.result, self.output, self.watchdog


@dataclass
class Watch:
    """How the zygote watches its runs."""

    pid_namespace: bool
    scratch: bytearray  # one read buffer, zeroed after each run
    spared: Callable[[], int]  # processes beside the run that are not its own
    grader_gone: Callable[[], bool]
    leave: Callable[[int], None]  # ends the zygote (the grader is gone)


def supervise(
    watch: Watch, pid: int, started: float, limits: dict, pipes: Pipes, caps: dict[int, Capture]
) -> dict:
    deadline = started + float(limits["time"])
    max_out = int(limits["output"])
    max_result = int(limits["result"])
    max_procs = int(limits["procs"])
    open_fds = set(pipes.all())
    stopped = None
    status = None
    usage = None
    next_scan = started + PROC_SCAN_INTERVAL
    scratch = memoryview(watch.scratch)
    # A pidfd becomes readable when the child ends: no polling delay per run.
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    while True:
        if status is None:
            wpid, wstatus, wusage = os.wait4(pid, os.WNOHANG)
            if wpid == pid:
                status, usage = wstatus, wusage
        now = time.monotonic()
        if status is not None and (not open_fds or now > deadline):
            break
        if status is None and now > deadline:
            stopped = Stopped.TIMEOUT
            processes.kill_tree(pid)
            time.sleep(0.001)
            continue
        if status is None:
            wait = min(deadline - now, 0.02 if pidfd is None else 0.1)
            fds = list(open_fds) + ([pidfd] if pidfd is not None else [])
        else:
            wait, fds = 0.005, list(open_fds)
        ready, _, _ = select.select(fds, [], [], max(wait, 0.0))
        if watch.grader_gone():
            processes.kill_tree(pid)
            watch.leave(0)
        for fd in ready:
            if fd == pidfd:
                continue
            try:
                n = os.readv(fd, [scratch])
            except OSError:
                n = 0
            if not n:
                open_fds.discard(fd)
                continue
            caps[fd].feed(scratch[:n])
            if (
                fd == pipes.output
                and caps[fd].total > max_out
                and stopped is None
                and status is None
            ):
                stopped = Stopped.OUTPUT_LIMIT
                processes.kill_tree(pid)
            if (
                fd == pipes.result
                and caps[fd].kept > max_result
                and stopped is None
                and status is None
            ):
                stopped = Stopped.RESULT_LIMIT
                processes.kill_tree(pid)
        if status is not None and not ready:
            # the child is gone; what is left open belongs to its leftovers
            break
        if status is None and max_procs and stopped is None:
            if watch.pid_namespace:
                too_many = processes.count() - watch.spared() > max_procs
            elif now >= next_scan:
                next_scan = now + PROC_SCAN_INTERVAL
                too_many = len(processes.descendants(os.getpid())) - watch.spared() > max_procs
            else:
                too_many = False
            if too_many:
                stopped = Stopped.PROCESS_LIMIT
                processes.kill_tree(pid)
    scratch.release()
    zero(watch.scratch)
    if pidfd is not None:
        os.close(pidfd)
    if status is None:
        _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - started
    return {
        "wall": round(wall, 4),
        "stopped": stopped,
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "output_truncated": caps[pipes.output].total > max_out,
        "output_bytes": caps[pipes.output].total,
        "cpu": round(usage.ru_utime + usage.ru_stime, 3) if usage else None,
        "cpu_limit": cpu_limits(limits["time"])[1],
        "maxrss": int(usage.ru_maxrss) * 1024 if usage else None,
    }
