"""The command line: exit codes, messages, and what it writes."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SOLUTIONS


def grade(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True,
                          text=True, timeout=600, cwd=cwd)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_a_file_instead_of_a_folder_is_a_usage_error(tmp_path):
    f = tmp_path / "blocks.py"
    f.write_text("x = 1\n")
    proc = grade(str(f), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "not a folder" in one_line_error(proc)
    assert not (tmp_path / "out").exists()


def test_a_missing_folder_is_a_usage_error(tmp_path):
    proc = grade(str(tmp_path / "nope"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "no such folder" in one_line_error(proc)


def test_cuda_on_a_machine_without_cuda_is_a_usage_error(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: --device cuda is valid here")
    proc = grade(str(SOLUTIONS), "--device", "cuda", "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "no CUDA device" in one_line_error(proc)


def test_a_bad_size_is_a_usage_error(tmp_path):
    proc = grade(str(SOLUTIONS), "--memory-limit", "lots", "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "--memory-limit" in one_line_error(proc)


@pytest.fixture(scope="module")
def class_run(tmp_path_factory):
    """One run over several awkward submissions, as an instructor would."""
    root = tmp_path_factory.mktemp("class")
    shutil.copytree(SOLUTIONS, root / "good", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "empty").mkdir()
    (root / "only_blocks").mkdir()
    shutil.copy(SOLUTIONS / "blocks.py", root / "only_blocks" / "blocks.py")
    shutil.copytree(SOLUTIONS, root / "syntax", ignore=shutil.ignore_patterns("__pycache__"))
    source = (SOLUTIONS / "layers.py").read_text().splitlines()
    source.insert(5, "def broken(:")
    (root / "syntax" / "layers.py").write_text("\n".join(source) + "\n")
    out = root / "out"
    proc = grade(*(str(root / n) for n in ("good", "empty", "only_blocks", "syntax")),
                 "--out", str(out), "--jobs", "2")
    return proc, out


def _doc(out: Path, name: str) -> dict:
    return json.loads((out / name / "results.json").read_text())


def test_class_run_exits_zero_and_prints_a_table(class_run):
    proc, out = class_run
    assert proc.returncode == 0, proc.stderr
    for name in ("good", "empty", "only_blocks", "syntax"):
        assert name in proc.stdout
        assert (out / name / "report.html").is_file()


def test_empty_folder_scores_zero_with_missing_file_messages(class_run):
    doc = _doc(class_run[1], "empty")
    assert doc["score"] == 0
    for ex in doc["exercises"]:
        assert ex["problem"]["message"] == f"file {ex['file']} is missing from the submission"


def test_missing_files_cost_only_their_exercises(class_run):
    doc = _doc(class_run[1], "only_blocks")
    for ex in doc["exercises"]:
        if ex["file"] == "blocks.py":
            assert ex["score"] == ex["max_score"]
        else:
            assert ex["score"] == 0 and "is missing" in ex["problem"]["message"]


def test_syntax_error_is_reported_with_file_and_line(class_run):
    doc = _doc(class_run[1], "syntax")
    for ex in doc["exercises"]:
        if ex["file"] == "layers.py":
            assert ex["score"] == 0
            assert ex["problem"]["message"].startswith("layers.py: SyntaxError at line 6")
        else:
            assert ex["score"] == ex["max_score"], ex


def test_gradebook_and_overview_are_written(class_run):
    out = class_run[1]
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert [r["submission"] for r in rows] == ["good", "empty", "only_blocks", "syntax"]
    good = rows[0]
    assert float(good["total"]) == float(good["max"]) > 0
    assert float(rows[1]["total"]) == 0
    assert len(good) == 16 + 3
    assert (out / "index.html").is_file()


def test_results_json_is_a_gradescope_superset(class_run):
    doc = _doc(class_run[1], "good")
    for key in ("score", "max_score", "execution_time", "output", "tests", "exercises"):
        assert key in doc
    for t in doc["tests"]:
        for key in ("name", "score", "max_score", "status", "output", "tags", "visibility",
                    "exercise", "check", "devices"):
            assert key in t
        assert t["status"] in ("passed", "failed")
    assert {e["id"] for e in doc["exercises"]} == {t["exercise"] for t in doc["tests"]}
    meta = doc["metadata"]
    for key in ("grader_version", "torch_version", "devices", "language"):
        assert key in meta


def test_a_folder_of_submission_folders_grades_each_of_them(tmp_path):
    """`grade class/` where class/ holds one folder per learner (and no .py file
    of its own) grades every learner, as `grade class/*/` does."""
    klass = tmp_path / "class"
    for name in ("ana", "luis"):
        shutil.copytree(ROOT / "exercises", klass / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    (klass / "notes").mkdir()            # no .py files: not a submission
    (klass / "README.txt").write_text("class of 2026\n")
    out = tmp_path / "out"
    proc = grade(str(klass), "--out", str(out), "--jobs", "2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["ana", "luis"]
    for name in ("ana", "luis"):
        doc = json.loads((out / name / "results.json").read_text())
        assert doc["score"] == 0 and doc["metadata"]["submission"] == name
    rows = list(csv.reader((out / "gradebook.csv").read_text().splitlines()))
    assert [r[0] for r in rows[1:]] == ["ana", "luis"]
    assert (out / "index.html").is_file()
