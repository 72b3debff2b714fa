"""Per-assignment settings (deadline, gradebook policy, limits), kept in the
database as JSON values, with defaults."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import asdict, dataclass, fields

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import DEFAULT_ASSIGNMENT, Setting


@dataclass
class CourseSettings:
    deadline: str | None = None        # ISO 8601, UTC ("2026-12-01T23:59")
    policy: str = "best"               # gradebook row per learner: "best" or "latest"
    max_upload: int = 1024 * 1024      # bytes of files in one submission
    max_files: int = 200               # files in one submission
    per_hour: int = 20                 # submissions per learner per hour
    in_flight: int = 1                 # queued or grading at once per learner
    time_limit: float = 10.0           # the grader's --time-limit
    memory_limit: int = 2 * 1024 ** 3  # the grader's --memory-limit
    output_limit: int = 1024 * 1024    # the grader's --output-limit

    def deadline_at(self) -> dt.datetime | None:
        if not self.deadline:
            return None
        when = dt.datetime.fromisoformat(self.deadline)
        if when.tzinfo is not None:
            when = when.astimezone(dt.UTC).replace(tzinfo=None)
        return when

    def validate(self) -> None:
        if self.policy not in ("best", "latest"):
            raise ValueError("policy: best or latest")
        self.deadline_at()
        for name in ("max_upload", "max_files", "per_hour", "in_flight"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name}: at least 1")
        for name in ("max_upload", "max_files", "per_hour", "in_flight", "memory_limit",
                     "output_limit"):
            if int(getattr(self, name)) >= 2 ** 62:
                raise ValueError(f"{name}: too large")
        if not math.isfinite(self.time_limit) or self.time_limit > 24 * 3600:
            raise ValueError("time_limit: a number of seconds, at most a day")
        if self.time_limit < 0.5 or self.memory_limit < 256 * 1024 ** 2 or \
                self.output_limit < 1024:
            raise ValueError("limits below the grader's minimums")


def load(session: Session, assignment: str = DEFAULT_ASSIGNMENT) -> CourseSettings:
    s = CourseSettings()
    known = {f.name: f.type for f in fields(s)}
    for row in session.execute(select(Setting).where(Setting.assignment == assignment)).scalars():
        if row.key in known:
            setattr(s, row.key, json.loads(row.value))
    return s


def save(session: Session, new: CourseSettings, assignment: str = DEFAULT_ASSIGNMENT) -> None:
    new.validate()
    current = {r.key: r for r in session.execute(
        select(Setting).where(Setting.assignment == assignment)).scalars()}
    for key, value in asdict(new).items():
        if key in current:
            current[key].value = json.dumps(value)
        else:
            session.add(Setting(assignment=assignment, key=key, value=json.dumps(value)))
