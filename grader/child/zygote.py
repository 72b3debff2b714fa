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

Memory hygiene.  Every child is a fork of this process, so it can read all of
this process's memory, freed blocks included.  Submission bytes and the bytes
children send back therefore only ever live in buffers owned here, which are
zeroed as soon as they are no longer needed: the submission when the next one
arrives (or at exit), a run's captured output, observations and watchdog text
as soon as the reply is written.  Nothing of one submission is left for the
children of the next to find.

Requests:
  {"op": "submission", "files": [[name, size], ...]}  payload: the bytes
  {"op": "run", "probe": ..., "module": ..., ...}      payload: safetensors inputs
  {"op": "quit"}

Reply to "run": a header with the run's outcome, including
``"sizes": [result, output, watchdog]``, and as payload those three byte
strings, one after the other (see ``grader/sandbox.py``).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import select
import signal
import sys
import time

import torch

from . import accelerator, framing, hangup, kernel_state, runner, warm
from .wipe import wipe

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
MADV_HUGEPAGE = 14
MADV_COLLAPSE = 25

MAX_SUBMISSION = 256 * 1024 * 1024
LEFTOVER_GRACE = 0.3        # seconds leftover processes get to end on their own
KILL_TIMEOUT = 5.0          # seconds to kill everything a run left behind
PROC_SCAN_INTERVAL = 0.1    # how often process counts are taken without a PID namespace
_READ_CHUNK = 1 << 16
_IOV_BATCH = 256

_libc = ctypes.CDLL(None, use_errno=True)
# Bound once: learner code in a forked child may patch ``os``; the zygote's own
# code after a fork must still end the child.
_exit = os._exit
_fork = os.fork


def prctl(option: int, value: int) -> None:
    _libc.prctl(option, value, 0, 0, 0)


def _zero(buf: bytearray) -> None:
    """Overwrite a buffer in place (no temporary copy of its contents)."""
    n = len(buf)
    if n:
        ctypes.memset((ctypes.c_char * n).from_buffer(buf), 0, n)


