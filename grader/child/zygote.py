"""The zygote: a process that has imported torch once and forks a fresh
child for every exercise run.

It speaks frames on stdin/stdout with the grader.  It never imports learner
code itself; each forked child does, under resource limits, with its output
captured and capped.  After every run, every process the child left behind is
counted (a run that leaves processes running is reported), then killed, the
scratch folders are wiped and the IPC objects of the run removed (see
``wipe.py`` and ``kernel_state.py``).  If any of that fails, or a run changed
the zygote itself, the zygote answers ``{"op": "failure"}`` and ends: the
grader starts a fresh sandbox and does not count the run against the learner.

Memory hygiene (``memory.py``).  Every child is a fork of this process, so it
can read all of this process's memory, freed blocks included.  Submission
bytes and the bytes children send back therefore only ever live in buffers
owned here, which are zeroed as soon as they are no longer needed: the
submission when the next one arrives (or at exit), a run's inputs (they may be
a file learner code wrote, read back by a learner-free run) and its captured
output, observations and watchdog text as soon as the reply is written.  Nothing of
one submission is left for the children of the next to find.

This module is the protocol server; a run is watched by ``supervision.py``,
processes are found through ``processes.py``, and a child may be started
ahead of its run by ``warm.py``.

Requests:
  {"op": "submission", "files": [[name, size], ...]}  payload: the bytes
      (+ "warm": device, "memory": limit: start a child on that device ahead)
  {"op": "run", "probe": ..., "module": ..., ...}      payload: safetensors inputs
      (+ "warm": device: a run on that device comes later)
  {"op": "quit"}

Reply to "run": a header with the run's outcome, including
``"sizes": [result, output, watchdog]``, and as payload those three byte
strings, one after the other (see ``grader/sandbox.py``).
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import os
import select
import signal
import sys
import time

import torch

from . import accelerator, framing, hangup, kernel_state, memory, processes, runner, warm
from .memory import Capture
from .protocol import EXIT_NO_CUDA
from .supervision import WATCHDOG_CAP, Pipes, Watch, supervise
from .wipe import wipe

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36

MAX_SUBMISSION = 256 * 1024 * 1024
LEFTOVER_GRACE = 0.3  # seconds leftover processes get to end on their own
KILL_TIMEOUT = 5.0  # seconds to kill everything a run left behind
_READ_CHUNK = 1 << 16

_libc = ctypes.CDLL(None, use_errno=True)
_exit = os._exit  # bound once (see processes.spawn)


def prctl(option: int, value: int) -> None:
    _libc.prctl(option, value, 0, 0, 0)


class SandboxBroken(Exception):
    """The sandbox cannot go on as it was (not the learner code's failure)."""


class ZygoteServer:
    """Serves the grader's requests; forks and watches a child per run."""

    def __init__(
        self, workdir: str, wipe: list[str], pid_namespace: bool, keep: list[str] | None = None
    ) -> None:
        self.workdir = workdir
        self.wipe = wipe
        self.keep = [k.rstrip("/") for k in keep or []]
        self.pid_namespace = pid_namespace  # bubblewrap: PID and IPC namespaces of our own
        self.modes = {}
        for top in wipe:
            try:
                self.modes[top] = os.stat(top).st_mode & 0o7777
            except OSError:
                pass
        self.attributes = kernel_state.own_attributes()
        self.keys = kernel_state.visible_keys()
        self.files: dict[str, memoryview] = {}
        self._submission = bytearray()
        self.runs = 0
        self.submissions = 0
        self.warm: warm.Warm | None = None  # a child forked ahead of its run (warm.py)
        self._hangup: select.poll | None = None
        self.watch = Watch(
            pid_namespace=pid_namespace,
            scratch=bytearray(_READ_CHUNK),
            spared=lambda: 1 if self._warm_pid() > 0 else 0,
            grader_gone=self._grader_gone,
            leave=_exit,
        )

    # -- the submission ---------------------------------------------------------
    def forget_submission(self) -> None:
        for view in self.files.values():
            view.release()
        self.files = {}
        memory.zero(self._submission)
        self._submission = bytearray()

    def load_submission(self, req: dict, fd_in: int, size: int) -> None:
        self.forget_submission()
        buf = bytearray(size)
        framing.read_into(fd_in, buf)
        self._submission = buf
        view = memoryview(buf)
        pos = 0
        for name, length in req["files"]:
            length = int(length)
            if length < 0 or pos + length > size:
                raise framing.FrameError("file sizes do not match the payload")
            self.files[str(name)] = view[pos : pos + length]
            pos += length

    # -- clean-up -----------------------------------------------------------
    def others(self) -> list[int]:
        """Processes of the submission still running (zombies excluded)."""
        spared = {os.getpid(), self._warm_pid()}
        if self.pid_namespace:
            return processes.visible(spared)
        return processes.running_descendants(os.getpid(), spared)

    def _warm_pid(self) -> int:
        return self.warm.pid if self.warm is not None and not self.warm.ended else -1

    def reap(self) -> bool:
        """Reap every ended child; a waiting child that ended is let go."""
        reaped = False
        for pid in processes.reap_all():
            reaped = True
            if self.warm is not None and self.warm.reaped(pid):
                self.drop_warm()
        return reaped

    def drop_warm(self) -> None:
        if self.warm is not None:
            self.warm.discard()
            self.warm = None

    def kill_everything(self) -> None:
        """Kill every process of the submission that is still around."""
        deadline = time.monotonic() + KILL_TIMEOUT
        while True:
            if self.pid_namespace and self._warm_pid() < 0:
                # Inside our own PID namespace, as its PID 1: every process but us.
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            elif self.pid_namespace:
                # ... but the child waiting for the next run
                processes.kill(self.others())
            else:
                # Without one: every descendant (orphans come back to us, as we
                # are a child subreaper), grandchildren included, in one sweep.
                processes.kill(
                    p for p in processes.descendants(os.getpid()) if p != self._warm_pid()
                )
            reaped = self.reap()
            if not reaped and not self.others():
                return
            if time.monotonic() > deadline:
                return
            time.sleep(0.002)

    def wipe_scratch(self) -> None:
        """Empty the scratch folders (the Python installation, when it is
        bound read-only in one of them, stays)."""
        for top in self.wipe:
            left = wipe(top, self.keep, self.modes.get(top))
            if left:
                raise SandboxBroken(f"cannot empty {top}: {', '.join(left)}")

    def clean_up(self) -> None:
        """After a run, once its processes are gone: nothing of it may reach
        the next run."""
        self.wipe_scratch()
        if self.pid_namespace:
            left = kernel_state.remove_ipc_objects()
            if left:
                raise SandboxBroken(f"cannot remove IPC objects: {', '.join(left[:10])}")
            ring = kernel_state.clear_persistent_keyring()
            if ring > 0:  # the same one, unless it expired (3 days unused) and was made anew
                self.keys[f"{ring:08x}"] = ""
            keys = kernel_state.wait_for_keys_gone(self.keys)
            if keys:
                raise SandboxBroken(f"keys of the run are still there: {' | '.join(keys[:5])}")
        if kernel_state.own_attributes() != self.attributes:
            raise SandboxBroken(
                "the run changed the sandbox's own limits, priority or CPU affinity"
            )

    def prepare_workdir(self, name: str) -> str:
        path = os.path.join(self.workdir, name)
        os.makedirs(path)
        for rel, data in self.files.items():
            dest = os.path.join(path, rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "wb", buffering=0) as fh:  # unbuffered: no copy of the bytes here
                view = data
                while view:
                    view = view[fh.write(view) :]
        os.makedirs(os.path.join(path, ".scratch"), exist_ok=True)
        return path

    # -- one run --------------------------------------------------------------
    def run(self, req: dict, inputs: bytearray, fd_out: int) -> None:
        self.runs += 1
        self.wipe_scratch()
        try:
            workdir = self.prepare_workdir(f"run{self.runs}")
        except OSError as exc:
            raise SandboxBroken(f"cannot prepare the run folder: {exc}") from exc
        req = dict(req, pid_namespace=self.pid_namespace)
        limits = req["limits"]
        ahead = self.warm if self.warm is not None and self.warm.fits(req) else None
        if ahead is not None:
            self.warm = None
            if not ahead.waiting():
                ahead.discard()
                ahead = None
        wanted = req.pop("warm", None)
        if wanted and self.warm is None:
            self.start_warm(str(wanted), int(limits["memory"]))
        if self.warm is not None:
            # its tasks count against the user's RLIMIT_NPROC: not the learner's.  What it
            # holds now (a child still starting its device may add a few later: the
            # learner then gets fewer, never more)
            req["limits"] = limits = dict(limits, reserved_tasks=processes.tasks(self.warm.pid))
        reply, pipes, caps = self.attempt(req, inputs, workdir, ahead)
        if reply["ahead"] and reply["exit_code"] == EXIT_NO_CUDA and reply["stopped"] is None:
            # it did not start its device, and ended without reading the request (the
            # run before it may have held the GPU): the run gets a fresh child, as
            # without a child ahead.  No learner code ran.
            for cap in caps.values():
                cap.scrub()
            self.reap()
            reply, pipes, caps = self.attempt(req, inputs, workdir, None)
        try:
            if reply["stopped"] is None:
                left = self.others()
                grace = time.monotonic() + LEFTOVER_GRACE
                while left and time.monotonic() < grace:
                    time.sleep(0.01)
                    self.reap()
                    left = self.others()
                reply["leftover"] = len(left)
            self.kill_everything()
            self.clean_up()
            max_result, max_out = int(limits["result"]), int(limits["output"])
            parts = [
                caps[pipes.result].parts(max_result),
                caps[pipes.output].parts(max_out),
                caps[pipes.watchdog].parts(WATCHDOG_CAP),
            ]
            reply["sizes"] = [sum(len(v) for v in p) for p in parts]
            framing.write_frame_parts(fd_out, reply, [v for p in parts for v in p])
            for p in parts:
                for v in p:
                    v.release()
        finally:
            for cap in caps.values():
                cap.scrub()

    def attempt(
        self, req: dict, inputs: bytearray, workdir: str, ahead: warm.Warm | None
    ) -> tuple[dict, Pipes, dict[int, Capture]]:
        """Run the request in ``ahead`` (a child started ahead) or a fresh
        child, and watch it to its end; its outcome and what it sent."""
        limits = req["limits"]
        started = time.monotonic()
        served_ahead = ahead is not None and ahead.hand_over(req, inputs, workdir)
        if served_ahead:
            pid, pipes = ahead.pid, Pipes(*ahead.fds)
            ahead.fds = (-1, -1, -1)
            ahead.close_fds()  # its pidfd: supervise opens its own
        else:
            if ahead is not None:
                ahead.discard()
            pid, pipes = self.fork_child(req, inputs, workdir)
        caps = {
            pipes.result: Capture(int(limits["result"]) + 1),
            pipes.output: Capture(int(limits["output"]) + 1),
            pipes.watchdog: Capture(WATCHDOG_CAP),
        }
        try:
            reply = supervise(self.watch, pid, started, limits, pipes, caps)
            reply["ahead"] = served_ahead
        except BaseException:
            for cap in caps.values():
                cap.scrub()
            raise
        finally:
            for fd in pipes.all():
                os.close(fd)
        return reply, pipes, caps

    def fork_child(self, req: dict, inputs: bytearray, workdir: str) -> tuple[int, Pipes]:
        """A fresh child for this run: its pid and the read ends of its pipes."""
        (res_r, res_w), (out_r, out_w), (dog_r, dog_w) = os.pipe(), os.pipe(), os.pipe()
        pid = processes.spawn(
            functools.partial(runner.child_main, req, inputs, workdir),
            (res_w, out_w, dog_w),
            (res_r, out_r, dog_r),
        )
        return pid, Pipes(res_r, out_r, dog_r)

    def start_warm(self, device: str, memory: int) -> None:
        """Fork a child that starts ``device`` ahead of its run (warm.py)."""
        self.warm = warm.fork(device, memory, tainted=bool(self.files))

    def _grader_gone(self) -> bool:
        return bool(self._hangup is not None and self._hangup.poll(0))

    # -- main loop ------------------------------------------------------------
    def serve(self, fd_in: int, fd_out: int) -> None:
        # While a run is supervised, a hang-up of the grader's pipe means the
        # grader is gone: stop at once (as PID 1 of the sandbox, our exit ends
        # every process in it).  The kernel's parent-death signal alone was seen
        # not to reach a zygote running under its own uid (tests/test_stopping.py).
        self._hangup = select.poll()
        self._hangup.register(fd_in, 0)  # POLLHUP and POLLERR are always reported
        framing.write_frame(
            fd_out,
            {
                "op": "ready",
                "pid": os.getpid(),
                "torch": torch.__version__,
                "gpus": accelerator.nvml_device_count(),
            },
        )
        try:
            while True:
                try:
                    req, size = framing.read_header(fd_in)
                except EOFError:
                    return
                op = req.get("op")
                if op == "submission":
                    if size > MAX_SUBMISSION:
                        raise framing.FrameError("submission too large")
                    if self.warm is not None and self.warm.tainted:
                        self.drop_warm()  # it holds the last submission
                    self.forget_submission()
                    if req.get("warm") and self.warm is None:
                        # forked with no submission in memory: it may serve any
                        self.start_warm(str(req["warm"]), int(req.get("memory", 0)))
                    self.load_submission(req, fd_in, size)
                    self.submissions += 1
                    if self.submissions > 1:
                        # a batch: the first collapse costs about 0.8 s and saves
                        # about 10 ms per run; later ones only mend what runs split
                        memory.compact()
                    framing.write_frame(fd_out, {"op": "ok"})
                    continue
                if size > MAX_SUBMISSION:
                    raise framing.FrameError("request too large")
                # a run's inputs may be bytes a learner wrote (the files that
                # _verify_files has read back): zeroed once the run is over
                payload = bytearray(size)
                try:
                    framing.read_into(fd_in, payload)
                    if op == "quit":
                        return
                    if op == "run":
                        try:
                            self.run(req, payload, fd_out)
                        except SandboxBroken as exc:
                            framing.write_frame(
                                fd_out, {"op": "failure", "message": str(exc)[:2000]}
                            )
                            return
                    else:
                        framing.write_frame(
                            fd_out, {"op": "error", "message": f"unknown op {op!r}"}
                        )
                finally:
                    memory.zero(payload)
        finally:
            self.drop_warm()
            self.forget_submission()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--wipe", action="append", default=[])
    parser.add_argument("--pid-namespace", action="store_true")
    parser.add_argument("--keep", action="append", default=[])
    args = parser.parse_args()
    prctl(PR_SET_DUMPABLE, 0)  # learner processes may not ptrace or read us
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # die with the grader
    if not args.pid_namespace:
        prctl(PR_SET_CHILD_SUBREAPER, 1)  # orphans come back to us, to be killed
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the grader decides when we stop
    kernel_state.new_session_keyring(read_only=True)
    if args.pid_namespace:
        kernel_state.lock_uid_keyrings()
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    runner.warm_up()
    accelerator.assert_untouched()  # children must be free to start CUDA themselves
    memory.freeze_heap()  # the huge-page collapse waits for a second submission (serve)
    hangup.stop()  # no thread but this one when children are forked
    fd_in = os.dup(0)
    fd_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.set_inheritable(fd_in, False)
    os.set_inheritable(fd_out, False)
    os.makedirs(args.workdir, exist_ok=True)
    ZygoteServer(args.workdir, args.wipe or [args.workdir], args.pid_namespace, args.keep).serve(
        fd_in, fd_out
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
