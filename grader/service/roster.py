"""The roster: learners from a CSV (``id,name,email``; other columns
ignored), and their personal links.  Tokens are kept hashed, so ``links``
issues fresh tokens (the old links stop working) every time it runs."""

from __future__ import annotations

import csv
import io

from sqlalchemy import delete, func, select

from ..i18n import _
from ..untrusted import spreadsheet_cell
from . import tokens
from .models import Learner, Submission, Token

COLUMNS = ("id", "name", "email")


class RosterError(ValueError):
    pass


def decode_roster(data: bytes) -> tuple[str, str | None]:
    """(text, note): UTF-8 (with or without a BOM), else Windows-1252 (what
    Excel saves as "CSV" on Windows), said in the note."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return (
            data.decode("cp1252", errors="replace"),
            _("the file is not UTF-8: read as Windows-1252 (check the accents in the names)"),
        )


def _delimiter(text: str) -> str:
    """``,`` or what the file uses instead (``;`` from a Spanish Excel, a tab)."""
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def read_roster(text: str, warnings: list[str] | None = None) -> list[dict]:
    """The learners of a roster; what was ignored or is missing is added to
    ``warnings`` (one line each, in the current language)."""
    warn = warnings.append if warnings is not None else (lambda _line: None)
    text = text.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text), delimiter=_delimiter(text))
    if reader.fieldnames is None:
        raise RosterError(_("the roster is empty"))
    columns = {c.strip().lower(): c for c in reader.fieldnames if c}
    if "id" not in columns:
        raise RosterError(
            _(
                "the roster has no 'id' column (its columns: {found}; expected id,name,email)"
            ).format(found=", ".join(reader.fieldnames))
        )
    unknown = [c for key, c in columns.items() if key not in COLUMNS]
    if unknown:
        warn(
            _("columns not used: {columns} (only id, name and email are read)").format(
                columns=", ".join(unknown)
            )
        )
    for missing in (c for c in COLUMNS[1:] if c not in columns):
        warn(_("no '{column}' column: the learners get an empty {column}").format(column=missing))
    rows, seen = [], set()
    for n, raw in enumerate(reader, 2):
        ident = (raw.get(columns["id"]) or "").strip()
        if not ident:
            if any((v or "").strip() for v in raw.values() if isinstance(v, str)):
                warn(_("line {n}: no id; the row is skipped").format(n=n))
            continue
        if ident in seen:
            raise RosterError(f"line {n}: id {ident!r} appears twice")
        if ident == "instructor" or len(ident) > 200 or "/" in ident:
            raise RosterError(f"line {n}: {ident!r} cannot be a learner id")
        seen.add(ident)
        rows.append(
            {
                "id": ident,
                "name": (raw.get(columns.get("name", ""), "") or "").strip(),
                "email": (raw.get(columns.get("email", ""), "") or "").strip(),
            }
        )
    return rows


def import_roster(Session_, rows: list[dict]) -> tuple[int, int]:
    """(created, updated)"""
    created = updated = 0
    with Session_.begin() as session:
        for row in rows:
            learner = session.get(Learner, row["id"])
            if learner is None:
                session.add(
                    Learner(id=row["id"], name=row["name"], email=row["email"], role="learner")
                )
                created += 1
            elif (learner.name, learner.email) != (row["name"], row["email"]):
                learner.name, learner.email = row["name"], row["email"]
                updated += 1
    return created, updated


def remove(Session_, ids: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(removed, kept because they have submissions, unknown): a learner with
    submissions stays, so that no graded work disappears from the gradebook."""
    removed, kept, unknown = [], [], []
    with Session_.begin() as session:
        for ident in ids:
            learner = session.get(Learner, ident)
            if learner is None or learner.role != "learner":
                unknown.append(ident)
            elif session.scalar(
                select(func.count()).select_from(Submission).where(Submission.learner_id == ident)
            ):
                kept.append(ident)
            else:
                session.execute(delete(Token).where(Token.learner_id == ident))
                session.delete(learner)
                removed.append(ident)
    return removed, kept, unknown


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
            writer.writerow(
                [spreadsheet_cell(v) for v in (learner.id, learner.name, learner.email)]
                + [token, f"{base}/login/{token}"]
            )
    return out.getvalue()
