"""Graded right after ``class_run_residue`` by the same sandbox: try_gpu
looks for everything that submission tried to leave behind and raises if it
finds any of it; otherwise it is correct."""

import ctypes
import importlib.util
import os
import sys

import torch

MARK = "hostile_residue"
_libc = ctypes.CDLL(None, use_errno=True)
_SYS = {"x86_64": (248, 250), "aarch64": (217, 219)}.get(os.uname().machine)
_LISTED = ("/", "/opt", "/opt/grader", "/opt/grader/gchild", "/etc", "/root", "/dev")
_WALKED = ("/tmp", "/dev/shm", "/dev/mqueue", "/work")


def _files(found):
    folders = set(_LISTED) | {p for p in sys.path if p}
    for folder in sorted(folders):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        found += [f"{folder}/{n}" for n in names if MARK in n or n == "d2l"]
    for top in _WALKED:
        for root, dirs, names in os.walk(top):
            found += [f"{root}/{n}" for n in dirs + names if MARK in n or n == "d2l"]
            if root.count("/") > 40:
                found.append(f"a deep tree: {root[:80]}...")
                break
    for top in ("/tmp", "/dev/shm", os.getcwd()):
        if not os.access(top, os.W_OK | os.X_OK):
            found.append(f"{top} is not writable")
    for name in ("d2l", MARK + "_mod"):
        if importlib.util.find_spec(name) is not None:
            found.append(f"module {name} can be imported")


def _ipc(found):
    for kind in ("shm", "sem", "msg"):
        with open(f"/proc/sysvipc/{kind}") as fh:
            rows = fh.read().splitlines()[1:]
        if rows:
            found.append(f"{len(rows)} System V {kind} object(s)")
    try:
        queues = os.listdir("/dev/mqueue")
    except OSError:
        queues = []
    if queues:
        found.append(f"POSIX message queues {queues}")
    try:
        mq_open = _libc.mq_open
    except AttributeError:
        mq_open = ctypes.CDLL("librt.so.1", use_errno=True).mq_open
    mq_open.restype = ctypes.c_int
    if mq_open(b"/" + MARK.encode(), os.O_RDONLY, 0, None) >= 0:
        found.append("the POSIX message queue opens")


def _keys(found):
    with open("/proc/keys") as fh:
        keys = fh.read()
    if MARK in keys:
        found.append("keys in /proc/keys: " + " | ".join(
            line for line in keys.splitlines() if MARK in line)[:300])
    if _SYS is None:
        return
    _add_key, keyctl = _SYS
    for ring in (-3, -4, -5):
        for name in (f"{MARK}_{r}" for r in (-1, -2, -3, -4, -5)):
            if _libc.syscall(keyctl, ctypes.c_long(10), ctypes.c_long(ring), b"user",
                             name.encode(), ctypes.c_long(0)) > 0:
                found.append(f"key {name} found from keyring {ring}")


def _look():
    if getattr(_look, "done", False):
        return
    _look.done = True
    found = []
    for step in (_files, _ipc, _keys):
        step(found)
    if found:
        raise PermissionError("residue of another learner: " + "; ".join(found)[:1500])


def try_gpu(i: int = 0) -> torch.device:
    """ES: cuda:i si existe, si no cpu. / EN: cuda:i if it exists, else cpu."""
    _look()
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def try_all_gpus() -> list[torch.device]:
    """ES: Todas las GPU, o [cpu]. / EN: Every GPU, or [cpu]."""
    devices = [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
    return devices or [torch.device("cpu")]
