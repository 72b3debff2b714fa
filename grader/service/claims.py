"""The queue: the database is the source of truth.

A worker claims the oldest queued submission with one conditional UPDATE
(``... WHERE id = :id AND state = 'queued'``: of two workers, one wins), holds
a lease that it renews while grading (``heartbeat``), and finishes with
``done``/``error``.  A submission whose worker died goes back to ``queued``
when its lease runs out (``requeue_expired``), so every acknowledged
submission is graded, at least once; results are written per attempt, so a
second grading never corrupts the first.

This is the seam for several machines: a broker (Celery + Redis) would carry
the ids that ``claim`` picks here; the UPDATE stays the guard against
double grading.  Not built yet (``--broker``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import sessionmaker

from .models import Attempt, Result, Submission, utcnow

LEASE_SECONDS = 60.0
# gradings of one submission whose worker died: after that many, it is marked
# ``error`` instead of being queued again (a submission that kills its worker
# every time would otherwise take a worker forever)
MAX_LOST = 3


class DatabaseQueue:
    def __init__(self, Session_: sessionmaker, lease: float = LEASE_SECONDS) -> None:
        self.Session = Session_
        self.lease = lease

    def _until(self) -> dt.datetime:
        return utcnow() + dt.timedelta(seconds=self.lease)

    def claim(self, worker: str) -> tuple[int, int] | None:
        """(submission id, attempt id) of the oldest queued submission, now
        ``grading`` under ``worker``'s lease; None when nothing is queued."""
        for _try in range(20):
            with self.Session.begin() as session:
                candidate = session.scalar(
                    select(Submission.id)
                    .where(Submission.state == "queued")
                    .order_by(Submission.id)
                    .limit(1)
                )
                if candidate is None:
                    return None
                won = session.execute(
                    update(Submission)
                    .where(Submission.id == candidate, Submission.state == "queued")
                    .values(
                        state="grading",
                        worker=worker,
                        lease_until=self._until(),
                        attempts=Submission.attempts + 1,
                    )
                ).rowcount
                if won != 1:
                    continue
                attempt = Attempt(submission_id=candidate, worker=worker)
                session.add(attempt)
                session.flush()
                return candidate, attempt.id
        return None

    def heartbeat(self, submission_id: int, worker: str) -> bool:
        """Renew the lease; False when this worker no longer holds it."""
        with self.Session.begin() as session:
            return (
                session.execute(
                    update(Submission)
                    .where(
                        Submission.id == submission_id,
                        Submission.worker == worker,
                        Submission.state == "grading",
                    )
                    .values(lease_until=self._until())
                ).rowcount
                == 1
            )

    def finish(
        self,
        submission_id: int,
        attempt_id: int,
        worker: str,
        *,
        folder: str,
        score: float,
        max_score: float,
        grader_error: bool,
    ) -> bool:
        """Record a finished grading; its results become the current ones.
        A worker that lost its lease records its results all the same (they
        are as good), but the state is left to the current holder."""
        with self.Session.begin() as session:
            result = Result(
                submission_id=submission_id,
                attempt_id=attempt_id,
                folder=folder,
                score=score,
                max_score=max_score,
                grader_error=grader_error,
            )
            session.add(result)
            session.flush()
            session.execute(
                update(Attempt)
                .where(Attempt.id == attempt_id)
                .values(finished_at=utcnow(), outcome="error" if grader_error else "done")
            )
            return (
                session.execute(
                    update(Submission)
                    .where(
                        Submission.id == submission_id,
                        Submission.worker == worker,
                        Submission.state == "grading",
                    )
                    .values(
                        state="error" if grader_error else "done",
                        lease_until=None,
                        result_id=result.id,
                        error=None,
                    )
                ).rowcount
                == 1
            )

    def requeue_expired(self) -> list[int]:
        """Submissions whose worker stopped renewing its lease: queued again."""
        with self.Session.begin() as session:
            ids = list(
                session.scalars(
                    select(Submission.id).where(
                        Submission.state == "grading", Submission.lease_until < utcnow()
                    )
                )
            )
            for sid in ids:
                moved = session.execute(
                    update(Submission)
                    .where(
                        Submission.id == sid,
                        Submission.state == "grading",
                        Submission.lease_until < utcnow(),
                    )
                    .values(state="queued", worker=None, lease_until=None)
                ).rowcount
                if moved:
                    session.execute(
                        update(Attempt)
                        .where(Attempt.submission_id == sid, Attempt.finished_at.is_(None))
                        .values(finished_at=utcnow(), outcome="lost")
                    )
                    lost = session.scalar(
                        select(func.count())
                        .select_from(Attempt)
                        .where(Attempt.submission_id == sid, Attempt.outcome == "lost")
                    )
                    if lost >= MAX_LOST:
                        session.execute(
                            update(Submission)
                            .where(Submission.id == sid)
                            .values(
                                state="error",
                                error=f"the grading stopped {lost} times without "
                                "an answer (its worker died); not queued again",
                            )
                        )
            return ids

    def regrade(self, submission_ids: list[int]) -> int:
        """Queue finished submissions again (their results are kept)."""
        with self.Session.begin() as session:
            return session.execute(
                update(Submission)
                .where(Submission.id.in_(submission_ids), Submission.state.in_(("done", "error")))
                .values(state="queued", worker=None, lease_until=None)
            ).rowcount
