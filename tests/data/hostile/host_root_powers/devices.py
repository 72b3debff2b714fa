"""Hostile: try_gpu looks for host-root powers and raises if it finds any;
otherwise it is correct.  It never writes a kernel setting: it only opens one
for writing (the UTS namespace's own host name, private to the sandbox) and
closes it at once, and asks access() about a global one.

* uid 0 in the host's user namespace (/proc/self/uid_map);
* /proc/sys writable: host uid 0 may write global sysctls with no capability;
* a user namespace of its own (capabilities in it);
* RLIMIT_NPROC not enforced (the kernel ignores it for host uid 0): forking
  beyond it works."""

import ctypes
import os
import resource

import torch


def _outer_uid() -> int:
    """The uid one user namespace up (the host's, unless bubblewrap nested a
    second namespace to forbid more of them: test_sandbox.py also checks the
    uid from the host's side)."""
    uid = os.getuid()
    for line in open("/proc/self/uid_map").read().splitlines():
        inner, outer, count = (int(x) for x in line.split())
        if inner <= uid < inner + count:
            return outer + uid - inner
    return -1


def _in_the_host_user_namespace() -> bool:
    return open("/proc/self/uid_map").read().split() == ["0", "0", "4294967295"]


def _sysctl_writable() -> list[str]:
    found = []
    try:
        fd = os.open("/proc/sys/kernel/hostname", os.O_WRONLY)
    except OSError:
        pass
    else:
        os.close(fd)  # nothing written
        found.append("/proc/sys/kernel/hostname opened for writing")
    if os.access("/proc/sys/kernel/core_pattern", os.W_OK):
        found.append("/proc/sys/kernel/core_pattern writable (access)")
    if not os.statvfs("/proc/sys").f_flag & os.ST_RDONLY:
        found.append("/proc/sys is not mounted read-only")
    return found


def _fork_beyond_nproc() -> str:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NPROC)
    if soft == resource.RLIM_INFINITY or soft > 4096:
        return f"RLIMIT_NPROC is {soft}"
    r, w = os.pipe()
    kids, refused = [], False
    try:
        for _ in range(soft + 8):
            try:
                pid = os.fork()
            except BlockingIOError:
                refused = True
                break
            if pid == 0:
                os.close(w)
                os.read(r, 1)
                os._exit(0)
            kids.append(pid)
    finally:
        os.close(w)
        os.close(r)
        for pid in kids:
            os.waitpid(pid, 0)
    return "" if refused else f"forked {len(kids)} processes with RLIMIT_NPROC {soft}"


def _new_user_namespace() -> str:
    """In a child process: capabilities in a user namespace of its own."""
    libc = ctypes.CDLL(None, use_errno=True)
    pid = os.fork()
    if pid == 0:
        os._exit(0 if libc.unshare(0x10000000) == 0 else 1)  # CLONE_NEWUSER
    _, status = os.waitpid(pid, 0)
    return "a new user namespace could be made" if os.waitstatus_to_exitcode(status) == 0 else ""


def _check():
    if getattr(_check, "done", False):
        return
    _check.done = True
    found = []
    if _outer_uid() == 0 and (_in_the_host_user_namespace() or os.getuid() == 0):
        found.append("the sandbox uid is host uid 0")
    found += _sysctl_writable()
    userns = _new_user_namespace()
    if userns:
        found.append(userns)
    nproc = _fork_beyond_nproc()
    if nproc:
        found.append(nproc)
    if found:
        raise PermissionError("host-root powers: " + "; ".join(found))


def try_gpu(i: int = 0) -> torch.device:
    """ES: cuda:i si existe, si no cpu. / EN: cuda:i if it exists, else cpu."""
    _check()
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def try_all_gpus() -> list[torch.device]:
    """ES: Todas las GPU, o [cpu]. / EN: Every GPU, or [cpu]."""
    devices = [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
    return devices or [torch.device("cpu")]