class _Capture:
    """What one pipe delivered: kept up to ``cap`` bytes, in pieces this
    process owns (and zeroes); ``total`` counts everything, kept or not."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.pieces: list[bytearray] = []
        self.kept = 0
        self.total = 0

    def feed(self, view: memoryview) -> None:
        self.total += len(view)
        room = self.cap - self.kept
        if room > 0:
            piece = bytearray(view[:room])
            self.pieces.append(piece)
            self.kept += len(piece)

    def parts(self, limit: int) -> list[memoryview]:
        out, left = [], limit
        for piece in self.pieces:
            if left <= 0:
                break
            out.append(memoryview(piece)[:left])
            left -= len(out[-1])
        return out

    def scrub(self) -> None:
        for piece in self.pieces:
            _zero(piece)
        self.pieces.clear()


class SandboxBroken(Exception):
    """The sandbox cannot go on as it was (not the learner code's failure)."""


class Zygote:
    def __init__(self, workdir: str, wipe: list[str], pid_namespace: bool,
                 keep: list[str] | None = None) -> None:
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
        self._scratch = bytearray(_READ_CHUNK)
        self.warm: warm.Warm | None = None   # a child forked ahead of its run (warm.py)

    # -- the submission ---------------------------------------------------------
    def forget_submission(self) -> None:
        for view in self.files.values():
            view.release()
        self.files = {}
        _zero(self._submission)
        self._submission = bytearray()

    def load_submission(self, req: dict, fd_in: int, size: int) -> None:
        self.forget_submission()
        buf = bytearray(size)
        _read_into(fd_in, buf)
        self._submission = buf
        view = memoryview(buf)
        pos = 0
        for name, length in req["files"]:
            length = int(length)
            if length < 0 or pos + length > size:
                raise framing.FrameError("file sizes do not match the payload")
            self.files[str(name)] = view[pos:pos + length]
            pos += length

    # -- clean-up -----------------------------------------------------------
    def others(self) -> list[int]:
        """Processes of the submission still running (zombies excluded)."""
        spared = {os.getpid(), self._warm_pid()}
        if self.pid_namespace:
            table = _proc_table()
            return [p for p, (_pp, state) in table.items()
                    if p not in spared and state not in "ZX"]
        return [p for p in _descendants(os.getpid()) if p not in spared and _state(p) not in "ZX"]

    def _warm_pid(self) -> int:
        return self.warm.pid if self.warm is not None and not self.warm.ended else -1

    def reap(self) -> bool:
        """Reap every ended child; a waiting child that ended is let go."""
        reaped = False
        for pid in _reap_all():
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
                for pid in self.others():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            else:
                # Without one: every descendant (orphans come back to us, as we
                # are a child subreaper), grandchildren included, in one sweep.
                for pid in _descendants(os.getpid()):
                    if pid == self._warm_pid():
                        continue
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
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
            raise SandboxBroken("the run changed the sandbox's own limits, priority or "
                                "CPU affinity")

    def prepare_workdir(self, name: str) -> str:
        path = os.path.join(self.workdir, name)
        os.makedirs(path)
        for rel, data in self.files.items():
            dest = os.path.join(path, rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "wb", buffering=0) as fh:  # unbuffered: no copy of the bytes here
                view = data
                while view:
                    view = view[fh.write(view):]
        os.makedirs(os.path.join(path, ".scratch"), exist_ok=True)
        return path

    # -- one run --------------------------------------------------------------
    def run(self, req: dict, inputs: bytes, fd_out: int) -> None:
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
            req["limits"] = limits = dict(limits, reserved_tasks=warm.RESERVED_TASKS)
        started = time.monotonic()
        if ahead is not None and ahead.hand_over(req, inputs, workdir):
            pid = ahead.pid
            res_r, out_r, dog_r = ahead.fds
            ahead.fds = (-1, -1, -1)
            ahead.close_fds()         # its pidfd: supervise opens its own
        else:
            if ahead is not None:
                ahead.discard()
                ahead = None
            pid, res_r, out_r, dog_r = self.fork_child(req, inputs, workdir)
        caps = {res_r: _Capture(int(limits["result"]) + 1),
                out_r: _Capture(int(limits["output"]) + 1),
                dog_r: _Capture(64 * 1024)}
        try:
            try:
                reply = self.supervise(pid, started, limits, caps, res_r, out_r, dog_r)
            finally:
                for fd in (res_r, out_r, dog_r):
                    os.close(fd)
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
            parts = [caps[res_r].parts(max_result), caps[out_r].parts(max_out),
                     caps[dog_r].parts(64 * 1024)]
            reply["sizes"] = [sum(len(v) for v in p) for p in parts]
            reply["ahead"] = ahead is not None
            _write_frame_parts(fd_out, reply, [v for p in parts for v in p])
            for p in parts:
                for v in p:
                    v.release()
        finally:
            for cap in caps.values():
                cap.scrub()

    def fork_child(self, req: dict, inputs: bytes, workdir: str) -> tuple[int, int, int, int]:
        """A fresh child for this run: its pid and the read ends of its pipes."""
        res_r, res_w = os.pipe()
        out_r, out_w = os.pipe()
        dog_r, dog_w = os.pipe()
        pid = _fork()
        if pid == 0:  # child
            try:
                prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the zygote
                os.close(res_r), os.close(out_r), os.close(dog_r)
                runner.child_main(req, inputs, workdir, res_w, out_w, dog_w)
            finally:
                _exit(70)
        os.close(res_w), os.close(out_w), os.close(dog_w)
        return pid, res_r, out_r, dog_r

    def start_warm(self, device: str, memory: int) -> None:
        """Fork a child that starts ``device`` ahead of its run (warm.py)."""
        self.warm = warm.fork(device, memory, tainted=bool(self.files))

    def _grader_gone(self) -> bool:
        hangup = getattr(self, "_hangup", None)
        return bool(hangup is not None and hangup.poll(0))

    def supervise(self, pid, started, limits, caps, res_r, out_r, dog_r) -> dict:
        deadline = started + float(limits["time"])
        max_out = int(limits["output"])
        max_result = int(limits["result"])
        max_procs = int(limits["procs"])
        open_fds = {res_r, out_r, dog_r}
        stopped = None
        status = None
        usage = None
        next_scan = started + PROC_SCAN_INTERVAL
        scratch = memoryview(self._scratch)
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
                stopped = "timeout"
                _kill_tree(pid)
                time.sleep(0.001)
                continue
            if status is None:
                wait = min(deadline - now, 0.02 if pidfd is None else 0.1)
                fds = list(open_fds) + ([pidfd] if pidfd is not None else [])
            else:
                wait, fds = 0.005, list(open_fds)
            ready, _, _ = select.select(fds, [], [], max(wait, 0.0))
            if self._grader_gone():
                _kill_tree(pid)
                _exit(0)
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
                if fd == out_r and caps[fd].total > max_out and stopped is None \
                        and status is None:
                    stopped = "output_limit"
                    _kill_tree(pid)
                if fd == res_r and caps[fd].kept > max_result and stopped is None \
                        and status is None:
                    stopped = "result_limit"
                    _kill_tree(pid)
            if status is not None and not ready:
                # the child is gone; what is left open belongs to its leftovers
                break
            if status is None and max_procs and stopped is None:
                spare = 1 if self._warm_pid() > 0 else 0
                if self.pid_namespace:
                    too_many = _count_procs() - spare > max_procs
                elif now >= next_scan:
                    next_scan = now + PROC_SCAN_INTERVAL
                    too_many = len(_descendants(os.getpid())) - spare > max_procs
                else:
                    too_many = False
                if too_many:
                    stopped = "process_limit"
                    _kill_tree(pid)
        _zero(self._scratch)
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
            "output_truncated": caps[out_r].total > max_out,
            "output_bytes": caps[out_r].total,
            "cpu": round(usage.ru_utime + usage.ru_stime, 3) if usage else None,
            "cpu_limit": int(float(limits["time"])) + 2,  # runner.py: RLIMIT_CPU's hard limit
            "maxrss": int(usage.ru_maxrss) * 1024 if usage else None,
        }

    # -- main loop ------------------------------------------------------------
    def serve(self, fd_in: int, fd_out: int) -> None:
        # While a run is supervised, a hang-up of the grader's pipe means the
        # grader is gone: stop at once (as PID 1 of the sandbox, our exit ends
        # every process in it).  The kernel's parent-death signal alone was seen
        # not to reach a zygote running under its own uid (tests/test_stopping.py).
        self._hangup = select.poll()
        self._hangup.register(fd_in, 0)   # POLLHUP and POLLERR are always reported
        framing.write_frame(fd_out, {"op": "ready", "pid": os.getpid(), "torch": torch.__version__,
                                     "gpus": accelerator.nvml_device_count()})
        try:
            while True:
                try:
                    req, size = _read_header(fd_in)
                except EOFError:
                    return
                op = req.get("op")
                if op == "submission":
                    if size > MAX_SUBMISSION:
                        raise framing.FrameError("submission too large")
                    if self.warm is not None and self.warm.tainted:
                        self.drop_warm()     # it holds the last submission
                    self.forget_submission()
                    if req.get("warm") and self.warm is None:
                        # forked with no submission in memory: it may serve any
                        self.start_warm(str(req["warm"]), int(req.get("memory", 0)))
                    self.load_submission(req, fd_in, size)
                    self.submissions += 1
                    if self.submissions > 1:
                        # a batch: the first collapse costs about 0.8 s and saves
                        # about 10 ms per run; later ones only mend what runs split
                        compact_memory()
                    framing.write_frame(fd_out, {"op": "ok"})
                    continue
                payload = framing._read_exact(fd_in, size) if size <= MAX_SUBMISSION else None
                if payload is None:
                    raise framing.FrameError("request too large")
                if op == "quit":
                    return
                if op == "run":
                    try:
                        self.run(req, payload, fd_out)
                    except SandboxBroken as exc:
                        framing.write_frame(fd_out, {"op": "failure", "message": str(exc)[:2000]})
                        return
                else:
                    framing.write_frame(fd_out, {"op": "error", "message": f"unknown op {op!r}"})
        finally:
            self.drop_warm()
            self.forget_submission()


