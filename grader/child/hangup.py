"""Ends the zygote while it starts up if the grader goes away meanwhile.

The kernel's parent-death signal does not reach a zygote that runs under a
uid of its own (bubblewrap, its parent, has no right to signal it), so the
zygote watches its command pipe instead: a hang-up means the grader is gone.
While it serves, the zygote checks between reads and during each run
(``zygote.py``); during start-up (importing torch, warming up: seconds) this
thread does, and it is stopped before the zygote forks its first child."""

from __future__ import annotations

import os
import select
import threading

_done = threading.Event()
_thread: threading.Thread | None = None


def watch(fd: int = 0) -> None:
    global _thread
    poller = select.poll()
    poller.register(fd, 0)  # POLLHUP and POLLERR are always reported

    def run() -> None:
        while not _done.is_set():
            if poller.poll(100):
                os._exit(0)

    _thread = threading.Thread(target=run, name="hangup", daemon=True)
    _thread.start()


def stop() -> None:
    _done.set()
    if _thread is not None:
        _thread.join()
