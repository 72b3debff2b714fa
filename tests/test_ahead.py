"""A child started ahead of its run (grader/child/warm.py): on a GPU host it
starts CUDA while the run before it executes.  Here, without a GPU, the same
mechanism is driven on the CPU ("warm": "cpu"), which is what can be proved
on this machine: the run it serves gives the same observation as a fresh
child, it never serves another submission than the one in memory when it was
forked, learner code that kills it costs nothing, and the grading asks for a
CUDA child ahead exactly while CUDA runs remain."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from grader import grading
from grader.assignment import default
from grader.grading import _run, collect
from grader.observations import Observation
from grader.submission import read_submission

from conftest import replies_of

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


@pytest.fixture
def replies(grader):
    with replies_of(grader.zygote) as seen:
        yield seen


def _copy(tmp_path: Path, name: str, extra: dict[str, str] | None = None) -> Path:
    sub = tmp_path / name
    sub.mkdir()
    for f in SOLUTIONS.glob("*.py"):
        (sub / f.name).write_text(f.read_text() + (extra or {}).get(f.name, ""))
    return sub


def _same(a: Observation, b: Observation) -> None:
    assert a.errors == b.errors and a.problem == b.problem
    assert a.values == b.values
    assert sorted(a.tensors) == sorted(b.tensors)
    assert all(a.tensors[k].equal(b.tensors[k]) for k in a.tensors)


@pytest.mark.slow
def test_a_run_served_ahead_observes_what_a_fresh_child_does(grader, replies):
    files = read_submission(SOLUTIONS)
    grader.zygote.load_submission(files)
    fresh = {
        i: _run(grader.zygote, default().by_id[i], "cpu") for i in ("mlp", "my_linear", "tensor_io")
    }
    assert [r.get("ahead") for r in replies] == [False] * 3
    replies.clear()

    grader.zygote.load_submission(files, warm="cpu")  # one is forked before the submission
    ahead = {
        i: _run(grader.zygote, default().by_id[i], "cpu", ahead="cpu")
        for i in ("mlp", "my_linear", "tensor_io")
    }
    # the devices probe counts the machine's GPUs: never served by a child that hid them
    _run(grader.zygote, default().by_id["devices"], "cpu", ahead="cpu")
    assert [r.get("ahead") for r in replies] == [True, True, True, False]
    assert all(r["leftover"] == 0 and r["exit_code"] == 0 for r in replies)
    for ex_id, obs in ahead.items():
        _same(obs, fresh[ex_id])


@pytest.mark.slow
def test_a_child_forked_with_one_submission_never_serves_the_next(grader, replies, tmp_path):
    """Learner B's first run, served ahead, searches its whole memory for what
    learner A's file held: a child forked while A was loaded would have it."""
    canary = "AHEAD-CANARY-" + uuid.uuid4().hex
    a = _copy(tmp_path, "a", {"blocks.py": f"\nSECRET = {canary!r}\n"})
    grader.zygote.load_submission(read_submission(a), warm="cpu")
    _run(grader.zygote, default().by_id["mlp"], "cpu", ahead="cpu")  # forks one while A is loaded
    # its memory read through ctypes (/proc/self/mem is root's: not dumpable); the
    # canary is looked for as two halves, so that it is never whole in B's memory
    search = (
        "\nimport ctypes as _ct\n"
        f"_h1, _h2 = {canary[:20]!r}.encode(), {canary[20:]!r}.encode()\n"
        "_found = 0\n"
        "with open('/proc/self/maps') as _m:\n"
        "    _regions = [_l.split() for _l in _m]\n"
        "for _r in _regions:\n"
        "    _lo, _hi = (int(x, 16) for x in _r[0].split('-'))\n"
        "    if _r[1][0] != 'r' or _hi - _lo > 1 << 30 or (\n"
        "            len(_r) > 5 and _r[5].startswith('[v')):\n"
        "        continue\n"
        "    _data = _ct.string_at(_lo, _hi - _lo)\n"
        "    _at = _data.find(_h1)\n"
        "    while _at >= 0:\n"
        "        _found += _data.startswith(_h2, _at + len(_h1))\n"
        "        _at = _data.find(_h1, _at + 1)\n"
        "print('FOUND', _found)\n"
    )
    b = _copy(tmp_path, "b", {"blocks.py": search})
    grader.zygote.load_submission(read_submission(b), warm="cpu")
    replies.clear()
    obs = _run(grader.zygote, default().by_id["mlp"], "cpu")
    assert replies[0]["ahead"] is True
    assert "FOUND 0" in obs.output, obs.output[-2000:]
    # the control: a child forked while A is loaded does find it
    grader.zygote.load_submission(read_submission(a), warm="cpu")
    _run(grader.zygote, default().by_id["mlp"], "cpu", ahead="cpu")
    control = read_submission(a)
    control["blocks.py"] += search.encode()
    grader.zygote.load_submission(control)
    obs = _run(grader.zygote, default().by_id["mlp"], "cpu")
    assert "FOUND 0" not in obs.output and "FOUND" in obs.output, obs.output[-2000:]


