"""Reads a submission folder: what is graded, and what is not and why.

Never fails on what the folder holds.  The six contract files are read
first, then the other ``.py`` files, then the rest, so clutter cannot push an
exercise file past a cap; what is not read is named (``not_read``, shown in
the report).  Hidden folders and caches are skipped silently; virtual
environments (``pyvenv.cfg``, ``conda-meta``) and folders without a single
``.py`` file are skipped whatever their names, with a note.  A file name
that is not UTF-8 (a zip made on Windows) is read as Windows-1252
(``notas_a\\xf1o.py`` is graded as ``notas_año.py``).  The walk has no
recursion and bounded depth and size, so no tree can stop it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from . import assignment, untrusted
from .i18n import N_, _
from .limits import human_size

MAX_FILES = 200
MAX_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 32  # folder levels read below the submission folder
MAX_ENTRIES = 20_000  # directory entries looked at, in all
SKIP_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints", ".venv", "venv"}

_NOT_READ = {
    "virtual_environment": N_("a virtual environment"),
    "no_python": N_("a folder without .py files"),
    "file_limit": N_("beyond the limit of {files} files"),
    "size_limit": N_("beyond the limit of {size} in all"),
    "link": N_("a symbolic link: links are not followed, submit the file itself"),
    "special": N_("not a regular file"),
}


@dataclass
class Submission:
    """The files of a submission folder and what reading them left out or changed."""

    files: dict[str, bytes]
    notes: list[str] = field(default_factory=list)  # learner-facing, translated
    not_read: list[dict] = field(default_factory=list)  # {"path", "why"} for _NOT_READ


def read_folder(folder: Path, contract: tuple[str, ...] | None = None) -> Submission:
    """See the module's docstring.  ``contract``: the assignment's file names
    (read first), by default this course's."""
    contract = assignment.default().file_names if contract is None else contract
    sub = Submission({})
    found = _walk(os.fsencode(folder), sub)
    total = 0
    by_name: dict[str, bytes] = {}
    for parts in sorted(found, key=lambda parts: _priority(parts, contract)):
        raw = b"/".join(parts)
        shown = untrusted.shown_name(raw)
        name = "/".join(untrusted.file_name(p) for p in parts)
        if name in by_name:
            sub.notes.append(
                _(
                    "{name}: left out: read as Windows-1252, its name is that of another file"
                ).format(name=shown)
            )
            continue
        if len(sub.files) >= MAX_FILES:
            sub.not_read.append({"path": shown, "why": "file_limit"})
            continue
        try:
            with open(os.path.join(os.fsencode(folder), raw), "rb") as fh:
                data = fh.read(MAX_BYTES - total + 1)
        except OSError as exc:
            sub.notes.append(
                _("{name}: left out: it could not be read ({error})").format(
                    name=shown, error=untrusted.clean_text(exc.strerror or str(exc))
                )
            )
            continue
        if total + len(data) > MAX_BYTES:
            sub.not_read.append({"path": shown, "why": "size_limit"})
            continue
        if name != shown:
            sub.notes.append(
                _(
                    "{name}: the file name is not UTF-8 (a zip made on Windows?); "
                    "it was graded as {new}"
                ).format(name=shown, new=name)
            )
        by_name[name] = raw
        sub.files[name] = data
        total += len(data)
    return sub


def read_submission(folder: Path) -> dict[str, bytes]:
    return read_folder(folder).files


def describe_not_read(notes: list[dict], limit: int = 20) -> str:
    """One line naming what was not read, in the learner's language."""
    why = {
        key: _(text).format(files=MAX_FILES, size=human_size(MAX_BYTES))
        for key, text in _NOT_READ.items()
    }
    parts = [f"{n['path']} ({why[n['why']]})" for n in notes[:limit]]
    text = _("Not read: {items}").format(items="; ".join(parts))
    if len(notes) > limit:
        text += _(" and {count} more").format(count=len(notes) - limit)
    return text


def _priority(parts: tuple[bytes, ...], contract: tuple[str, ...]) -> tuple:
    """Contract files first, then other .py files, then the rest; in name order,
    and of two names that read the same, the UTF-8 one first."""
    names = [untrusted.file_name(p) for p in parts]
    rel = "/".join(names)
    rank = 0 if rel in contract else 1 if rel.endswith(".py") else 2
    return rank, names, [untrusted.shown_name(p) != n for p, n in zip(parts, names)]


def is_environment(path: str | bytes | os.PathLike) -> bool:
    """A Python environment (venv, conda or a bare site-packages), not code."""
    path = os.fsencode(path)
    return (
        os.path.isfile(os.path.join(path, b"pyvenv.cfg"))
        or os.path.isdir(os.path.join(path, b"conda-meta"))
        or os.path.basename(path.rstrip(b"/")) == b"site-packages"
    )


def _has_python(path: bytes, budget: int = 5000) -> bool:
    """Whether a .py file lies somewhere under ``path`` (iterative, bounded)."""
    todo = [path]
    while todo and budget > 0:
        try:
            with os.scandir(todo.pop()) as it:
                for entry in it:
                    budget -= 1
                    if entry.name.startswith(b".") or entry.is_symlink():
                        continue
                    if entry.is_file(follow_symlinks=False) and entry.name.endswith(b".py"):
                        return True
                    if (
                        entry.is_dir(follow_symlinks=False)
                        and os.fsdecode(entry.name) not in SKIP_DIRS
                    ):
                        todo.append(entry.path)
        except OSError:
            continue
    return budget <= 0  # too large to tell: read it, within the caps


def _walk(top: bytes, sub: Submission) -> list[tuple[bytes, ...]]:
    """Relative paths (as parts) of the regular files under ``top``, without
    recursion, skipping links, hidden and tool folders, environments and
    folders without code."""
    found: list[tuple[bytes, ...]] = []
    todo: list[tuple[bytes, ...]] = [()]
    seen = 0
    while todo:
        parts = todo.pop()
        try:
            with os.scandir(os.path.join(top, *parts)) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > MAX_ENTRIES:
                sub.notes.append(_("the folder holds too many files; only part of it was read"))
                return found
            name = entry.name
            if name.startswith(b".") or os.fsdecode(name) in SKIP_DIRS:
                continue
            try:
                rel = untrusted.shown_name(b"/".join((*parts, name)))
                if entry.is_symlink():
                    sub.not_read.append({"path": rel, "why": "link"})
                    continue
                if entry.is_dir(follow_symlinks=False):
                    rel += "/"
                    if is_environment(entry.path):
                        sub.not_read.append({"path": rel, "why": "virtual_environment"})
                    elif not _has_python(entry.path):
                        sub.not_read.append({"path": rel, "why": "no_python"})
                    elif len(parts) + 1 < MAX_DEPTH:
                        todo.append((*parts, name))
                elif entry.is_file(follow_symlinks=False):
                    found.append((*parts, name))
                else:
                    sub.not_read.append({"path": rel, "why": "special"})
            except OSError:
                continue
    sub.not_read.sort(key=lambda n: n["path"])
    return found
