"""The queue's guarantees, on the database alone: one claim per submission,
leases that run out, stale workers that cannot take a submission back."""

from __future__ import annotations

import threading
import time

from grader.service.claims import DatabaseQueue
from grader.service.database import open_data
from grader.service.models import Attempt, Learner, Result, Submission
from grader.service.serve import requeue_orphans


def _setup(tmp_path, n=6):
    _data, _engine, Session_ = open_data(tmp_path / "d")
    with Session_.begin() as s:
        s.add(Learner(id="ana", name="", email="", role="learner"))
        s.flush()
        for i in range(n):
            s.add(
                Submission(
                    learner_id="ana",
                    folder=f"f{i}",
                    sha256="0",
                    size=0,
                    language="en",
                    state="queued",
                    attempts=0,
                )
            )
    return Session_


def test_concurrent_claims_take_each_submission_once(tmp_path):
    Session_ = _setup(tmp_path, n=12)
    queue = DatabaseQueue(Session_, lease=30)
    got: list[int] = []
    lock = threading.Lock()

    def work(name):
        while (claim := queue.claim(name)) is not None:
            with lock:
                got.append(claim[0])

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1, 13))


def test_an_expired_lease_is_queued_again_and_a_stale_worker_cannot_finish_it(tmp_path):
    Session_ = _setup(tmp_path, n=1)
    queue = DatabaseQueue(Session_, lease=0.3)
    sid, first = queue.claim("old")
    assert queue.heartbeat(sid, "old")
    time.sleep(0.5)
    assert queue.requeue_expired() == [sid]
    assert not queue.heartbeat(sid, "old")
    sid2, second = queue.claim("new")
    assert sid2 == sid
    # the old worker's late results are kept, but the state is the new holder's
    assert not queue.finish(
        sid, first, "old", folder="1/1", score=1, max_score=2, grader_error=False
    )
    with Session_() as s:
        assert s.get(Submission, sid).state == "grading"
    assert queue.finish(sid, second, "new", folder="1/2", score=2, max_score=2, grader_error=False)
    with Session_() as s:
        sub = s.get(Submission, sid)
        assert (sub.state, sub.attempts) == ("done", 2)
        assert s.get(Result, sub.result_id).folder == "1/2"
        assert [a.outcome for a in s.query(Attempt).order_by(Attempt.id)] == ["done", "done"]


def test_regrade_keeps_results_and_restart_requeues_orphans(tmp_path):
    Session_ = _setup(tmp_path, n=2)
    queue = DatabaseQueue(Session_, lease=30)
    a, att = queue.claim("w")
    queue.finish(a, att, "w", folder="1/1", score=1, max_score=2, grader_error=False)
    b, _ = queue.claim("w")  # left grading by a server that was killed
    assert queue.regrade([a, b]) == 1  # b is not finished: not queued twice
    assert requeue_orphans(Session_) == 1
    with Session_() as s:
        assert s.get(Submission, a).state == "queued"
        assert s.get(Submission, b).state == "queued"
        assert s.query(Result).count() == 1


def test_a_submission_whose_worker_dies_every_time_ends_in_error(tmp_path):
    """Red-team: a submission that kills its worker each time must not take a
    worker forever; after MAX_LOST lost gradings it is marked error."""
    from grader.service.claims import MAX_LOST

    Session_ = _setup(tmp_path, n=2)
    queue = DatabaseQueue(Session_, lease=0.05)
    for lost in range(1, MAX_LOST + 1):
        sid, _ = queue.claim("dies")
        assert sid == 1
        time.sleep(0.1)
        assert queue.requeue_expired() == [1]
        with Session_() as s:
            assert s.get(Submission, 1).state == ("error" if lost == MAX_LOST else "queued")
    with Session_() as s:
        sub = s.get(Submission, 1)
        assert "stopped 3 times" in sub.error
        assert [a.outcome for a in s.query(Attempt).order_by(Attempt.id)] == ["lost"] * MAX_LOST
    assert queue.claim("next")[0] == 2  # the others' turn
