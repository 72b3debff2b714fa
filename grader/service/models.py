"""The service's tables.  Portable SQL only (SQLite by default, PostgreSQL
later): no engine-specific types; times are naive UTC."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .. import assignment

STATES = ("queued", "grading", "done", "error")
DEFAULT_ASSIGNMENT = assignment.DEFAULT  # the assignment a submission is for


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Learner(Base):
    __tablename__ = "learners"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(400), default="")
    email: Mapped[str] = mapped_column(String(400), default="")
    role: Mapped[str] = mapped_column(String(20), default="learner")  # or "instructor"
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Token(Base):
    """A personal token: ``<lookup>.<secret>``; only a scrypt hash of the secret is kept."""

    __tablename__ = "tokens"
    lookup: Mapped[str] = mapped_column(String(32), primary_key=True)
    learner_id: Mapped[str] = mapped_column(ForeignKey("learners.id"), index=True)
    salt: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Submission(Base):
    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assignment: Mapped[str] = mapped_column(String(100), default=DEFAULT_ASSIGNMENT, index=True)
    learner_id: Mapped[str] = mapped_column(ForeignKey("learners.id"), index=True)
    folder: Mapped[str] = mapped_column(String(100))  # under <data>/submissions/
    sha256: Mapped[str] = mapped_column(String(64))  # of the files (grader's own hash)
    size: Mapped[int] = mapped_column(Integer, default=0)
    language: Mapped[str] = mapped_column(String(8), default="en")
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    state: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    worker: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the current one
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class StoredFile(Base):
    __tablename__ = "files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    path: Mapped[str] = mapped_column(String(1000))  # shown name (UTF-8, or read as cp1252)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)


class Attempt(Base):
    """One claim of a submission by a worker (a grading, finished or not)."""

    __tablename__ = "attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    worker: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)  # done/error/lost


class Result(Base):
    """One finished grading: results.json and report.html in ``folder``."""

    __tablename__ = "results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"))
    folder: Mapped[str] = mapped_column(String(200))  # under <data>/results/
    score: Mapped[float] = mapped_column(Float, default=0.0)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    grader_error: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Setting(Base):
    __tablename__ = "settings"
    __table_args__ = (UniqueConstraint("assignment", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assignment: Mapped[str] = mapped_column(String(100), default=DEFAULT_ASSIGNMENT)
    key: Mapped[str] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(Text)  # JSON
