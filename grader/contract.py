"""The assignment's contract in words, generated from its specs and checks:
README.md's "What is checked" list comes from here (tests/test_readme.py
keeps them equal).  ``python -m grader.contract [ASSIGNMENT]`` prints it."""

from __future__ import annotations

import sys

from . import assignment


def what_is_checked(work: assignment.Assignment | None = None) -> str:
    """One Markdown bullet per exercise: id, file, devices, points and the
    titles of its checks, in English."""
    work = work or assignment.default()
    lines = []
    for ex in work.exercises:
        checks = work.checks_of(ex.id)
        points = sum(c.points for c in checks)
        lines.append(
            f"- `{ex.id}` ({ex.file}, {'every device' if ex.model else 'CPU'}, "
            f"{points:g} pts): " + "; ".join(c.title for c in checks)
        )
    return "\n".join(lines)


def total_points(work: assignment.Assignment | None = None) -> str:
    return f"{(work or assignment.default()).max_score():g}"


if __name__ == "__main__":  # pragma: no cover
    print(what_is_checked(assignment.load(sys.argv[1]) if len(sys.argv) > 1 else None))
