"""What the folders given to ``grade`` hold: one rule for what a submission is.

* Several folders given (``grade class/*/``): each is one learner's submission.
* One folder given: if it holds one of the assignment's files (``blocks.py``...)
  itself, or fewer than two subfolders, it is one submission; otherwise it is
  a *class* and each subfolder is a learner's submission (``grade class/`` is
  then the same as ``grade class/*/``).  Hidden folders, ``__pycache__``,
  ``__MACOSX`` and virtual environments are not learners; loose files in a
  class folder are not graded, with a warning for code, notebooks and archives.
* A learner folder that holds none of the exercise files itself but exactly
  one subfolder that does (an extra level from a zip) is graded from that
  subfolder, and the report says so.  A folder where nothing can be graded is
  still a submission: it scores 0 and its report and the terminal say why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from . import assignment
from .batch import Job
from .i18n import _
from .submission import is_environment

IGNORED_DIRS = {"__pycache__", "__MACOSX"}
# names of the files ``grade`` writes for a class
RESERVED = {"gradebook.csv", "index.html"}
_CODE = (".py", ".ipynb", ".zip", ".tar", ".gz", ".rar", ".7z")


class UsageError(Exception):
    """A command-line mistake: one line, in the user's language."""


@dataclass
class Discovery:
    jobs: list[Job] = field(default_factory=list)
    is_class: bool = False
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    warnings: list[str] = field(default_factory=list)


