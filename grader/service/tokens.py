"""Personal tokens: ``<lookup>.<secret>``.  The database keeps the lookup id
and a scrypt hash of the secret (salted), never the token; a verified token is
remembered (as a SHA-256 of it) for a few minutes so that pages that refresh
themselves do not pay scrypt on every request (a remembered token is still
looked up, so one revoked by another process stops working at once).  A lookup id that failed
``MAX_FAILURES`` times in a row is refused without hashing for ``COOL_DOWN``
seconds: whoever knows a lookup id (every learner knows their own) cannot make
the server compute scrypt for each wrong secret they send."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .models import Learner, Token

SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
CACHE_SECONDS = 300.0
MAX_FAILURES = 5
COOL_DOWN = 60.0

_cache: dict[str, tuple[str, float]] = {}  # sha256(token) -> (learner id, until)
_failures: dict[str, tuple[int, float]] = {}  # lookup -> (failures in a row, last one)
_lock = threading.Lock()
_clock = time.monotonic


def _hash(secret: str, salt: bytes) -> str:
    return hashlib.scrypt(secret.encode(), salt=salt, **SCRYPT).hex()


def issue(session: Session, learner_id: str, *, revoke_old: bool = True) -> str:
    """A fresh token for ``learner_id`` (older ones revoked): shown once, kept hashed."""
    if revoke_old:
        session.execute(update(Token).where(Token.learner_id == learner_id).values(revoked=True))
        forget(learner_id)
    lookup = secrets.token_hex(8)
    secret = secrets.token_urlsafe(24)
    salt = secrets.token_bytes(16)
    session.add(
        Token(lookup=lookup, learner_id=learner_id, salt=salt.hex(), hash=_hash(secret, salt))
    )
    return f"{lookup}.{secret}"


def verify(session: Session, token: str | None) -> Learner | None:
    """The learner a token belongs to, or None (unknown, revoked, malformed)."""
    if not token or len(token) > 200 or "." not in token:
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    now = _clock()
    with _lock:
        hit = _cache.get(digest)
    lookup, secret = token.split(".", 1)
    if hit and hit[1] > now:
        # a token replaced by another process (``grade roster links``) stops at once
        if (
            session.scalar(
                select(Token.lookup).where(Token.lookup == lookup, Token.revoked.is_(False))
            )
            is not None
        ):
            return session.get(Learner, hit[0])
        with _lock:
            _cache.pop(digest, None)
        return None
    with _lock:
        failed, last = _failures.get(lookup, (0, 0.0))
        if failed >= MAX_FAILURES and now - last < COOL_DOWN:
            return None
    row = session.execute(
        select(Token).where(Token.lookup == lookup, Token.revoked.is_(False))
    ).scalar_one_or_none()
    if row is None:
        return None
    if not hmac.compare_digest(_hash(secret, bytes.fromhex(row.salt)), row.hash):
        with _lock:
            failed, last = _failures.get(lookup, (0, 0.0))
            if now - last >= COOL_DOWN:
                failed = 0
            _failures[lookup] = (failed + 1, now)
            if len(_failures) > 10_000:  # lookups that exist are few; bound it anyway
                _failures.pop(next(iter(_failures)))
        return None
    with _lock:
        _failures.pop(lookup, None)
        _cache[digest] = (row.learner_id, now + CACHE_SECONDS)
    return session.get(Learner, row.learner_id)


def forget(learner_id: str) -> None:
    with _lock:
        for key in [k for k, v in _cache.items() if v[0] == learner_id]:
            del _cache[key]
