"""State the kernel keeps for the sandbox, outside any file or process.

One zygote serves many submissions, so what a run leaves in the kernel must
not reach the next run:

* System V shared memory, semaphores and message queues, and POSIX message
  queues, live in the sandbox's own IPC namespace (private to this zygote).
  After every run the zygote removes every one of them (it has the same uid
  as the learner code, which created them; the creator can always remove).
* Keyrings, where the seccomp filter does not forbid them altogether (see
  ``grader/seccomp.py``).  The children inherit the zygote's session keyring, new and
  empty, which nobody may write to.  Keyrings a run makes itself (session,
  process, thread) go away with its processes: after a run the zygote waits
  until the kernel has collected every key the run made (/proc/keys would
  still show them).  The keyrings that belong to the uid itself (user,
  user-session, persistent) would outlive a run: the zygote empties the
  first two once and takes away every permission to write to them or to
  change their permissions again; it empties the persistent one (whose
  permissions nobody may change) after every run.
* The zygote's own limits, priority, CPU affinity and scheduling policy can
  be changed by a process of the same uid (``prlimit``, ``setpriority``...)
  and children would inherit them: the zygote compares them with what they
  were after every run, and stops (the grader starts a fresh sandbox) if
  anything changed.  A child waiting for its run (``warm.py``) is compared
  with the zygote before it is used: one that was changed is not.
"""

from __future__ import annotations

import ctypes
import os
import resource
import time

import psutil

_libc = ctypes.CDLL(None, use_errno=True)

IPC_RMID = 0
MQUEUE_DIR = "/dev/mqueue"

# keyctl(2), called through syscall(2): the C library has no wrapper
_SYS_KEYCTL = {"x86_64": 250, "aarch64": 219, "ppc64le": 283, "s390x": 280, "riscv64": 219}.get(
    os.uname().machine
)
KEYCTL_GET_KEYRING_ID = 0
KEYCTL_JOIN_SESSION_KEYRING = 1
KEYCTL_SETPERM = 5
KEYCTL_CLEAR = 7
KEYCTL_GET_PERSISTENT = 22
KEY_SPEC_PROCESS_KEYRING = -2
KEY_SPEC_USER_KEYRING = -4
KEY_SPEC_USER_SESSION_KEYRING = -5
# view, read and search for the possessor and the owner: no write, link or setattr
KEY_READ_ONLY = 0x0B0B0000


def _keyctl(op: int, *args: int) -> int:
    if _SYS_KEYCTL is None:
        return -1
    return _libc.syscall(_SYS_KEYCTL, ctypes.c_long(op), *(ctypes.c_long(a) for a in args))


def new_session_keyring(read_only: bool) -> None:
    """A fresh, anonymous session keyring for this process and the children
    it forks (not the session keyring of whoever started the grader);
    ``read_only``: nobody may add to it or change its permissions back."""
    ring = _keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0)
    if ring > 0 and read_only:
        _keyctl(KEYCTL_SETPERM, ring, KEY_READ_ONLY)


def lock_uid_keyrings() -> None:
    """Empty the user and user-session keyrings of this uid and make them
    read-only for good (without CAP_SYS_ADMIN nobody can give the permissions
    back); empty the persistent keyring too."""
    for spec in (KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING):
        ring = _keyctl(KEYCTL_GET_KEYRING_ID, spec, 1)
        if ring > 0:
            _keyctl(KEYCTL_CLEAR, ring)
            _keyctl(KEYCTL_SETPERM, ring, KEY_READ_ONLY)
    clear_persistent_keyring()


def clear_persistent_keyring() -> int:
    """The uid's persistent keyring cannot be made read-only (nobody may change
    its permissions) but whoever possesses it may empty it: done after every
    run.  Returns its id (it is linked into this process's own keyring)."""
    ring = _keyctl(KEYCTL_GET_PERSISTENT, -1, KEY_SPEC_PROCESS_KEYRING)
    if ring > 0:
        _keyctl(KEYCTL_CLEAR, ring)
    return ring


def visible_keys() -> dict[str, str]:
    """The keys of this uid this process may see (all of them, unless a key's
    permissions hide it from the uid, and then from every later run too):
    id -> the line of /proc/keys."""
    uid, keys = str(os.getuid()), {}
    try:
        with open("/proc/keys") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) > 5 and fields[5] == uid:
                    keys[fields[0]] = line.strip()
    except OSError:
        pass
    return keys


def wait_for_keys_gone(known, timeout: float = 1.0) -> list[str]:
    """Wait until the keys of a finished run are collected (the kernel does it
    soon after their last process ended); returns those still there."""
    deadline = time.monotonic() + timeout
    while True:
        extra = [line for key, line in visible_keys().items() if key not in known]
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.002)


def remove_ipc_objects() -> list[str]:
    """Remove every System V IPC object and POSIX message queue of the
    sandbox's IPC namespace; returns those that could not be removed."""
    left = []
    for kind, remove in (
        ("shm", lambda i: _libc.shmctl(i, IPC_RMID, None)),
        ("sem", lambda i: _libc.semctl(i, 0, IPC_RMID)),
        ("msg", lambda i: _libc.msgctl(i, IPC_RMID, None)),
    ):
        for ident in _ipc_ids(kind):
            if remove(ident) != 0 and ctypes.get_errno() not in (22, 43):  # EINVAL, EIDRM
                left.append(f"{kind} {ident}")
    try:
        os.chmod(MQUEUE_DIR, 0o1777)  # where the sandbox uid owns it, a run may have locked it
    except OSError:
        pass
    try:
        queues = os.listdir(MQUEUE_DIR)
    except OSError:
        queues = []
    for name in queues:
        try:
            os.unlink(os.path.join(MQUEUE_DIR, name))
        except FileNotFoundError:
            pass
        except OSError:
            left.append(f"mqueue {name}")
    return left


def _ipc_ids(kind: str) -> list[int]:
    try:
        with open(f"/proc/sysvipc/{kind}") as fh:
            lines = fh.read().splitlines()[1:]
    except OSError:
        return []
    ids = []
    for line in lines:
        fields = line.split()
        if len(fields) > 1 and fields[1].isdigit():
            ids.append(int(fields[1]))
    return ids


def own_attributes() -> tuple:
    """What a same-uid process can change about this one and children inherit."""
    return attributes(0)


def attributes(pid: int) -> tuple:
    """What a same-uid process can change about process ``pid`` (0: this one):
    its resource limits, priority, CPU affinity, scheduling policy and I/O
    priority.  Raises OSError if ``pid`` is gone."""
    limits = tuple(
        resource.prlimit(pid, getattr(resource, name))
        for name in sorted(dir(resource))
        if name.startswith("RLIMIT_")
    )
    return (
        limits,
        os.getpriority(os.PRIO_PROCESS, pid),
        frozenset(os.sched_getaffinity(pid)),
        os.sched_getscheduler(pid),
        _io_priority(pid),
    )


def _io_priority(pid: int = 0) -> tuple:
    """The I/O priority (class and level) of ``pid`` (0: this process); a
    same-uid process can set it to "idle" with ioprio_set(2) and children
    would inherit it.  Raises OSError if ``pid`` is gone."""
    try:
        return tuple(psutil.Process(pid or os.getpid()).ionice())
    except psutil.NoSuchProcess as exc:
        raise ProcessLookupError(str(exc)) from None
    except psutil.AccessDenied as exc:
        raise PermissionError(str(exc)) from None
