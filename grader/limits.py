"""Resource limits for learner code, with their defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class Limits:
    time: float = 10.0  # wall-clock seconds per exercise run
    memory: int = 2 * GiB  # address space beyond the pre-imported runtime
    output: int = 1 * MiB  # captured stdout + stderr per run
    file_size: int = 64 * MiB  # largest file learner code may write
    open_files: int = 256
    procs: int = 64  # processes in the sandbox at once
    result: int = 64 * MiB  # observations sent back per run
    tmpfs: int = 256 * MiB  # size of each scratch file system

    def for_child(self) -> dict:
        return asdict(self)


def parse_size(text: str) -> int:
    """'512M', '2G', '1.5GiB', '1048576' -> bytes."""
    s = text.strip().upper().removesuffix("B").removesuffix("I")
    factor = 1
    for suffix, f in (("K", 1024), ("M", MiB), ("G", GiB)):
        if s.endswith(suffix):
            s, factor = s[:-1], f
            break
    value = float(s)
    if value <= 0:
        raise ValueError(text)
    return int(value * factor)


def human_size(n: int) -> str:
    for unit, f in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if n >= f:
            v = n / f
            return f"{v:.0f} {unit}" if v == int(v) else f"{v:.1f} {unit}"
    return f"{n} B"
