"""Class-scale grading: resume, --force, interruption, determinism."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SOLUTIONS


def _make_class(root: Path, n_correct: int = 2) -> list[Path]:
    subs = []
    for i in range(n_correct):
        dest = root / f"ok{i}"
        shutil.copytree(SOLUTIONS, dest, ignore=shutil.ignore_patterns("__pycache__"))
        subs.append(dest)
    bug = root / "bug"
    shutil.copytree(SOLUTIONS, bug, ignore=shutil.ignore_patterns("__pycache__"))
    text = (bug / "layers.py").read_text().replace("X - X.mean()", "X - X.mean(dim=0)")
    assert "mean(dim=0)" in text
    (bug / "layers.py").write_text(text)
    subs.append(bug)
    return subs


def _grade(subs, out, *extra, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "grader", *map(str, subs), "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def _stable(doc: dict) -> dict:
    """What must not depend on --jobs or on the run: scores and messages."""
    return {
        "score": doc["score"],
        "tests": [(t["check"], t["score"], t["status"], t["output"]) for t in doc["tests"]],
        "exercises": [(e["id"], e["score"], e["status"]) for e in doc["exercises"]],
    }


MARK = "marked by the test"


def _mark(out: Path, names) -> None:
    """Overwrite each result's ``graded_at`` (not part of the cache key) with a
    mark: a submission that is skipped keeps it, one that is graded again gets
    a fresh time stamp.  (Comparing two time stamps would need the runs a
    second apart: they have one-second resolution.)"""
    for name in names:
        path = out / name / "results.json"
        doc = json.loads(path.read_text())
        doc["metadata"]["graded_at"] = MARK
        path.write_text(json.dumps(doc))


def _regraded(out: Path, names) -> dict[str, bool]:
    return {
        name: json.loads((out / name / "results.json").read_text())["metadata"]["graded_at"] != MARK
        for name in names
    }


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    root = tmp_path_factory.mktemp("klass")
    return _make_class(root)


@pytest.mark.slow
@pytest.mark.timeout(1200)  # grades the class three times
def test_same_scores_with_one_or_two_jobs_and_on_regrading(klass, tmp_path):
    _grade(klass, tmp_path / "j1", "--jobs", "1")
    _grade(klass, tmp_path / "j2", "--jobs", "2")
    _grade(klass, tmp_path / "j2", "--jobs", "2", "--force")
    for sub in klass:
        one = json.loads((tmp_path / "j1" / sub.name / "results.json").read_text())
        two = json.loads((tmp_path / "j2" / sub.name / "results.json").read_text())
        assert _stable(one) == _stable(two)
    bug = json.loads((tmp_path / "j1" / "bug" / "results.json").read_text())
    assert {e["id"] for e in bug["exercises"] if e["score"] < e["max_score"]} == {"centered_layer"}


@pytest.mark.slow
@pytest.mark.timeout(1200)  # grades the class three times
def test_rerun_skips_unchanged_and_regrades_changed_or_forced(klass, tmp_path):
    out = tmp_path / "out"
    names = [s.name for s in klass]
    _grade(klass, out)
    _mark(out, names)
    rerun = _grade(klass, out)
    assert _regraded(out, names) == dict.fromkeys(names, False)
    assert f"{len(klass)} of {len(klass)} submissions unchanged" in " ".join(rerun.stderr.split())
    changed = tmp_path / "changed"
    shutil.copytree(klass[0], changed)
    shutil.rmtree(klass[0])
    shutil.copytree(changed, klass[0])
    with (klass[0] / "blocks.py").open("a") as fh:
        fh.write("\n# a comment changes the content hash\n")
    _grade(klass, out)
    assert _regraded(out, names) == {name: name == klass[0].name for name in names}
    _mark(out, names)
    _grade(klass, out, "--force")
    assert _regraded(out, names) == dict.fromkeys(names, True)


@pytest.mark.slow
def test_changed_limits_invalidate_cached_results(klass, tmp_path):
    out = tmp_path / "out"
    _grade(klass[:1], out)
    _mark(out, [klass[0].name])
    _grade(klass[:1], out, "--time-limit", "7")
    assert _regraded(out, [klass[0].name]) == {klass[0].name: True}


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_run_leaves_no_half_files_and_resumes(tmp_path, sig):
    subs = _make_class(tmp_path / "class", n_correct=5)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader", *map(str, subs), "--out", str(out), "--jobs", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list(out.glob("*/results.json")):
        time.sleep(0.05)
    assert list(out.glob("*/results.json")), "no submission finished in time"
    os.killpg(proc.pid, sig)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert not list(out.rglob("*.tmp")), "a half-written file was left behind"
    done = {p.parent.name for p in out.glob("*/results.json")}
    for name in done:
        json.loads((out / name / "results.json").read_text())  # complete, valid JSON
        assert (out / name / "report.html").is_file()
    assert done != {s.name for s in subs}, "the run finished before it was interrupted"
    _mark(out, done)
    _grade(subs, out)
    assert {p.parent.name for p in out.glob("*/results.json")} == {s.name for s in subs}
    assert _regraded(out, done) == dict.fromkeys(done, False)
    assert (out / "gradebook.csv").is_file()


def test_atomic_writes_leave_ordinary_permissions_and_no_temporary_files(tmp_path):
    from grader.atomic import write_atomic

    mask = os.umask(0o022)
    os.umask(mask)
    target = tmp_path / "sub" / "report.html"
    write_atomic(target, "<p>one</p>")
    write_atomic(target, "<p>two</p>")
    assert target.read_text() == "<p>two</p>"
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def _run_in_process(subs, out, monkeypatch, broken: dict):
    """run_batch in this process, with grading of some submissions broken the
    way a grader bug would break it (workers are forked, so they see the patch)."""
    import grader.batch as batch
    from grader.grading import Options
    from grader.report import render_report
    from grader.sandbox import detect_isolation

    real = batch.grade_or_error

    def grade(folder, *args):
        how = broken.get(folder.name)
        if how == "raise":
            raise OverflowError("cannot convert float infinity to integer")
        if how == "die":
            os._exit(9)
        return real(folder, *args)

    monkeypatch.setattr(batch, "grade_or_error", grade)
    # this process has used OpenMP's thread pool before forking its workers, as a
    # long-lived process (a service, this test session) does: they must not hang
    import torch

    (torch.randn(512, 512) @ torch.randn(512, 512)).sum()
    jobs = [batch.Job(s.name, s) for s in subs]
    return batch.run_batch(
        jobs,
        options=Options(devices=["cpu"]),
        isolation=detect_isolation(),
        out=out,
        workers=1,
        force=False,
        on_done=lambda *a: None,
        render=render_report,
    )


@pytest.mark.slow
def test_a_grader_failure_costs_one_submission_is_marked_and_is_never_cached(
    klass, tmp_path, monkeypatch
):
    out = tmp_path / "out"
    results = _run_in_process(klass, out, monkeypatch, {"ok0": "raise", "ok1": "die"})
    for name in ("ok0", "ok1"):
        doc = json.loads((out / name / "results.json").read_text())
        assert results[name]["score"] == doc["score"] == 0
        assert doc["metadata"]["grader_error"] and "cache_key" not in doc["metadata"]
        assert all(
            e["status"] == "error" and "grader failed" in e["problem"]["message"]
            for e in doc["exercises"]
        )
    assert "OverflowError" in results["ok0"]["metadata"]["grader_error"]
    assert "ended unexpectedly" in results["ok1"]["metadata"]["grader_error"]
    # the submission after the dead worker was graded by a fresh one
    assert 0 < results["bug"]["score"] < results["bug"]["max_score"]
    _mark(out, ["bug"])
    monkeypatch.undo()
    again = _run_in_process(klass, out, monkeypatch, {})
    assert again["ok0"]["score"] == again["ok0"]["max_score"] > 0
    assert again["ok1"]["score"] == again["ok1"]["max_score"]
    assert _regraded(out, ["bug"]) == {"bug": False}  # cached, not regraded
