"""The gradebook: one row per learner, their best or latest graded
submission (settings), with the time it was submitted and whether it was late.
The columns are those of ``grade class/``'s gradebook.csv with ``learner`` (the
id) in place of ``submission``, then ``name``, ``submission_id``,
``submitted_at`` and ``late`` (``yes`` or empty).  UTF-8 with a byte order
mark, so that Excel shows accented names as they are."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..cli import gradebook_csv
from ..untrusted import spreadsheet_cell
from .database import DataFolder
from .models import DEFAULT_ASSIGNMENT, Learner, Result, Submission
from .settings import CourseSettings
from .views import is_late, iso, results_doc


def chosen(
    session: Session, settings: CourseSettings, assignment: str = DEFAULT_ASSIGNMENT
) -> list[tuple[Learner, Submission, Result]]:
    """Per learner with a graded submission: the one the policy picks."""
    rows = session.execute(
        select(Learner, Submission, Result)
        .join(Submission, Submission.learner_id == Learner.id)
        .join(Result, Result.id == Submission.result_id)
        .where(Submission.assignment == assignment, Learner.role == "learner")
        .order_by(Learner.id, Submission.id)
    ).all()
    best: dict[str, tuple] = {}
    for learner, sub, result in rows:
        have = best.get(learner.id)
        if have is None or settings.policy == "latest" or result.score > have[2].score:
            best[learner.id] = (learner, sub, result)
    return sorted(best.values(), key=lambda r: (r[0].id.casefold(), r[0].id))


def gradebook(
    session: Session,
    data: DataFolder,
    settings: CourseSettings,
    assignment: str = DEFAULT_ASSIGNMENT,
) -> str:
    picked = [
        (learner, sub, results_doc(data, result))
        for learner, sub, result in chosen(session, settings, assignment)
    ]
    picked = [p for p in picked if p[2] is not None]
    base = list(csv.reader(io.StringIO(gradebook_csv([doc for _l, _s, doc in picked]))))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["learner", "name", *base[0][1:], "submission_id", "submitted_at", "late"])
    for (learner, sub, _doc), row in zip(picked, base[1:]):
        writer.writerow(
            [
                spreadsheet_cell(learner.id),
                spreadsheet_cell(learner.name),
                *row[1:],
                sub.id,
                iso(sub.submitted_at),
                "yes" if is_late(sub, settings) else "",
            ]
        )
    return BOM + out.getvalue()


BOM = "\ufeff"
