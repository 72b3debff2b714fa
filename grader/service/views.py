"""What the API and the pages show of submissions: one dict per submission,
queue positions, late marks, the current results document."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..atomic import read_json
from .database import DataFolder
from .models import Result, Submission
from .settings import CourseSettings


def iso(when: dt.datetime | None) -> str | None:
    return when.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z") if when else None


def is_late(sub: Submission, settings: CourseSettings) -> bool:
    deadline = settings.deadline_at()
    return bool(deadline and sub.submitted_at > deadline)


def positions(session: Session) -> dict[int, int]:
    """1 for the next submission a worker takes, 2 for the one after..."""
    ids = session.scalars(
        select(Submission.id).where(Submission.state == "queued").order_by(Submission.id)
    )
    return {sid: i for i, sid in enumerate(ids, 1)}


def describe(
    session: Session, sub: Submission, settings: CourseSettings, queue: dict[int, int] | None = None
) -> dict:
    result = session.get(Result, sub.result_id) if sub.result_id else None
    base = f"/api/submissions/{sub.id}"
    doc = {
        "id": sub.id,
        "assignment": sub.assignment,
        "learner": sub.learner_id,
        "state": sub.state,
        "score": result.score if result else None,
        "max_score": result.max_score if result else None,
        "submitted_at": iso(sub.submitted_at),
        "late": is_late(sub, settings),
        "position": None,
        "attempts": sub.attempts,
        "sha256": sub.sha256,
        "size": sub.size,
        "graded_at": iso(result.created_at) if result else None,
        "results_url": f"{base}/results.json" if result else None,
        "report_url": f"{base}/report.html" if result else None,
    }
    if sub.state == "queued":
        queue = positions(session) if queue is None else queue
        doc["position"] = queue.get(sub.id)
    return doc


def results_doc(data: DataFolder, result: Result) -> dict | None:
    return read_json(data.results / result.folder / "results.json")


def report_path(data: DataFolder, result: Result):
    return data.results / result.folder / "report.html"


def in_flight(session: Session) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Submission)
            .where(Submission.state.in_(("queued", "grading")))
        )
        or 0
    )


def dumps(doc) -> str:
    return json.dumps(doc, ensure_ascii=False)
