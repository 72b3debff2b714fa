"""Gives up host root, first thing in a sandbox that root started.

Root starts bubblewrap without a user namespace (one would map the sandbox to
host uid 0, see ``grader/sandbox.py``), so the zygote's Python begins as root,
with every capability, in the sandbox's own mount, PID, IPC, network and UTS
namespaces.  Before it imports anything else it becomes ``uid`` (gid ``uid``,
no supplementary groups) with an empty capability bounding set, no
capabilities at all and ``no_new_privs``; every learner process is a fork of
it.  Anything that does not hold afterwards stops the sandbox.
"""

from __future__ import annotations

import ctypes
import os

PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
_CAP_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def drop(uid: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    with open("/proc/sys/kernel/cap_last_cap") as fh:
        last = int(fh.read())
    for cap in range(last + 1):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), f"cannot drop capability {cap}")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # clears the permitted, effective and ambient sets
    if libc.capset(ctypes.byref(_CapHeader(_CAP_VERSION_3, 0)), (_CapData * 2)()) != 0:
        raise OSError(ctypes.get_errno(), "cannot clear the inheritable capabilities")
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "cannot set no_new_privs")
    _verify(uid)


def _verify(uid: int) -> None:
    with open("/proc/self/status") as fh:
        fields = dict(line.split(":", 1) for line in fh if ":" in line)
    ids = fields["Uid"].split() + fields["Gid"].split()
    problems = [
        f"{key}={fields[key].strip()}"
        for key in ("CapInh", "CapPrm", "CapEff", "CapAmb")
        if int(fields.get(key, "0").strip() or "0", 16)
    ]
    if any(int(i) == 0 for i in ids) or os.getgroups():
        problems.append(f"ids {ids}, groups {os.getgroups()}")
    if problems:
        raise SystemExit(f"the sandbox still has privileges: {', '.join(problems)}")