_KILL_THE_ONE_WAITING = """
import os as _os, signal as _signal
for _pid in _os.listdir('/proc'):
    if _pid.isdigit() and int(_pid) not in (_os.getpid(), _os.getppid()):
        try:
            with open(f'/proc/{_pid}/stat') as _fh:
                _ppid = int(_fh.read().rsplit(')', 1)[1].split()[1])
            if _ppid == _os.getppid():
                _os.kill(int(_pid), _signal.SIGKILL)
                print('KILLED', _pid)
        except (OSError, ValueError):
            pass
"""


@pytest.mark.slow
def test_learner_code_that_kills_the_waiting_child_costs_nothing(grader, replies, tmp_path):
    sub = _copy(tmp_path, "killer", {"layers.py": _KILL_THE_ONE_WAITING})
    files = read_submission(sub)
    grader.zygote.load_submission(files, warm="cpu")
    pid = grader.zygote.proc.pid
    killer = _run(grader.zygote, default().by_id["centered_layer"], "cpu", ahead="cpu")
    assert "KILLED" in killer.output, killer.output[-2000:]
    after = _run(grader.zygote, default().by_id["mlp"], "cpu", ahead="cpu")
    again = _run(grader.zygote, default().by_id["mlp"], "cpu", ahead="cpu")
    assert [r["ahead"] for r in replies] == [True, False, True]
    assert all(r["leftover"] == 0 for r in replies)
    assert grader.zygote.proc.pid == pid, "the sandbox was restarted"
    assert not killer.errors and not after.errors and not again.errors
    _same(after, again)


class _Recorder:
    def __init__(self) -> None:
        self.loaded: list = []
        self.runs: list = []

    def load_submission(self, files, warm=None) -> None:
        self.loaded.append(warm)


@pytest.mark.parametrize(
    "devices,ahead", [(["cpu", "cuda"], True), (["cpu"], True), (["cpu", "cuda"], False)]
)
def test_the_grading_asks_for_cuda_ahead_while_cuda_runs_remain(monkeypatch, devices, ahead):
    rec = _Recorder()

    def fake_run(zygote, ex, device, probe=None, module="", tensors=None, stubs=None, ahead=None):
        rec.runs.append((ex.id, device, ahead))
        return Observation(ex.id, device)

    monkeypatch.setattr(grading, "_run", fake_run)
    files = read_submission(SOLUTIONS)
    collect(rec, files, devices, ahead=ahead)
    cuda = [i for i, (_, d, _) in enumerate(rec.runs) if d == "cuda"]
    assert cuda or "cuda" not in devices
    assert len(cuda) == (
        sum(grading.devices_for(ex, devices).count("cuda") for ex in default().exercises)
        if "cuda" in devices
        else 0
    )
    wanted = [
        ("cuda" if ahead and any(c > i for c in cuda) else None) for i in range(len(rec.runs))
    ]
    assert [a for _, _, a in rec.runs] == wanted
    assert rec.loaded == ["cuda" if ahead and cuda else None]
