"""Empties a scratch folder, whatever learner code left in it.

No recursion and one open folder at a time (it climbs back up through
``..``), so a tree of any depth is removed without hitting Python's recursion
limit, the open-file limit or PATH_MAX; folders are made accessible
(``chmod 0700``) before they are entered, so no permissions stop it.  It runs
only after every process of the run has been killed: nothing changes the tree
while it works.
"""

from __future__ import annotations

import functools
import os
import stat

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
MAX_REPORTED = 10


def wipe(top: str, keep: list[str] = (), mode: int | None = None) -> list[str]:
    """Remove everything under ``top`` but the paths in ``keep`` (and the
    folders that lead to them).  ``mode``: permissions ``top`` itself gets
    back.  Returns (up to 10) paths, relative to ``top``, that are still there
    and should not be."""
    top = top.rstrip("/") or "/"
    kept = {os.path.relpath(k, top) for k in keep if k.startswith(top + "/")}
    leading = {"/".join(k.split("/")[:i]) for k in kept for i in range(1, k.count("/") + 1)}
    deepest = max((k.count("/") + 1 for k in kept), default=0)
    left: list[str] = []
    if mode is not None:
        try:
            os.chmod(top, mode)
        except OSError:
            pass
    try:
        fd = os.open(top, _DIR_FLAGS)
    except OSError as exc:
        return [f". ({exc.strerror})"]
    device = os.fstat(fd).st_dev
    # per level entered: (name in its parent, names still to do in the parent,
    # its path relative to top while it can still lead to a kept path)
    stack: list[tuple[str, list[str], str | None]] = []
    rel: str | None = ""
    todo = _names(fd)
    try:
        while True:
            if todo:
                name = todo.pop()
                path = None if rel is None else (f"{rel}/{name}" if rel else name)
                if path is not None and path in kept:
                    continue
                try:
                    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                except OSError:
                    continue
                if not stat.S_ISDIR(st.st_mode):
                    _remove(left, functools.partial(os.unlink, name, dir_fd=fd), path, name)
                    continue
                if st.st_dev != device:  # a mount point: not ours to remove
                    if path not in leading:
                        _note(left, path or name)
                    continue
                try:
                    os.rmdir(name, dir_fd=fd)
                    continue  # it was empty
                except OSError:
                    pass
                try:
                    os.chmod(name, 0o700, dir_fd=fd)
                except OSError:
                    pass
                try:
                    sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except OSError:
                    _note(left, path or name)
                    continue
                stack.append((name, todo, rel))
                os.close(fd)
                fd = sub
                rel = path if path is not None and path.count("/") + 1 < deepest else None
                todo = _names(fd)
            elif stack:
                name, todo, parent_rel = stack.pop()
                up = os.open("..", _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = up
                here = (
                    None if parent_rel is None else (f"{parent_rel}/{name}" if parent_rel else name)
                )
                rel = parent_rel
                if here is not None and here in leading:
                    continue  # leads to a kept path
                _remove(left, functools.partial(os.rmdir, name, dir_fd=fd), here, name)
            else:
                return left
    finally:
        os.close(fd)


def _names(fd: int) -> list[str]:
    try:
        return os.listdir(fd)
    except OSError:
        return []


def _remove(left: list[str], action, path: str | None, name: str) -> None:
    try:
        action()
    except FileNotFoundError:
        pass
    except OSError:
        _note(left, path or f".../{name}")


def _note(left: list[str], what: str) -> None:
    if len(left) < MAX_REPORTED:
        left.append(what)