# -- framing without copies of the bytes --------------------------------------------
def _read_header(fd: int) -> tuple[dict, int]:
    head = framing._read_exact(fd, framing._HEAD.size)
    hlen, plen = framing._HEAD.unpack(head)
    if hlen > framing.MAX_HEADER:
        raise framing.FrameError("frame header too large")
    header = json.loads(framing._read_exact(fd, hlen))
    if not isinstance(header, dict):
        raise framing.FrameError("frame header is not an object")
    return header, plen


def _read_into(fd: int, buf: bytearray) -> None:
    view = memoryview(buf)
    pos = 0
    while pos < len(buf):
        n = os.readv(fd, [view[pos:]])
        if not n:
            raise EOFError("stream closed")
        pos += n
    view.release()


def _write_frame_parts(fd: int, header: dict, parts: list[memoryview]) -> None:
    raw = json.dumps(header, separators=(",", ":")).encode()
    total = sum(len(p) for p in parts)
    queue = [memoryview(framing._HEAD.pack(len(raw), total)), memoryview(raw)]
    queue += [p for p in parts if len(p)]
    while queue:
        n = os.writev(fd, queue[:_IOV_BATCH])
        while n and queue:
            if n >= len(queue[0]):
                n -= len(queue[0])
                queue.pop(0)
            else:
                queue[0] = queue[0][n:]
                n = 0


