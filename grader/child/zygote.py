"""The zygote: a process that has imported torch once and forks a fresh
child for every exercise run.

It speaks frames on stdin/stdout with the grader.  It never imports learner
code itself; each forked child does, under resource limits, with its output
captured and capped.  After every run, every process the child left behind is
killed and the scratch folders are wiped.

Requests:
  {"op": "submission", "files": [[name, size], ...]}  payload: the bytes
  {"op": "run", "probe": ..., "module": ..., ...}      payload: safetensors inputs
  {"op": "quit"}
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import os
import select
import shutil
import signal
import sys
import time

import torch

from . import framing, runner

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36

_libc = ctypes.CDLL(None, use_errno=True)


def prctl(option: int, value: int) -> None:
    _libc.prctl(option, value, 0, 0, 0)


class Zygote:
    def __init__(self, workdir: str, wipe: list[str], pid_namespace: bool) -> None:
        self.workdir = workdir
        self.wipe = wipe
        self.pid_namespace = pid_namespace
        self.files: dict[str, bytes] = {}
        self.runs = 0

    # -- clean-up -----------------------------------------------------------
    def kill_everything(self) -> None:
        """Kill every process of the submission that is still around."""
        for _ in range(100):
            if self.pid_namespace:
                # Inside our own PID namespace: every process but us.
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            else:
                for pid in _children(os.getpid()):
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except OSError:
                        pass
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            reaped = _reap_all()
            if not reaped and not self._others_alive():
                return
            time.sleep(0.005)

    def _others_alive(self) -> bool:
        if self.pid_namespace:
            me = os.getpid()
            return any(p.isdigit() and int(p) != me for p in os.listdir("/proc"))
        return bool(_children(os.getpid()))

    def wipe_scratch(self) -> None:
        for top in self.wipe:
            try:
                entries = os.listdir(top)
            except OSError:
                continue
            for entry in entries:
                path = os.path.join(top, entry)
                if os.path.isdir(path) and not os.path.islink(path):
                    _make_writable(path)
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    try:
                        os.unlink(path)
                    except OSError:
                        pass

    def prepare_workdir(self, name: str) -> str:
        path = os.path.join(self.workdir, name)
        os.makedirs(path)
        for rel, data in self.files.items():
            dest = os.path.join(path, rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "wb") as fh:
                fh.write(data)
        os.makedirs(os.path.join(path, ".scratch"), exist_ok=True)
        return path

    # -- one run --------------------------------------------------------------
    def run(self, req: dict, inputs: bytes) -> tuple[dict, bytes]:
        self.runs += 1
        self.wipe_scratch()
        workdir = self.prepare_workdir(f"run{self.runs}")
        limits = req["limits"]
        res_r, res_w = os.pipe()
        out_r, out_w = os.pipe()
        dog_r, dog_w = os.pipe()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:  # child
            try:
                os.close(res_r), os.close(out_r), os.close(dog_r)
                runner.child_main(req, inputs, workdir, res_w, out_w, dog_w)
            finally:
                os._exit(70)
        os.close(res_w), os.close(out_w), os.close(dog_w)
        reply, result = self.supervise(pid, started, limits, res_r, out_r, dog_r)
        for fd in (res_r, out_r, dog_r):
            os.close(fd)
        self.kill_everything()
        self.wipe_scratch()
        return reply, result

    def supervise(self, pid, started, limits, res_r, out_r, dog_r):
        deadline = started + float(limits["time"])
        max_out = int(limits["output"])
        max_result = int(limits["result"])
        max_procs = int(limits["procs"])
        buffers = {res_r: bytearray(), out_r: bytearray(), dog_r: bytearray()}
        caps = {res_r: max_result + 1, out_r: max_out + 1, dog_r: 64 * 1024}
        open_fds = {res_r, out_r, dog_r}
        stopped = None
        status = None
        out_total = 0
        while True:
            if status is None:
                wpid, wstatus = os.waitpid(pid, os.WNOHANG)
                if wpid == pid:
                    status = wstatus
            now = time.monotonic()
            if status is not None and (not open_fds or now > deadline):
                break
            if status is None and now > deadline:
                stopped = "timeout"
                _kill_tree(pid)
                continue
            ready, _, _ = select.select(list(open_fds), [], [], 0.02 if status is None else 0.005)
            for fd in ready:
                try:
                    chunk = os.read(fd, 1 << 16)
                except OSError:
                    chunk = b""
                if not chunk:
                    open_fds.discard(fd)
                    continue
                if fd == out_r:
                    out_total += len(chunk)
                buf = buffers[fd]
                room = caps[fd] - len(buf)
                buf += chunk[:max(room, 0)]
                if fd == out_r and out_total > max_out and stopped is None and status is None:
                    stopped = "output_limit"
                    _kill_tree(pid)
                if fd == res_r and len(buf) > max_result and stopped is None and status is None:
                    stopped = "result_limit"
                    _kill_tree(pid)
            if status is not None and not ready:
                # the child is gone; what is left open belongs to its leftovers
                break
            if self.pid_namespace and status is None and max_procs and _count_procs() > max_procs:
                stopped = "process_limit"
                _kill_tree(pid)
        if status is None:
            _, status = os.waitpid(pid, 0)
        wall = time.monotonic() - started
        reply = {
            "wall": round(wall, 4),
            "stopped": stopped,
            "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "output": bytes(buffers[out_r][:max_out]).decode("utf-8", "replace"),
            "output_truncated": out_total > max_out,
            "output_bytes": out_total,
            "watchdog": bytes(buffers[dog_r]).decode("utf-8", "replace"),
        }
        return reply, bytes(buffers[res_r][:max_result])

    # -- main loop ------------------------------------------------------------
    def serve(self, fd_in: int, fd_out: int) -> None:
        framing.write_frame(fd_out, {"op": "ready", "pid": os.getpid(), "torch": torch.__version__,
                                     "cuda": torch.cuda.is_available()})
        while True:
            try:
                req, payload = framing.read_frame(fd_in, 256 * 1024 * 1024)
            except EOFError:
                return
            op = req.get("op")
            if op == "quit":
                return
            if op == "submission":
                self.files = {}
                pos = 0
                for name, size in req["files"]:
                    self.files[name] = payload[pos:pos + size]
                    pos += size
                framing.write_frame(fd_out, {"op": "ok"})
            elif op == "run":
                reply, result = self.run(req, payload)
                framing.write_frame(fd_out, reply, result)
            else:
                framing.write_frame(fd_out, {"op": "error", "message": f"unknown op {op!r}"})


def _children(ppid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == ppid:
            found.append(int(entry))
    return found


def _count_procs() -> int:
    return sum(1 for p in os.listdir("/proc") if p.isdigit())


def _reap_all() -> bool:
    reaped = False
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            return reaped
        reaped = True


def _kill_tree(pid: int) -> None:
    for fn in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            fn()
        except OSError as exc:
            if exc.errno != errno.ESRCH:
                pass


def _make_writable(path: str) -> None:
    for root, dirs, _files in os.walk(path):
        for d in dirs:
            try:
                os.chmod(os.path.join(root, d), 0o700)
            except OSError:
                pass
    try:
        os.chmod(path, 0o700)
    except OSError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--wipe", action="append", default=[])
    parser.add_argument("--pid-namespace", action="store_true")
    args = parser.parse_args()
    prctl(PR_SET_DUMPABLE, 0)  # learner processes may not ptrace or read us
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # die with the grader
    if not args.pid_namespace:
        prctl(PR_SET_CHILD_SUBREAPER, 1)  # orphans come back to us, to be killed
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the grader decides when we stop
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    runner.warm_up()
    fd_in = os.dup(0)
    fd_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.set_inheritable(fd_in, False)
    os.set_inheritable(fd_out, False)
    os.makedirs(args.workdir, exist_ok=True)
    Zygote(args.workdir, args.wipe or [args.workdir], args.pid_namespace).serve(fd_in, fd_out)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
