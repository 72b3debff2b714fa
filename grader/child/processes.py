"""The processes of a run, as the zygote sees them.

psutil reads ``/proc``.  Inside the sandbox's own PID namespace every process
but the zygote belongs to the submission; without one (``--no-isolation``),
the submission's processes are the zygote's descendants (it is a child
subreaper, so orphans come back to it).
"""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Callable

import psutil

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
# Bound once: learner code in a forked child may patch ``os``; the zygote's own
# code after a fork must still end the child.
_exit = os._exit
_fork = os.fork

GONE = frozenset({psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD})
STOPPED = frozenset({psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP})


def _status(proc: psutil.Process) -> str:
    try:
        return proc.status()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return psutil.STATUS_DEAD


def _gone(proc: psutil.Process) -> bool:
    """Ended: a zombie, but not a process whose main thread alone ended (it
    shows as a zombie while its other threads still run)."""
    if _status(proc) not in GONE:
        return False
    try:
        return proc.num_threads() <= 1
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return True


def status(pid: int) -> str:
    """The state of ``pid`` (``STATUS_DEAD`` once it is gone)."""
    try:
        return _status(psutil.Process(pid))
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return psutil.STATUS_DEAD


def visible(spared: set[int]) -> list[int]:
    """Every running process this one can see, but ``spared`` (see ``_gone``)."""
    return [p.pid for p in psutil.process_iter() if p.pid not in spared and not _gone(p)]


def descendants(root: int) -> list[int]:
    """Every descendant of ``root`` (zombies included)."""
    try:
        return [p.pid for p in psutil.Process(root).children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def running_descendants(root: int, spared: set[int]) -> list[int]:
    try:
        kids = psutil.Process(root).children(recursive=True)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []
    return [p.pid for p in kids if p.pid not in spared and not _gone(p)]


def tasks(pid: int) -> int:
    """The threads of ``pid`` (what RLIMIT_NPROC counts); 0 once it is gone."""
    try:
        return psutil.Process(pid).num_threads()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0


def count() -> int:
    """How many processes this one can see (itself included)."""
    return len(psutil.pids())


def reap_all() -> list[int]:
    """Reap every ended child; their pids."""
    reaped = []
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            return reaped
        reaped.append(pid)


def kill(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def kill_tree(pid: int) -> None:
    """SIGKILL a run's child and its process group."""
    for fn in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            fn()
        except OSError:
            pass


def spawn(
    target: Callable[..., None], child_ends: tuple[int, ...], parent_ends: tuple[int, ...]
) -> int:
    """Fork a child of the zygote that dies with it and runs
    ``target(*child_ends)``, never returning (it ends with ``os._exit``).
    ``parent_ends`` are closed in the child, ``child_ends`` in the parent;
    returns the child's pid."""
    pid = _fork()
    if pid == 0:
        try:
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            for fd in parent_ends:
                os.close(fd)
            target(*child_ends)
        finally:
            _exit(70)
    for fd in child_ends:
        os.close(fd)
    return pid
