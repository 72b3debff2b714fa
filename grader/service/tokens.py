"""Personal tokens: ``<lookup>.<secret>``.  The database keeps the lookup id
and a scrypt hash of the secret (salted), never the token; a verified token is
remembered (as a SHA-256 of it) for a few minutes so that pages that refresh
themselves do not pay scrypt on every request.  The memory only saves the
scrypt: every check still reads the token's row, so a token revoked by another
process (``grade roster links``, ``grade serve --instructor-link``) stops
working at once, and with it the browser sessions it signed in."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .models import Learner, Token

SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1, "dklen": 32}
CACHE_SECONDS = 300.0

_cache: dict[str, tuple[str, str, float]] = {}   # sha256(token) -> (learner, lookup, until)
_lock = threading.Lock()


def _hash(secret: str, salt: bytes) -> str:
    return hashlib.scrypt(secret.encode(), salt=salt, **SCRYPT).hex()


def issue(session: Session, learner_id: str, *, revoke_old: bool = True) -> str:
    """A fresh token for ``learner_id`` (older ones revoked): shown once, kept hashed."""
    if revoke_old:
        session.execute(update(Token).where(Token.learner_id == learner_id)
                        .values(revoked=True))
        forget(learner_id)
    lookup = secrets.token_hex(8)
    secret = secrets.token_urlsafe(24)
    salt = secrets.token_bytes(16)
    session.add(Token(lookup=lookup, learner_id=learner_id, salt=salt.hex(),
                      hash=_hash(secret, salt)))
    return f"{lookup}.{secret}"


def verify(session: Session, token: str | None) -> Learner | None:
    """The learner a token belongs to, or None (unknown, revoked, malformed)."""
    if not token or len(token) > 200 or "." not in token:
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    now = time.monotonic()
    lookup, secret = token.split(".", 1)
    row = session.execute(select(Token).where(Token.lookup == lookup,
                                              Token.revoked.is_(False))).scalar_one_or_none()
    if row is None:     # unknown, or revoked (perhaps by another process): forgotten here too
        with _lock:
            _cache.pop(digest, None)
        return None
    with _lock:
        hit = _cache.get(digest)
    if hit and hit[2] > now and hit[:2] == (row.learner_id, row.lookup):
        return session.get(Learner, row.learner_id)
    if not hmac.compare_digest(_hash(secret, bytes.fromhex(row.salt)), row.hash):
        return None
    with _lock:
        _cache[digest] = (row.learner_id, row.lookup, now + CACHE_SECONDS)
    return session.get(Learner, row.learner_id)


def forget(learner_id: str) -> None:
    with _lock:
        for key in [k for k, v in _cache.items() if v[0] == learner_id]:
            del _cache[key]
