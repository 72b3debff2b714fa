"""Reading a submission folder: contract files first, caps named, clutter skipped."""

from __future__ import annotations

import shutil

from grader.assignment import default
from grader.submission import MAX_FILES, read_folder, read_submission

from conftest import SOLUTIONS, failing

FILES = default().file_names


def _files_and_notes(folder):
    """The files read, and what was not read and why."""
    sub = read_folder(folder)
    return sub.files, sub.not_read


def _submission(tmp_path):
    sub = tmp_path / "sub"
    shutil.copytree(SOLUTIONS, sub, ignore=shutil.ignore_patterns("__pycache__"))
    return sub


def test_a_data_folder_of_images_is_skipped_and_named(tmp_path):
    sub = _submission(tmp_path)
    (sub / "data").mkdir()
    for i in range(210):
        (sub / "data" / f"img{i:03}.png").write_bytes(b"\x89PNG" + bytes(100))
    files, notes = _files_and_notes(sub)
    assert set(FILES) <= set(files)
    assert not any(f.startswith("data/") for f in files)
    assert {"path": "data/", "why": "no_python"} in notes


def test_a_virtual_environment_is_skipped_whatever_its_name(tmp_path):
    sub = _submission(tmp_path)
    env = sub / "env"
    (env / "lib" / "python3.11" / "site-packages" / "pkg").mkdir(parents=True)
    (env / "pyvenv.cfg").write_text("home = /usr/bin\n")
    for i in range(300):
        (env / "lib" / "python3.11" / "site-packages" / "pkg" / f"m{i}.py").write_text("x = 1\n")
    files, notes = _files_and_notes(sub)
    assert set(FILES) <= set(files)
    assert not any(f.startswith("env/") for f in files)
    assert {"path": "env/", "why": "virtual_environment"} in notes


def test_contract_files_are_read_first_and_what_is_beyond_the_cap_is_named(tmp_path):
    sub = _submission(tmp_path)
    (sub / "aaa").mkdir()
    for i in range(MAX_FILES + 10):
        (sub / "aaa" / f"helper{i:03}.py").write_text("x = 1\n")
    files, notes = _files_and_notes(sub)
    assert set(FILES) <= set(files)
    assert len(files) == MAX_FILES
    skipped = [n["path"] for n in notes if n["why"] == "file_limit"]
    total = sum(1 for p in sub.rglob("*") if p.is_file())
    assert len(skipped) == total - MAX_FILES
    assert all(p.startswith("aaa/") for p in skipped)
    assert read_submission(sub) == files


def test_the_report_says_what_was_not_read_and_grades_the_rest(grader, tmp_path):
    sub = _submission(tmp_path)
    (sub / "data").mkdir()
    for i in range(210):
        (sub / "data" / f"img{i:03}.png").write_bytes(bytes(10))
    env = sub / "env"
    env.mkdir()
    (env / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (env / "site.py").write_text("x = 1\n")
    doc = grader(sub)
    assert failing(doc) == set()
    assert (
        "Not read: data/ (a folder without .py files); env/ (a virtual environment)"
        in doc["output"]
    )
    assert [n["path"] for n in doc["metadata"]["not_read"]] == ["data/", "env/"]


def test_links_and_special_files_are_named_not_silently_skipped(tmp_path):
    import os

    sub = _submission(tmp_path)
    (sub / "layers.py").rename(tmp_path / "layers.py")
    (sub / "layers.py").symlink_to(tmp_path / "layers.py")
    (sub / "lib").symlink_to(SOLUTIONS)
    os.mkfifo(sub / "pipe")
    files, notes = _files_and_notes(sub)
    assert "layers.py" not in files and not any(f.startswith("lib/") for f in files)
    assert {"path": "layers.py", "why": "link"} in notes
    assert {"path": "lib", "why": "link"} in notes
    assert {"path": "pipe", "why": "special"} in notes
