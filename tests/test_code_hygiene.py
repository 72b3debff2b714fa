"""Rules of the code base that a review would otherwise have to recheck:
process information comes from psutil, not from /proc parsed by hand, and
``framing``'s private names stay inside it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(
    [*ROOT.glob("grader/**/*.py"), *ROOT.glob("benchmarks/*.py"), *ROOT.glob("tests/*.py")]
)

# /proc files that psutil has no API for, or code that is not ours to change here
PROC_ALLOWED = {
    "grader/child/memory.py": "its own memory map's addresses, to back them with huge pages",
    "grader/child/privileges.py": "capabilities (CapEff, cap_last_cap): not in psutil",
    "grader/child/kernel_state.py": "keys and System V IPC objects: not in psutil",
    "benchmarks/gpu_check.py": "the NVIDIA driver's version",
    "tests/test_ahead.py": "learner code, in strings",
    "tests/test_redteam_ahead.py": "learner code, in strings",
}
PROC_READ = re.compile(r"""(open|listdir|Path|read_text|read_bytes)\(\s*f?["']/proc""")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_process_information_is_read_through_psutil():
    offenders = [
        f"{_rel(p)}:{n}"
        for p in SOURCES
        if _rel(p) not in PROC_ALLOWED and p.name != "test_code_hygiene.py"
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if PROC_READ.search(line)
    ]
    assert offenders == [], "read /proc through psutil: " + ", ".join(offenders)


def test_framings_private_names_are_not_used_outside_it():
    allowed = {"grader/child/framing.py"}
    offenders = [
        _rel(p)
        for p in SOURCES
        if _rel(p) not in allowed
        and re.search(r"\bframing\._[a-z_A-Z]", p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
