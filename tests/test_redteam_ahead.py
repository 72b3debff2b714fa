"""Red-team tests of the child forked ahead of its run (grader/child/warm.py),
driven on the CPU, written without reading its own tests.

* Learner code of one run cannot read or write the waiting child, but a
  process of the same uid can change what the kernel keeps about it: its
  resource limits (prlimit), priority, scheduling policy, CPU affinity and I/O
  priority.  The waiting child cannot raise a hard limit that was lowered, so
  it would serve the next run with what the learner chose, and a child forked
  between submissions would carry it into the next learner's run.  Such a
  child must not be used: the run gets a fresh fork, with the same result.
* A child forked between submissions holds no bytes of the last one, also
  not the files its learner code wrote (read back by a learner-free run).
* A waiting child whose device did not start does not answer a run.
* The clean-up beside a waiting child (one process at a time) finds every
  process, also one whose main thread alone ended.
* the tasks reserved for the waiting child are not the learner's (the run beside
  it gets the same thread limit as a run alone).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.assignment import default
from grader.grading import _run
from grader.limits import Limits
from grader.sandbox import Zygote, detect_isolation
from grader.submission import read_submission

from conftest import replies_of

pytestmark = pytest.mark.slow  # every test here starts its own sandbox

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"

# Every other child of my parent is the child waiting for the next run.
_SIBLINGS = r"""
import os as _o, resource as _r, ctypes as _c
def _siblings():
    me, parent, found = _o.getpid(), _o.getppid(), []
    for entry in _o.listdir("/proc"):
        if entry.isdigit() and int(entry) != me:
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            if int(stat[stat.rfind(")") + 2:].split()[1]) == parent:
                found.append(int(entry))
    return found
def _attributes():
    # RLIMIT_AS is the run's share on top of the child's own size: not compared
    limits = [_r.getrlimit(getattr(_r, n)) for n in sorted(dir(_r))
              if n.startswith("RLIMIT_") and n != "RLIMIT_AS"]
    get = {"x86_64": 252, "aarch64": 31}.get(_o.uname().machine)     # ioprio_get
    io = _c.CDLL(None).syscall(get, 1, 0) if get else 0
    return (limits, _o.getpriority(_o.PRIO_PROCESS, 0), sorted(_o.sched_getaffinity(0)),
            _o.sched_getscheduler(0), io)
