"""Submissions on disk and in the database.

An upload's files are written to ``submissions/<uuid>.part/``, synced, renamed
to ``submissions/<uuid>/`` and only then recorded (one transaction: the
submission, its files, state ``queued``).  The id is returned after the commit:
an acknowledged submission is on disk and in the database; a crash before the
commit leaves only a folder without a row, removed at the next start."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import threading
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ..grading import submission_hash
from .database import DataFolder
from .models import DEFAULT_ASSIGNMENT, StoredFile, Submission, utcnow
from .refusals import Refused
from .settings import CourseSettings
from .uploads import Upload

_admission = threading.Lock()  # one machine: the in-flight and hourly checks are exact


def _write(folder: str, files: dict[bytes, bytes]) -> None:
    base = os.fsencode(folder)
    os.makedirs(base, mode=0o700)
    for rel, data in files.items():
        path = os.path.join(base, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    dirfd = os.open(base, os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_admission(
    session: Session, learner_id: str, settings: CourseSettings, assignment: str
) -> None:
    in_flight = session.scalar(
        select(func.count())
        .select_from(Submission)
        .where(
            Submission.learner_id == learner_id,
            Submission.assignment == assignment,
            Submission.state.in_(("queued", "grading")),
        )
    )
    if in_flight >= settings.in_flight:
        raise Refused(429, "in_flight")
    since = utcnow() - dt.timedelta(hours=1)
    recent = session.scalar(
        select(func.count())
        .select_from(Submission)
        .where(Submission.learner_id == learner_id, Submission.submitted_at >= since)
    )
    if recent >= settings.per_hour:
        raise Refused(429, "per_hour", count=recent)


def create(
    Session_: sessionmaker,
    data: DataFolder,
    learner_id: str,
    upload: Upload,
    settings: CourseSettings,
    language: str,
    assignment: str = DEFAULT_ASSIGNMENT,
) -> Submission:
    """Store an upload and queue it; Refused (nothing stored) when the learner
    is over a limit."""
    with _admission:
        with Session_() as session:
            check_admission(session, learner_id, settings, assignment)
        name = uuid.uuid4().hex
        part = str(data.submissions / f"{name}.part")
        final = str(data.submissions / name)
        try:
            _write(part, upload.files)
            os.rename(part, final)
            _fsync_dir(str(data.submissions))
            shown = {
                rel.decode("utf-8", "surrogateescape"): blob for rel, blob in upload.files.items()
            }
            with Session_.begin() as session:
                sub = Submission(
                    assignment=assignment,
                    learner_id=learner_id,
                    folder=name,
                    sha256=submission_hash(shown),
                    size=upload.size,
                    language=language,
                    state="queued",
                    attempts=0,
                )
                session.add(sub)
                session.flush()
                for rel, blob in sorted(upload.files.items()):
                    session.add(
                        StoredFile(
                            submission_id=sub.id,
                            path=rel.decode("utf-8", "replace"),
                            sha256=hashlib.sha256(blob).hexdigest(),
                            size=len(blob),
                        )
                    )
            return sub
        except BaseException:
            shutil.rmtree(part, ignore_errors=True)
            shutil.rmtree(final, ignore_errors=True)
            raise


def sweep(Session_: sessionmaker, data: DataFolder) -> int:
    """Remove folders of uploads that were never acknowledged (a crash between
    writing and the commit).  Returns how many."""
    with Session_() as session:
        known = set(session.scalars(select(Submission.folder)))
    removed = 0
    for entry in os.scandir(data.submissions):
        if entry.name not in known:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    return removed
