"""Hostile: the first learner of a class run tries to leave something for the
next one in the same sandbox, then behaves (try_gpu is otherwise correct).

It writes a note and plants a ``d2l`` package and a module in every folder it
can write to (and in every folder on sys.path and their parents), removes its
own permissions from trees it made (and from /work), makes a 1,300-level
tree, creates System V shared memory, semaphores and message queues, a POSIX
message queue, and keys in every keyring it can reach.  It prints what
worked; ``class_run_witness`` (graded next) looks for all of it."""

import ctypes
import os
import sys

import torch

MARK = "hostile_residue"
KEY = 0x48535452
_libc = ctypes.CDLL(None, use_errno=True)
_SYS = {"x86_64": (248, 250), "aarch64": (217, 219)}.get(os.uname().machine)


def _folders():
    found = {"/", "/opt", "/opt/grader", "/opt/grader/gchild", "/etc", "/root", "/dev",
             "/dev/shm", "/dev/mqueue", "/tmp", "/work", os.getcwd(),
             os.environ.get("HOME", "/"), os.environ.get("TMPDIR", "/")}
    for p in sys.path:
        while p and p != "/":
            found.add(p)
            p = os.path.dirname(p)
    return sorted(found)


def _plant(done):
    for folder in _folders():
        try:
            with open(os.path.join(folder, MARK + "_note.txt"), "w") as fh:
                fh.write("left by the previous learner\n")
            done.append(f"note in {folder}")
        except OSError:
            pass
        try:
            os.makedirs(os.path.join(folder, "d2l"), exist_ok=True)
            with open(os.path.join(folder, "d2l", "__init__.py"), "w") as fh:
                fh.write(f"PLANTED = {MARK!r}\n")
            with open(os.path.join(folder, MARK + "_mod.py"), "w") as fh:
                fh.write(f"PLANTED = {MARK!r}\n")
            done.append(f"modules in {folder}")
        except OSError:
            pass


def _lock_and_deepen(done):
    for top in ("/tmp", "/dev/shm", "/work", os.getcwd()):
        base = os.path.join(top, MARK + "_tree")
        try:
            os.makedirs(os.path.join(base, "inner"), exist_ok=True)
            with open(os.path.join(base, "inner", "secret.txt"), "w") as fh:
                fh.write("locked away\n")
            os.chmod(os.path.join(base, "inner", "secret.txt"), 0)
            os.chmod(os.path.join(base, "inner"), 0)
            os.chmod(base, 0o555)
            done.append(f"locked tree in {top}")
        except OSError:
            pass
    here = os.getcwd()
    for top in ("/tmp", "/dev/shm"):
        try:
            os.chdir(top)
            os.mkdir(MARK + "_deep")
            os.chdir(MARK + "_deep")
            for _ in range(1300):
                os.mkdir("d")
                os.chdir("d")
            with open("bottom.txt", "w") as fh:
                fh.write("deep\n")
            os.chmod(".", 0o500)
            done.append(f"1300-level tree in {top}")
        except OSError:
            pass
        finally:
            os.chdir(here)
    for top in ("/work", "/tmp", "/dev/shm"):
        try:
            os.chmod(top, 0o555)
            done.append(f"chmod 0555 {top}")
        except OSError:
            pass


def _ipc(done):
    for name, call in (("shm", lambda k: _libc.shmget(k, 4096, 0o1666)),
                       ("sem", lambda k: _libc.semget(k, 1, 0o1666)),
                       ("msg", lambda k: _libc.msgget(k, 0o1666))):
        for key in (KEY, 0):  # a known key, and IPC_PRIVATE
            if call(key) >= 0:
                done.append(f"System V {name}")
    try:
        mq_open = _libc.mq_open
    except AttributeError:
        mq_open = ctypes.CDLL("librt.so.1", use_errno=True).mq_open
    mq_open.restype = ctypes.c_int
    if mq_open(b"/" + MARK.encode(), os.O_CREAT | os.O_RDWR, 0o666, None) >= 0:
        done.append("POSIX message queue")


def _keys(done):
    if _SYS is None:
        return
    add_key, keyctl = _SYS
    for ring in (-1, -2, -3, -4, -5):  # thread, process, session, user, user-session
        if _libc.syscall(add_key, b"user", f"{MARK}_{ring}".encode(), b"secret",
                         ctypes.c_size_t(6), ctypes.c_long(ring)) > 0:
            done.append(f"key in keyring {ring}")
        elif ctypes.get_errno() == 38:  # ENOSYS
            done.append("keyring system calls refused")
            return
    persistent = _libc.syscall(keyctl, ctypes.c_long(22), ctypes.c_long(-1), ctypes.c_long(-2))
    if persistent > 0 and _libc.syscall(add_key, b"user", f"{MARK}_persistent".encode(),
                                        b"secret", ctypes.c_size_t(6),
                                        ctypes.c_long(persistent)) > 0:
        done.append("key in the persistent keyring")
    named = _libc.syscall(keyctl, ctypes.c_long(1), ctypes.c_char_p(f"{MARK}_ring".encode()))
    if named > 0:
        done.append("named session keyring")
    for ring in (-4, -5):  # open the uid's keyrings to everyone
        if _libc.syscall(keyctl, ctypes.c_long(5), ctypes.c_long(ring),
                         ctypes.c_long(0x3f3f3f3f)) == 0:
            done.append(f"keyring {ring} opened to all")


def _attack():
    if getattr(_attack, "done", False):
        return
    _attack.done = True
    done = []
    for step in (_plant, _lock_and_deepen, _ipc, _keys):
        try:
            step(done)
        except Exception as exc:  # noqa: BLE001 - keep attacking
            done.append(f"{step.__name__} stopped: {exc!r}")
    print("RESIDUE-PLANTED:", "; ".join(done))


def try_gpu(i: int = 0) -> torch.device:
    """ES: cuda:i si existe, si no cpu. / EN: cuda:i if it exists, else cpu."""
    _attack()
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def try_all_gpus() -> list[torch.device]:
    """ES: Todas las GPU, o [cpu]. / EN: Every GPU, or [cpu]."""
    devices = [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
    return devices or [torch.device("cpu")]
