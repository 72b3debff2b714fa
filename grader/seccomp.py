"""The seccomp filter bubblewrap loads for the sandbox (``--seccomp FD``).

* No new user namespaces: ``unshare`` and ``clone`` with ``CLONE_NEWUSER``
  fail with EPERM, so learner code cannot get capabilities back in a user
  namespace of its own.  (An ordinary user's sandbox also has bubblewrap's
  ``--disable-userns``; a sandbox root starts has no user namespace, where
  that option works, see ``sandbox.py``.)  ``clone3``, whose flags a filter
  cannot read, fails with ENOSYS (the C library then falls back to
  ``clone``).
* No keyrings: ``add_key``, ``request_key`` and ``keyctl`` fail with ENOSYS.
  Keys live in the kernel, outside every namespace bubblewrap makes; a
  sandbox started by root shares the host's user namespace, where a key
  could be left for the next learner or shown to another worker's sandbox.
* Every system call of another ABI (32-bit x86, x32), which would otherwise
  bypass these checks, fails with ENOSYS.
"""

from __future__ import annotations

import errno
import os
import struct

_LD_W_ABS = 0x20
_JEQ = 0x15
_JGE = 0x35
_JSET = 0x45
_RET = 0x06
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000
CLONE_NEWUSER = 0x10000000

# machine -> (AUDIT_ARCH_*, clone, unshare, clone3, first number of another ABI,
#             (add_key, request_key, keyctl))
_ARCHES = {
    "x86_64": (0xC000003E, 56, 272, 435, 0x40000000, (248, 249, 250)),
    "aarch64": (0xC00000B7, 220, 97, 435, None, (217, 218, 219)),
}


def supported() -> bool:
    return os.uname().machine in _ARCHES


def program() -> bytes:
    """The compiled BPF program (struct sock_filter[]) for this machine."""
    arch, clone, unshare, clone3, other_abi, keys = _ARCHES[os.uname().machine]
    code: list[tuple] = [
        (_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        (_JEQ, 0, "enosys", arch),
        (_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
    ]
    if other_abi is not None:
        code.append((_JGE, "enosys", 0, other_abi))
    code += [(_JEQ, "enosys", 0, nr) for nr in keys]
    code += [
        (_JEQ, "enosys", 0, clone3),
        (_JEQ, "flags", 0, unshare),
        (_JEQ, "flags", 0, clone),
        (_RET, 0, 0, _ALLOW),
        ("flags", _LD_W_ABS, 0, 0, 16),  # low half of args[0] (little-endian)
        (_JSET, "eperm", 0, CLONE_NEWUSER),
        (_RET, 0, 0, _ALLOW),
        ("eperm", _RET, 0, 0, _ERRNO | errno.EPERM),
        ("enosys", _RET, 0, 0, _ERRNO | errno.ENOSYS),
    ]
    labels, rows = {}, []
    for ins in code:
        if isinstance(ins[0], str):
            labels[ins[0]] = len(rows)
            ins = ins[1:]
        rows.append(ins)
    out = b""
    for i, (op, jt, jf, k) in enumerate(rows):
        jt = labels[jt] - i - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - i - 1 if isinstance(jf, str) else jf
        out += struct.pack("=HBBI", op, jt, jf, k)
    return out


def program_fd() -> int:
    """A file descriptor to read the program from (for ``bwrap --seccomp``)."""
    fd = os.memfd_create("grader-seccomp", 0)
    os.write(fd, program())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
