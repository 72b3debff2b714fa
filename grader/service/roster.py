"""The roster: learners from a CSV (``id,name,email``; other columns
ignored), and their personal links.  Tokens are kept hashed, so ``links``
issues fresh tokens (the old links stop working) every time it runs."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from .models import Learner
from . import tokens


class RosterError(ValueError):
    pass


def read_roster(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames is None:
        raise RosterError("the roster is empty")
    columns = {c.strip().lower(): c for c in reader.fieldnames if c}
    if "id" not in columns:
        raise RosterError("the roster has no 'id' column (expected id,name,email)")
    rows, seen = [], set()
    for n, raw in enumerate(reader, 2):
        ident = (raw.get(columns["id"]) or "").strip()
        if not ident:
            continue
        if ident in seen:
            raise RosterError(f"line {n}: id {ident!r} appears twice")
        if ident == "instructor" or len(ident) > 200 or "/" in ident:
            raise RosterError(f"line {n}: {ident!r} cannot be a learner id")
        seen.add(ident)
        rows.append({"id": ident,
                     "name": (raw.get(columns.get("name", ""), "") or "").strip(),
                     "email": (raw.get(columns.get("email", ""), "") or "").strip()})
    return rows


def import_roster(Session_, rows: list[dict]) -> tuple[int, int]:
    """(created, updated)"""
    created = updated = 0
    with Session_.begin() as session:
        for row in rows:
            learner = session.get(Learner, row["id"])
            if learner is None:
                session.add(Learner(id=row["id"], name=row["name"], email=row["email"],
                                    role="learner"))
                created += 1
            elif (learner.name, learner.email) != (row["name"], row["email"]):
                learner.name, learner.email = row["name"], row["email"]
                updated += 1
    return created, updated


def links(Session_, base_url: str, only: list[str] | None = None) -> str:
    base = base_url.rstrip("/")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "name", "email", "token", "link"])
    with Session_.begin() as session:
        q = select(Learner).where(Learner.role == "learner").order_by(Learner.id)
        for learner in session.scalars(q):
            if only and learner.id not in only:
                continue
            token = tokens.issue(session, learner.id)
            writer.writerow([learner.id, learner.name, learner.email, token,
                             f"{base}/login/{token}"])
    return out.getvalue()