print("ATTRIBUTES", _attributes())
"""

ATTACKS = {
    "open_files": "_r.prlimit(_p, _r.RLIMIT_NOFILE, (3, 3))",
    "stack": "_r.prlimit(_p, _r.RLIMIT_STACK, (1 << 20, 1 << 20))",
    "nice": "_o.setpriority(_o.PRIO_PROCESS, _p, 19)",
    "sched_idle": "_o.sched_setscheduler(_p, _o.SCHED_IDLE, _o.sched_param(0))",
    "affinity": "_o.sched_setaffinity(_p, {min(_o.sched_getaffinity(_p))})",
    # ioprio_set(IOPRIO_WHO_PROCESS, pid, idle class)
    "io_idle": "_c.CDLL(None).syscall({'x86_64': 251, 'aarch64': 30}[_o.uname().machine], "
    "1, _p, 3 << 13)",
}


def _attack(code: str) -> str:
    return (
        _SIBLINGS
        + "for _p in _siblings():\n    try:\n        "
        + code
        + "\n    except OSError:\n        pass\n"
    )


def _submission(tmp_path: Path, name: str, extra: dict[str, str]) -> dict[str, bytes]:
    folder = tmp_path / name
    shutil.copytree(SOLUTIONS, folder)
    for file, code in extra.items():
        with open(folder / file, "a") as fh:
            fh.write("\n" + code + "\n")
    return read_submission(folder)


@pytest.fixture(scope="module")
def zygote():
    z = Zygote(Limits(time=20.0), detect_isolation())
    z.start()
    with replies_of(z) as z.replies:
        yield z
    z.close()


def _attributes_printed(obs) -> str:
    lines = [line for line in obs.output.splitlines() if line.startswith("ATTRIBUTES")]
    assert lines, obs.output
    return lines[0]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_waiting_child_changed_by_the_run_beside_it_is_not_used(zygote, tmp_path, attack):
    """The run beside the waiting child changes its limits or scheduling; the
    next run of the same submission runs with the grader's, not those."""
    if attack == "affinity" and len(__import__("os").sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: the affinity cannot be narrowed")
    files = _submission(tmp_path, attack, {"blocks.py": _attack(ATTACKS[attack])})
    zygote.load_submission(files, warm="cpu")
    first = _run(zygote, default().by_id["mlp"], "cpu", ahead="cpu")  # changes the waiting child
    assert zygote.replies[-1]["ahead"] is True
    second = _run(zygote, default().by_id["mlp"], "cpu", ahead="cpu")
    assert second.problem is None, second.problem
    assert _attributes_printed(second) == _attributes_printed(first)
    assert zygote.replies[-1]["ahead"] is False  # a fresh fork served it


def test_submission_cannot_change_the_child_that_serves_the_next_one(zygote, tmp_path):
    """A child forked between submissions waits beside the runs of A (here the
    ``devices`` probe, which a CPU child does not serve; on a GPU host, A's CPU
    runs when its CUDA runs never come); A lowers its open-file limit so that
    B, the reference solutions, would fail."""
    attacker = _submission(
        tmp_path, "a", {"devices.py": _attack("_r.prlimit(_p, _r.RLIMIT_NOFILE, (3, 3))")}
    )
    zygote.load_submission(attacker, warm="cpu")
    _run(zygote, default().by_id["devices"], "cpu", ahead="cpu")
    victim = _submission(tmp_path, "b", {"blocks.py": _SIBLINGS})
    zygote.load_submission(victim, warm="cpu")
    obs = _run(zygote, default().by_id["mlp"], "cpu", ahead="cpu")
    assert obs.problem is None, obs.problem
    assert "(3, 3)" not in _attributes_printed(obs)


# A learner's file (tensor_io writes it with save_tensors) comes back to the
# zygote as the inputs of the learner-free run that reads it (_verify_files).
_WRITER = r"""
def save_tensors(obj, path):
    with open(path, "wb") as fh:
        fh.write((b"ZQXJ" + b"-CANARY-") * 100)
"""
# Counts the writer's bytes in this process's memory (two pieces of them in a
# row: this code never builds that).
_SCANNER = r"""
def _scan():
    import ctypes
    needle, hits = b"ZQXJ" + b"-CANARY-", 0
    for line in open("/proc/self/maps"):
        fields = line.split()
        if not fields[1].startswith("rw"):
            continue
        lo, hi = (int(x, 16) for x in fields[0].split("-"))
        if hi - lo > (1 << 30):
            continue
        data = ctypes.string_at(lo, hi - lo)
        at = data.find(needle)
        while at >= 0:
            hits += data[at + 12:at + 24] == needle
            at = data.find(needle, at + 1)
        del data
    print("CANARY HITS", hits)
_scan()
"""


def test_files_a_learner_wrote_do_not_reach_the_next_submission(zygote, tmp_path):
    """A child forked between submissions (and any child of the next one) must
    hold none of the bytes of the files the last learner wrote."""
    from grader.grading import _verify_files

    writer = _submission(tmp_path, "writer", {"storage.py": _WRITER})
    zygote.load_submission(writer, warm="cpu")
    ex = default().by_id["tensor_io"]
    obs = _run(zygote, ex, "cpu", ahead="cpu")
    assert "file/tensor.bytes" in obs.tensors
    _verify_files(zygote, ex, obs)
    reader = _submission(tmp_path, "reader", {"blocks.py": _SCANNER})
    zygote.load_submission(reader, warm="cpu")
    found = []
    for ahead in ("cpu", None, None):
        seen = _run(zygote, default().by_id["mlp"], "cpu", ahead=ahead)
        lines = [line for line in seen.output.splitlines() if line.startswith("CANARY HITS")]
        assert lines, (seen.output, seen.errors)
        found.append((zygote.replies[-1]["ahead"], lines[0]))
    assert all(line == "CANARY HITS 0" for _, line in found), found


_THREADS = r"""
import threading as _th
_stop, _started = _th.Event(), 0
try:
    for _ in range(1000):
        _th.Thread(target=_stop.wait, daemon=True).start()
        _started += 1
except RuntimeError:
    pass
_stop.set()
print("THREADS STARTED", _started)
"""


def test_a_waiting_child_gives_the_run_beside_it_no_extra_tasks(zygote, tmp_path):
    files = _submission(tmp_path, "threads", {"blocks.py": _THREADS})

    def started(obs) -> str:
        lines = [line for line in obs.output.splitlines() if line.startswith("THREADS")]
        assert lines, (obs.output, obs.errors)
        return lines[0]

    zygote.load_submission(files)  # no child ahead
    alone = started(_run(zygote, default().by_id["mlp"], "cpu"))
    assert zygote.replies[-1]["ahead"] is False
    zygote.load_submission(files, warm="cpu")
    _run(zygote, default().by_id["mlp"], "cpu", ahead="cpu")  # served by one
    beside = started(
        _run(zygote, default().by_id["mlp"], "cpu", ahead="cpu")
    )  # one waits beside it
    assert alone == beside


def test_a_waiting_child_whose_device_did_not_start_serves_no_run(zygote, tmp_path):
    """A waiting child starts its device while the run before executes: learner
    code there can make that fail (on a GPU: take all its memory, after raising
    its own share with ``set_per_process_memory_fraction(1.0)``), which a child
    started after that run would not see.  Such a child must not answer the
    next run with "CUDA did not start" (the grader would then give up on the
    whole submission): it ends, and the run gets a fresh fork.  Driven here
    with a CUDA child on a machine where CUDA never starts."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine where CUDA does not start")
    zygote.load_submission(_submission(tmp_path, "cuda", {}), warm="cuda")
    obs = _run(zygote, default().by_id["mlp"], "cuda")
    assert obs.problem is not None and obs.problem["kind"] == "cuda_unavailable", obs.problem
    assert zygote.replies[-1]["ahead"] is False


# A process whose main thread alone ended shows as a zombie while its other
# threads run; it must still be counted as left behind, and killed.
_GHOST = r"""
import os as _o, threading as _th, time as _t, ctypes as _c
_marker = _o.path.join(_o.path.dirname(_o.getcwd()), "GHOST")
def _haunt():
    end = _t.monotonic() + 20
    while _t.monotonic() < end:
        try:
            with open(_marker, "w") as fh:
                fh.write(str(_o.getpid()))
        except OSError:
            pass
        _t.sleep(0.005)
if _o.fork() == 0:
    _o.setsid()
    _th.Thread(target=_haunt).start()
    _c.CDLL(None).syscall({"x86_64": 60, "aarch64": 93}[_o.uname().machine], 0)  # exit(2)
"""
_HAUNTED = r"""
import os as _o, time as _t
_t.sleep(0.3)
print("GHOST SEEN", _o.path.exists(_o.path.join(_o.path.dirname(_o.getcwd()), "GHOST")))
"""


@pytest.mark.parametrize("no_isolation", [False, True], ids=["bubblewrap", "no_isolation"])
def test_a_process_whose_main_thread_ended_is_killed_and_counted(tmp_path, no_isolation):
    """Beside a waiting child the clean-up kills the processes it finds one by
    one (not all at once): one that looks like a zombie but still runs must be
    found too, or it outlives the run and reads the next submission's files."""
    import os

    if os.uname().machine not in ("x86_64", "aarch64"):
        pytest.skip("exit(2) is called by number")
    z = Zygote(Limits(time=20.0), detect_isolation(no_isolation))
    z.start()
    try:
        z.load_submission(_submission(tmp_path, "ghost", {"blocks.py": _GHOST}), warm="cpu")
        run = z.run
        replies = []

        def recording(request, inputs):
            reply, raw = run(request, inputs)
            replies.append(reply)
            return reply, raw

        z.run = recording
        haunting = _run(z, default().by_id["mlp"], "cpu", ahead="cpu")
        assert replies[-1]["leftover"] == 1, (replies[-1], haunting.problem)
        z.load_submission(_submission(tmp_path, "next", {"blocks.py": _HAUNTED}), warm="cpu")
        for _ in range(2):
            obs = _run(z, default().by_id["mlp"], "cpu", ahead="cpu")
            assert "GHOST SEEN False" in obs.output, (obs.output, obs.errors)
    finally:
        z.close()
