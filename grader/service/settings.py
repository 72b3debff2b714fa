"""Per-assignment settings (deadline, gradebook policy, limits), kept in the
database as JSON values, with defaults."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import asdict, dataclass, fields

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..i18n import N_, translations
from ..limits import human_size, parse_size
from .models import DEFAULT_ASSIGNMENT, Setting


@dataclass
class CourseSettings:
    deadline: str | None = None  # ISO 8601, UTC ("2026-12-01T23:59"), kept in UTC
    policy: str = "best"  # gradebook row per learner: "best" or "latest"
    max_upload: int = 1024 * 1024  # bytes of files in one submission
    max_files: int = 200  # files in one submission
    per_hour: int = 20  # submissions per learner per hour
    in_flight: int = 1  # queued or grading at once per learner
    time_limit: float = 10.0  # the grader's --time-limit
    memory_limit: int = 2 * 1024**3  # the grader's --memory-limit
    output_limit: int = 1024 * 1024  # the grader's --output-limit

    def deadline_at(self) -> dt.datetime | None:
        if not self.deadline:
            return None
        when = dt.datetime.fromisoformat(self.deadline)
        if when.tzinfo is not None:
            when = when.astimezone(dt.UTC).replace(tzinfo=None)
        return when

    def validate(self) -> None:
        if self.policy not in ("best", "latest"):
            raise SettingError("policy")
        try:
            self.deadline_at()
        except ValueError:
            raise SettingError("deadline") from None
        for name in ("max_files", "per_hour", "in_flight"):
            if int(getattr(self, name)) < 1:
                raise SettingError("count", name=name)
            if int(getattr(self, name)) >= 2**62:
                raise SettingError("count", name=name)
        if not math.isfinite(self.time_limit) or not 0.5 <= self.time_limit <= 24 * 3600:
            raise SettingError("time_limit")
        for name, least in SIZES.items():
            if not least <= int(getattr(self, name)) < 2**62:
                raise SettingError("size", name=name, least=human_size(least))


SIZES = {"max_upload": 1, "memory_limit": 256 * 1024**2, "output_limit": 1024}  # minimums
MESSAGES = {
    "deadline": N_(
        "deadline: a date and time such as 2026-12-01T23:59 (UTC), or with its "
        "offset from UTC such as 2026-12-01T23:59+01:00"
    ),
    "policy": N_("policy: best or latest"),
    "count": N_("{name}: a whole number, at least 1"),
    "time_limit": N_("time_limit: a number of seconds, at least 0.5 and at most a day"),
    "size": N_("{name}: a size such as 2G, 512M or 1048576 (bytes), at least {least}"),
}


class SettingError(ValueError):
    """A setting that cannot be used: which, and what is expected (translated when shown)."""

    def __init__(self, key: str, **params) -> None:
        super().__init__(MESSAGES[key].format(**params))
        self.key = key
        self.params = params

    def message(self, lang: str) -> str:
        return translations(lang).gettext(MESSAGES[self.key]).format(**self.params)


def convert(name: str, value):
    """A value from the settings form or API, as the setting keeps it; deadlines
    with an offset are kept in UTC."""
    try:
        if name == "deadline":
            if not value:
                return None
            when = dt.datetime.fromisoformat(str(value).strip().replace(" ", "T", 1))
            if when.tzinfo is not None:
                when = when.astimezone(dt.UTC).replace(tzinfo=None)
            return when.isoformat(timespec="seconds" if when.second else "minutes")
        if name == "policy":
            return str(value)
        if name == "time_limit":
            return float(value)
        if name in SIZES and isinstance(value, str):
            return parse_size(value)
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return int(value)
    except (TypeError, ValueError, OverflowError):
        key = {"deadline": "deadline", "time_limit": "time_limit"}.get(name)
        if key:
            raise SettingError(key) from None
        if name in SIZES:
            raise SettingError("size", name=name, least=human_size(SIZES[name])) from None
        raise SettingError("count", name=name) from None


def load(session: Session, assignment: str = DEFAULT_ASSIGNMENT) -> CourseSettings:
    s = CourseSettings()
    known = {f.name: f.type for f in fields(s)}
    for row in session.execute(select(Setting).where(Setting.assignment == assignment)).scalars():
        if row.key in known:
            setattr(s, row.key, json.loads(row.value))
    return s


def save(session: Session, new: CourseSettings, assignment: str = DEFAULT_ASSIGNMENT) -> None:
    new.validate()
    current = {
        r.key: r
        for r in session.execute(select(Setting).where(Setting.assignment == assignment)).scalars()
    }
    for key, value in asdict(new).items():
        if key in current:
            current[key].value = json.dumps(value)
        else:
            session.add(Setting(assignment=assignment, key=key, value=json.dumps(value)))
