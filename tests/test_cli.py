"""The command line: exit codes, messages, and what it writes."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.assignment import default

from conftest import ROOT, SOLUTIONS


def grade(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
    )


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


@pytest.mark.slow
def test_a_file_instead_of_a_folder_is_a_usage_error(tmp_path):
    f = tmp_path / "blocks.py"
    f.write_text("x = 1\n")
    proc = grade(str(f), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "not a folder" in one_line_error(proc)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_missing_folder_is_a_usage_error(tmp_path):
    proc = grade(str(tmp_path / "nope"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "no such folder" in one_line_error(proc)


@pytest.mark.slow
def test_cuda_on_a_machine_without_cuda_is_a_usage_error(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: --device cuda is valid here")
    proc = grade(str(SOLUTIONS), "--device", "cuda", "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "no CUDA device" in one_line_error(proc)


@pytest.mark.slow
def test_a_memory_limit_too_small_to_grade_anything_is_a_usage_error(tmp_path):
    proc = grade(str(SOLUTIONS), "--memory-limit", "1K", "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "too small" in one_line_error(proc)


@pytest.mark.slow
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
    # common mistakes with files: a capital letter, a notebook, a file saved as Latin-1
    shutil.copytree(SOLUTIONS, root / "odd_files", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "odd_files" / "blocks.py").rename(root / "odd_files" / "Blocks.py")
    (root / "odd_files" / "tarea.ipynb").write_text("{}")
    (root / "odd_files" / "devices.py").write_bytes(
        b'SALUDO = "a\xf1o"\n' + (SOLUTIONS / "devices.py").read_bytes()
    )
    out = root / "out"
    proc = grade(*(str(root / n) for n in NAMES), "--out", str(out), "--jobs", "2")
    return proc, out


NAMES = ("good", "empty", "only_blocks", "syntax", "odd_files")


def _doc(out: Path, name: str) -> dict:
    return json.loads((out / name / "results.json").read_text())


@pytest.mark.slow
def test_class_run_exits_zero_and_prints_a_table(class_run):
    proc, out = class_run
    assert proc.returncode == 0, proc.stderr
    for name in NAMES:
        assert name in proc.stdout
        assert (out / name / "report.html").is_file()


@pytest.mark.slow
def test_empty_folder_scores_zero_with_missing_file_messages(class_run):
    doc = _doc(class_run[1], "empty")
    assert doc["score"] == 0
    for ex in doc["exercises"]:
        assert ex["problem"]["message"] == f"file {ex['file']} is missing from the submission"


@pytest.mark.slow
def test_missing_files_cost_only_their_exercises(class_run):
    doc = _doc(class_run[1], "only_blocks")
    for ex in doc["exercises"]:
        if ex["file"] == "blocks.py":
            assert ex["score"] == ex["max_score"]
        else:
            assert ex["score"] == 0 and "is missing" in ex["problem"]["message"]


@pytest.mark.slow
def test_syntax_error_is_reported_with_file_and_line(class_run):
    doc = _doc(class_run[1], "syntax")
    for ex in doc["exercises"]:
        if ex["file"] == "layers.py":
            assert ex["score"] == 0
            assert ex["problem"]["message"].startswith("layers.py: SyntaxError at line 6")
        else:
            assert ex["score"] == ex["max_score"], ex


@pytest.mark.slow
def test_gradebook_and_overview_are_written(class_run):
    out = class_run[1]
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert [r["submission"] for r in rows] == sorted(NAMES, key=str.casefold)  # name order
    by_name = {r["submission"]: r for r in rows}
    good = by_name["good"]
    assert float(good["total"]) == float(good["max"]) > 0
    assert float(by_name["empty"]["total"]) == 0
    assert len(good) == len(default().exercises) + 3
    assert (out / "index.html").is_file()


@pytest.mark.slow
def test_odd_file_names_and_encodings_are_explained(class_run):
    doc = _doc(class_run[1], "odd_files")
    by_id = {e["id"]: e for e in doc["exercises"]}
    mlp = by_id["mlp"]["problem"]["message"]
    assert "found Blocks.py: did you mean blocks.py?" in mlp
    assert "A notebook (tarea.ipynb) cannot be graded" in mlp
    devices = by_id["devices"]["problem"]["message"]
    assert "SyntaxError" in devices and "save it as UTF-8" in devices
    assert by_id["my_linear"]["score"] == by_id["my_linear"]["max_score"]


@pytest.mark.slow
def test_results_json_is_a_gradescope_superset(class_run):
    doc = _doc(class_run[1], "good")
    for key in ("score", "max_score", "execution_time", "output", "tests", "exercises"):
        assert key in doc
    for t in doc["tests"]:
        for key in (
            "name",
            "score",
            "max_score",
            "status",
            "output",
            "tags",
            "visibility",
            "exercise",
            "check",
            "devices",
        ):
            assert key in t
        assert t["status"] in ("passed", "failed")
    assert {e["id"] for e in doc["exercises"]} == {t["exercise"] for t in doc["tests"]}
    meta = doc["metadata"]
    for key in ("grader_version", "torch_version", "devices", "language"):
        assert key in meta


def _odd_class(root: Path) -> Path:
    """A class folder as instructors get them: learners with odd folders, a loose
    file, a virtual environment and macOS debris."""
    klass = root / "class"
    shutil.copytree(SOLUTIONS, klass / "ana", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        ROOT / "exercises", klass / "luis", ignore=shutil.ignore_patterns("__pycache__")
    )
    (klass / "marta").mkdir()
    (klass / "marta" / "tarea.ipynb").write_text("{}")  # only a notebook
    (klass / "pedro").mkdir()  # only a zip
    (klass / "pedro" / "entrega_pedro.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    shutil.copytree(
        SOLUTIONS,
        klass / "sofia" / "tarea",  # one level too deep
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (klass / '=HYPERLINK("x")').mkdir()  # CSV injection
    (klass / "[bold green]pwn").mkdir()  # rich markup
    (klass / "gradebook.csv").mkdir()  # a class file's name
    shutil.copytree(
        SOLUTIONS,
        klass / "gradebook.csv-submission",  # and its renaming
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (klass / "env").mkdir()
    (klass / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (klass / "__MACOSX").mkdir()
    (klass / "notas.py").write_text("x = 1\n")  # a loose file
    return klass


LEARNERS = [
    '=HYPERLINK("x")',
    "[bold green]pwn",
    "ana",
    "gradebook.csv-submission",
    "gradebook.csv-submission-2",
    "luis",
    "marta",
    "pedro",
    "sofia",
]


@pytest.fixture(scope="module")
def odd_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("odd")
    klass = _odd_class(root)
    whole = grade(str(klass), "--out", str(root / "whole"), "--jobs", "2")
    globbed = grade(
        *sorted(str(p) + "/" for p in klass.iterdir() if p.is_dir()),
        "--out",
        str(root / "globbed"),
        "--jobs",
        "2",
    )
    return root, whole, globbed


@pytest.mark.slow
def test_every_learner_folder_is_in_the_gradebook_and_the_overview(odd_class):
    root, whole, _ = odd_class
    assert whole.returncode == 0, whole.stderr[-2000:]
    rows = list(csv.reader((root / "whole" / "gradebook.csv").read_text().splitlines()))
    names = [r[0] for r in rows[1:]]
    assert names == ["'" + LEARNERS[0], *LEARNERS[1:]]  # the formula is text
    totals = {r[0]: float(r[-2]) for r in rows[1:]}
    assert totals["ana"] == totals["sofia"] == float(rows[1][-1]) > 0
    # two learners, two output folders: the renamed one does not take the other's
    assert totals["gradebook.csv-submission"] == totals["ana"]
    assert totals["gradebook.csv-submission-2"] == 0
    assert totals["marta"] == totals["pedro"] == totals["luis"] == 0
    index = (root / "whole" / "index.html").read_text()
    for name in ("marta", "pedro", "sofia"):
        assert f">{name}</a>" in index
    assert "no exercise file found" in index and "found: tarea.ipynb" in index
    marta = _doc(root / "whole", "marta")
    assert "A notebook cannot be graded" in marta["metadata"]["notices"][0]
    assert "found: tarea.ipynb" in (root / "whole" / "marta" / "report.html").read_text()
    assert (
        "found: entrega_pedro.zip. An archive is not opened: unzip it"
        in _doc(root / "whole", "pedro")["metadata"]["notices"][0]
    )
    assert "subfolder tarea/" in _doc(root / "whole", "sofia")["metadata"]["notices"][0]


@pytest.mark.slow
def test_the_terminal_lists_what_was_found_and_skipped(odd_class):
    _, whole, _ = odd_class
    err = " ".join(whole.stderr.split())
    assert "a class folder with 9 learner folder(s)" in err
    assert "notas.py: a loose file in a class folder is not graded" in err
    assert "env: a virtual environment" in err and "__MACOSX: not a learner's folder" in err
    out = whole.stdout
    assert "[bold green]pwn" in out  # shown, not interpreted
    assert "marta: no exercise file found" in out
    assert "class overview:" in out and "gradebook.csv" in out


@pytest.mark.slow
def test_a_class_folder_and_its_learner_folders_grade_the_same(odd_class):
    root, whole, globbed = odd_class
    assert globbed.returncode == 0, globbed.stderr[-2000:]
    assert (root / "whole" / "gradebook.csv").read_text() == (
        root / "globbed" / "gradebook.csv"
    ).read_text()
    assert "env/: a virtual environment" in " ".join(globbed.stderr.split())


@pytest.mark.slow
def test_one_learner_folder_one_level_too_deep_is_graded_as_that_learner(tmp_path):
    """`grade class/ana`, where ana/ holds only tarea/ with the files, grades ana
    (from tarea/), and leaves the class's gradebook and overview alone."""
    klass = tmp_path / "class"
    shutil.copytree(
        SOLUTIONS, klass / "ana" / "tarea", ignore=shutil.ignore_patterns("__pycache__")
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "gradebook.csv").write_text("the class's gradebook\n")
    proc = grade(str(klass / "ana"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = _doc(out, "ana")
    assert doc["score"] == doc["max_score"] > 0
    assert "subfolder tarea/" in doc["metadata"]["notices"][0]
    assert (out / "gradebook.csv").read_text() == "the class's gradebook\n"
    assert not (out / "tarea").exists() and not (out / "index.html").exists()


@pytest.mark.slow
def test_two_learners_make_a_class_with_a_gradebook_and_an_overview(tmp_path):
    klass = tmp_path / "class"
    shutil.copytree(ROOT / "exercises", klass / "ana", ignore=shutil.ignore_patterns("__pycache__"))
    (klass / "luis").mkdir()
    proc = grade(str(klass), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = list(csv.reader((tmp_path / "out" / "gradebook.csv").read_text().splitlines()))
    assert [r[0] for r in rows[1:]] == ["ana", "luis"]
    assert (tmp_path / "out" / "index.html").is_file()


@pytest.mark.slow
def test_click_usage_errors_are_one_line(tmp_path):
    for args in (("--bogus", str(SOLUTIONS)), (), ("--jobs", "zero", str(SOLUTIONS))):
        proc = grade(*args)
        assert proc.returncode == 2, args
        assert "grade --help" in one_line_error(proc)


@pytest.mark.slow
def test_a_learner_is_told_where_the_report_is_and_what_failed_first(tmp_path):
    sub = tmp_path / "mine"
    shutil.copytree(SOLUTIONS, sub, ignore=shutil.ignore_patterns("__pycache__"))
    text = (sub / "layers.py").read_text().replace("X - X.mean()", "X - X.mean(dim=0)")
    (sub / "layers.py").write_text(text)
    proc = grade(str(sub), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"Report: {tmp_path / 'out' / 'mine' / 'report.html'}" in proc.stdout
    doc = _doc(tmp_path / "out", "mine")
    first = next(
        t for t in doc["tests"] if t["exercise"] == "centered_layer" and t["status"] == "failed"
    )
    assert " ".join(first["title"].split()[:4]) in " ".join(proc.stdout.split())


@pytest.mark.slow
def test_learner_names_cannot_send_escape_sequences_to_the_terminal(tmp_path):
    """A folder or file name with an OSC 52 sequence (writes the clipboard), a
    title change or a newline is shown escaped, never sent to the terminal."""
    klass = tmp_path / "class"
    (klass / "ana\x1b]0;pwned\x07").mkdir(parents=True)
    (klass / "luis\nfake row").mkdir()
    (klass / "luis\nfake row" / "tarea\x1b]52;c;cHduZWQ=\x1b\\.ipynb").write_text("{}")
    proc = grade(str(klass), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    for stream in (proc.stdout, proc.stderr):
        assert "\x1b" not in stream and "\x07" not in stream
    assert "ana\\x1b]0;pwned\\x07" in proc.stdout and "luis\\nfake row" in proc.stdout
    assert "tarea\\x1b]52;c;cHduZWQ=" in proc.stdout


@pytest.mark.slow
def test_an_output_path_that_is_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "afile").write_text("x")
    proc = grade(str(SOLUTIONS), "--out", str(tmp_path / "afile"))
    assert proc.returncode == 2
    assert "--out" in one_line_error(proc) and "not a folder" in proc.stderr