# -- processes ---------------------------------------------------------------------
def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state letter) for every process this one can see."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(entry)
        if len(fields) > 1:
            table[int(entry)] = (int(fields[1]), fields[0].decode(errors="replace"))
    return table


def _descendants(root: int) -> list[int]:
    """Every descendant of ``root``, from the kernel's per-thread lists of
    children (cheap: no scan of the whole machine's /proc); a full scan where
    the kernel has no such lists."""
    found: list[int] = []
    todo = [root]
    while todo:
        pid = todo.pop()
        kids = _children_of(pid)
        if kids is None:
            return _descendants_by_scan(root)
        found.extend(kids)
        todo.extend(kids)
    return found


def _children_of(pid: int) -> list[int] | None:
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    kids: list[int] = []
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                kids.extend(int(k) for k in fh.read().split())
        except FileNotFoundError:
            if not os.path.isdir(f"/proc/{pid}/task/{tid}"):
                continue        # the thread just ended
            return None         # no CONFIG_PROC_CHILDREN in this kernel
        except OSError:
            continue
    return kids


def _descendants_by_scan(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _state) in _proc_table().items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _stat_fields(pid: int | str) -> list[bytes]:
    """The fields of /proc/PID/stat after the command name (state first,
    then the parent's pid); empty once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return []
    return stat[stat.rfind(b")") + 2:].split()


def _state(pid: int) -> str:
    fields = _stat_fields(pid)
    return fields[0].decode(errors="replace") if fields else "X"


def _count_procs() -> int:
    return sum(1 for p in os.listdir("/proc") if p.isdigit())


def _reap_all() -> list[int]:
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


def _kill_tree(pid: int) -> None:
    for fn in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            fn()
        except OSError:
            pass


def freeze_heap() -> None:
    """Move every object to the garbage collector's permanent generation: the
    children's collections then never write to (and so copy) the inherited heap."""
    gc.collect()
    gc.freeze()


def compact_memory() -> None:
    """Make forking cheap.  A fork copies the page tables of this process's
    anonymous memory (about 140 MiB once torch is imported): one entry per
    4 KiB page, about 15 ms per fork on a virtual machine.  Backing that
    memory with 2 MiB huge pages (MADV_COLLAPSE, Linux 6.1+) leaves 512 times
    fewer entries to copy; where the kernel cannot, nothing changes."""
    freeze_heap()
    huge = 1 << 21
    try:
        with open("/proc/self/maps") as fh:
            maps = fh.read().splitlines()
    except OSError:
        return
    for line in maps:
        fields = line.split()
        # private anonymous memory: "start-end rw-p 00000000 00:00 0 [heap]"
        if len(fields) < 5 or fields[1] != "rw-p" or fields[3] != "00:00" or fields[4] != "0":
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        start, end = (start + huge - 1) & ~(huge - 1), end & ~(huge - 1)
        if end - start < huge:
            continue
        addr, length = ctypes.c_void_p(start), ctypes.c_size_t(end - start)
        if _libc.madvise(addr, length, MADV_HUGEPAGE) == 0:
            _libc.madvise(addr, length, MADV_COLLAPSE)


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
    freeze_heap()  # the huge-page collapse waits for a second submission (serve)
    hangup.stop()  # no thread but this one when children are forked
    fd_in = os.dup(0)
    fd_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.set_inheritable(fd_in, False)
    os.set_inheritable(fd_out, False)
    os.makedirs(args.workdir, exist_ok=True)
    Zygote(args.workdir, args.wipe or [args.workdir], args.pid_namespace,
           args.keep).serve(fd_in, fd_out)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