def _learner_dirs(folder: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    dirs, skipped = [], []
    for p in sorted(folder.iterdir(), key=lambda p: p.name):
        if not p.is_dir() or p.is_symlink():
            continue
        if p.name.startswith("."):
            continue
        if p.name in IGNORED_DIRS:
            skipped.append((str(p), _("not a learner's folder")))
        elif is_environment(p):
            skipped.append((str(p), _("a virtual environment, not a learner's folder")))
        else:
            dirs.append(p)
    return dirs, skipped


def _holds_exercise_file(folder: Path, files: tuple[str, ...]) -> bool:
    names = {p.name.lower() for p in folder.iterdir() if p.is_file()}
    return any(f in names for f in files)


def _is_class(folder: Path, files: tuple[str, ...]) -> bool:
    """No exercise file of its own and at least two learner folders.  A folder
    with a single subfolder is one learner's submission one level too deep
    (``grade class/ana`` where ana/ holds tarea/), not a class of one: grading
    it as a class would replace the class's gradebook with a single row."""
    if _holds_exercise_file(folder, files):
        return False
    return len(_learner_dirs(folder)[0]) >= 2


def display_name(name: str) -> str:
    """A folder name fit for JSON, HTML and CSV: a name that is not UTF-8 on
    disk (a Windows zip) is read as Latin-1, which is what it almost always is."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return os.fsencode(name).decode("latin-1")


def _out_name(name: str, taken: set[str]) -> str:
    """The output folder: never one of the class files ``grade`` writes, nor the
    folder of another submission (``index.html`` and ``index.html-submission``)."""
    out = f"{name}-submission" if name.lower() in RESERVED else name
    n = 2
    while out in taken:
        out = f"{name}-submission-{n}"
        n += 1
    taken.add(out)
    return out


def contents_notice(folder: Path, files: tuple[str, ...]) -> str | None:
    """Why nothing in ``folder`` can be graded, with what was found instead."""
    found = sorted(
        p.relative_to(folder).as_posix() + ("/" if p.is_dir() else "")
        for p in folder.iterdir()
        if not p.name.startswith(".")
    )
    if any(f.lower() in files for f in found):
        return None
    shown = ", ".join(display_name(f) for f in found[:8]) + (", …" if len(found) > 8 else "")
    notice = _("no exercise file found ({files}); found: {found}").format(
        files=", ".join(files), found=shown or _("nothing")
    )
    if any(f.lower().endswith((".zip", ".tar", ".gz", ".rar", ".7z")) for f in found):
        notice += ". " + _(
            "An archive is not opened: unzip it so that the .py files are "
            "directly in the submission folder."
        )
    if any(f.endswith(".ipynb") for f in found):
        notice += ". " + _(
            "A notebook cannot be graded: copy each exercise's code into the file "
            "the exercise names ({files}), or use Jupyter's "
            "File > Download as > Python (.py) and split it into those "
            "files."
        ).format(files=", ".join((*files[:2], "...")))
    return notice


def _nested(folder: Path, files: tuple[str, ...]) -> Path | None:
    """The one subfolder that holds the exercise files, when ``folder`` does not."""
    if _holds_exercise_file(folder, files):
        return None
    dirs = [d for d in _learner_dirs(folder)[0] if _holds_exercise_file(d, files)]
    return dirs[0] if len(dirs) == 1 else None


def _job(folder: Path, name: str, files: tuple[str, ...]) -> Job:
    """``name`` is the output folder's, already made unique."""
    nested = _nested(folder, files)
    if nested is not None:
        notice = _(
            "the exercise files are in the subfolder {sub}/, not directly in the "
            "submission folder; they were graded from there"
        ).format(sub=display_name(nested.name))
        return Job(name, nested, (notice,))
    notice = contents_notice(folder, files)
    return Job(name, folder, (notice,) if notice else ())


def discover(paths: tuple[str, ...], out: Path, files: tuple[str, ...] | None = None) -> Discovery:
    """The submissions among ``paths`` (see the module's docstring); ``files``:
    the assignment's file names, by default this course's."""
    files = assignment.default().file_names if files is None else files
    found = Discovery()
    folders: list[tuple[str, Path]] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise UsageError(_("{path}: no such folder").format(path=raw))
        if not path.is_dir():
            raise UsageError(
                _("{path}: not a folder (a submission is a folder of .py files)").format(path=raw)
            )
    if len(paths) == 1 and _is_class(Path(paths[0]), files):
        klass = Path(paths[0])
        found.is_class = True
        dirs, found.skipped = _learner_dirs(klass)
        folders = [(str(d), d) for d in dirs]
        for p in sorted(klass.iterdir(), key=lambda p: p.name):
            if p.is_file() and not p.name.startswith("."):
                why = (
                    _(
                        "a loose file in a class folder is not graded: each learner's files "
                        "go in a folder of their own"
                    )
                    if p.name.lower().endswith(_CODE)
                    else _("not a folder")
                )
                found.skipped.append((str(p), why))
    else:
        for raw in paths:
            path = Path(raw)
            if path.name in IGNORED_DIRS or is_environment(path):
                found.skipped.append(
                    (
                        raw,
                        _("a virtual environment, not a learner's folder")
                        if is_environment(path)
                        else _("not a learner's folder"),
                    )
                )
            else:
                folders.append((raw, path))
        found.is_class = len(paths) > 1
        if len(paths) == 1:
            inner = [d for d in _learner_dirs(Path(paths[0]))[0] if _holds_exercise_file(d, files)]
            if len(inner) > 1:
                found.warnings.append(
                    _(
                        "{path} holds exercise files of its own, so it is graded as one "
                        "submission, not as a class; its subfolders {subs} are not graded on "
                        "their own (move the loose files out to grade it as a class)"
                    ).format(path=paths[0], subs=", ".join(display_name(d.name) for d in inner[:5]))
                )
    seen: dict[str, Path] = {}
    # names that are folders of their own come first, so a renamed one never takes theirs
    taken = {
        display_name(Path(raw).resolve().name)
        for raw, _ in folders
        if display_name(Path(raw).resolve().name).lower() not in RESERVED
    }
    resolved_out = out.resolve()
    for raw, path in folders:
        folder = path.resolve()
        if folder == resolved_out or resolved_out in folder.parents:
            if found.is_class and len(paths) == 1:
                found.skipped.append((raw, _("the output folder")))
                continue
            raise UsageError(
                _("{path}: is inside the output folder {out}").format(path=raw, out=out)
            )
        name = display_name(folder.name)
        if name in seen and seen[name] != folder:
            raise UsageError(
                _(
                    "two submissions are both named {name} ({first} and {second}); rename one"
                ).format(name=repr(name), first=seen[name], second=folder)
            )
        if name not in seen:
            seen[name] = folder
            out_name = (
                name if name in taken and name.lower() not in RESERVED else _out_name(name, taken)
            )
            found.jobs.append(_job(folder, out_name, files))
    return found
