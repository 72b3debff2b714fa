"""Renders the learner report and the class overview (jinja2, autoescaped).

Both pages are single self-contained HTML files: CSS and the little JavaScript
they use are inlined, charts are inline SVG, nothing is fetched.  Templates
receive plain data built here by small pure functions (``report_view``,
``index_view``); everything a learner wrote (exception messages, printed
output, file names) reaches them as text and is escaped by jinja2.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from babel.dates import format_datetime
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from .i18n import LANGUAGES, N_, language, translations
from .untrusted import clean_text

TEMPLATES = Path(__file__).resolve().parent / "templates"

# Printed output shown per exercise (results.json keeps more, up to its own cap).
OUTPUT_CHARS = 4000
OUTPUT_LINES = 80

# Status of an exercise or a check: a symbol and a word, never colour alone.
STATUS: dict[str, tuple[str, str]] = {
    "passed": ("✔", N_("Passed")),
    "partial": ("◐", N_("Partly passed")),
    "failed": ("✘", N_("Failed")),
    "error": ("⚠", N_("Error")),
    "not_implemented": ("○", N_("Not implemented yet")),
}
UNKNOWN_STATUS = ("?", N_("Unknown"))

# Score bands of the class overview (colour plus the score as text).
BANDS = ((1.0, "full"), (0.75, "high"), (0.4, "mid"))


# -- small pure helpers ----------------------------------------------------------------
def fraction(score: float, max_score: float) -> float:
    return max(0.0, min(1.0, score / max_score)) if max_score else 0.0


def band(score: float, max_score: float) -> str:
    """full, high, mid, low (some points) or zero: the colour of a score."""
    f = fraction(score, max_score)
    if f <= 0:
        return "zero"
    return next((name for limit, name in BANDS if f >= limit - 1e-9), "low")


def trim_output(text: str, *, chars: int = OUTPUT_CHARS, lines: int = OUTPUT_LINES) -> dict:
    """The first ``lines`` lines / ``chars`` characters of printed output."""
    kept = text[:chars]
    parts = kept.split("\n")
    if len(parts) > lines:
        kept = "\n".join(parts[:lines])
    return {
        "text": kept,
        "shown": len(kept),
        "total": len(text),
        "lines": text.count("\n") + (0 if text.endswith("\n") or not text else 1),
        "cut": len(kept) < len(text),
    }


def histogram(fractions: list[float], bins: int = 10) -> list[dict]:
    """Counts of scores in ``bins`` equal ranges of [0, 1]; 1.0 goes in the last."""
    counts = [0] * bins
    for f in fractions:
        counts[min(bins - 1, max(0, int(f * bins)))] += 1
    return [{"low": i / bins, "high": (i + 1) / bins, "count": c} for i, c in enumerate(counts)]


def check_failures(docs: list[dict]) -> list[dict]:
    """Per check (in contract order): how many submissions failed it."""
    rows: dict[str, dict] = {}
    for doc in docs:
        for t in doc.get("tests", []):
            cid = t.get("check") or t.get("name", "")
            row = rows.setdefault(
                cid,
                {
                    "check": cid,
                    "exercise": t.get("exercise", ""),
                    "title": t.get("title") or t.get("name", cid),
                    "failed": 0,
                    "total": 0,
                },
            )
            row["total"] += 1
            row["failed"] += t.get("status") != "passed"
    for row in rows.values():
        row["share"] = row["failed"] / row["total"] if row["total"] else 0.0
    return list(rows.values())


def _parse_time(value: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


# -- view models ---------------------------------------------------------------------------
def _explains_a_failure(err: dict, failures: list[str]) -> bool:
    """Whether a learner exception is behind a failure shown in the report.

    Some checks expect an exception (load_tensors must refuse pickled code);
    those are recorded too but are not the learner's problem.  A failure
    message names the step that raised ("{label} raised {type}: ...") or, for
    a file that does not compile, the exception type.
    """
    marks = [m for m in (err.get("step"), err.get("type")) if m]
    return any(m in text for m in marks for text in failures)


def _exercise_view(ex: dict, tests: list[dict]) -> dict:
    failures = [t.get("output") or "" for t in tests if t.get("status") != "passed"]
    failures.append((ex.get("problem") or {}).get("message") or "")
    errors = []
    for err in ex.get("errors") or []:
        if not _explains_a_failure(err, failures):
            continue
        frames = list(err.get("frames") or [])
        if not frames and err.get("file"):  # a SyntaxError points at its own line
            frames = [
                {
                    "file": err["file"],
                    "line": err.get("line"),
                    "function": "",
                    "code": err.get("code", ""),
                }
            ]
        errors.append({**err, "frames": frames})
    failing = [t for t in tests if t.get("status") != "passed"]
    return {
        **ex,
        "checks": tests,
        "failing": len(failing),
        "learner_errors": errors,
        "printed": trim_output(ex.get("output") or ""),
        "ok": ex.get("status") == "passed",
    }


def report_view(doc: dict) -> dict:
    """What the learner report shows, grouped by exercise in contract order."""
    by_exercise: dict[str, list[dict]] = {}
    for t in doc.get("tests", []):
        by_exercise.setdefault(t.get("exercise", ""), []).append(t)
    exercises = [
        _exercise_view(ex, by_exercise.get(ex["id"], [])) for ex in doc.get("exercises", [])
    ]
    meta = doc.get("metadata", {})
    # the folder's name as text (one that is not UTF-8 holds lone surrogates)
    meta = {**meta, "submission": clean_text(meta.get("submission", ""))}
    return {
        "doc": doc,
        "meta": meta,
        "exercises": exercises,
        "score": doc.get("score", 0),
        "max_score": doc.get("max_score", 0),
        "fraction": fraction(doc.get("score", 0), doc.get("max_score", 0)),
        "graded_at": _parse_time(meta.get("graded_at", "")),
        "n_passed": sum(e["ok"] for e in exercises),
        "n_problems": sum(not e["ok"] for e in exercises),
        "checks_passed": sum(t.get("status") == "passed" for t in doc.get("tests", [])),
        "checks_total": len(doc.get("tests", [])),
        "isolation": meta.get("isolation") or {},
        "limits": meta.get("limits") or {},
    }


def index_view(
    docs: list[dict], exercises: list[dict], names: dict[str, str] | None = None
) -> dict:
    """The class overview: one row per submission, one column per exercise
    (``names``: a person's name to show next to a submission's, if known)."""
    rows = []
    for doc in docs:
        by_id = {e["id"]: e for e in doc.get("exercises", [])}
        cells = []
        for ex in exercises:
            e = by_id.get(ex["id"])
            if e is None:
                cells.append(None)
                continue
            cells.append(
                {
                    "score": e["score"],
                    "max_score": e["max_score"],
                    "status": e["status"],
                    "band": band(e["score"], e["max_score"]),
                }
            )
        name = doc.get("metadata", {}).get("submission", "")
        meta = doc.get("metadata", {})
        shown = f"{name} · {names[name]}" if names and names.get(name) else name
        rows.append(
            {
                "name": name,
                "shown": clean_text(shown),
                # the folder's own bytes (a name that is not UTF-8 too)
                "href": quote(os.fsencode(name)),
                "notes": [clean_text(str(n)) for n in meta.get("notices", [])],
                "grader_error": bool(meta.get("grader_error")),
                "cells": cells,
                "score": doc.get("score", 0),
                "max_score": doc.get("max_score", 0),
                "band": band(doc.get("score", 0), doc.get("max_score", 0)),
                "fraction": fraction(doc.get("score", 0), doc.get("max_score", 0)),
                "errors": sum(e.get("status") == "error" for e in doc.get("exercises", [])),
            }
        )
    means = []
    for i, _ex in enumerate(exercises):
        vals = [r["cells"][i] for r in rows if r["cells"][i] is not None]
        if vals:
            mean = sum(c["score"] for c in vals) / len(vals)
            top = max(c["max_score"] for c in vals)
            means.append({"score": mean, "max_score": top, "band": band(mean, top)})
        else:
            means.append(None)
    fracs = [r["fraction"] for r in rows]
    totals = sorted(r["score"] for r in rows)
    n = len(totals)
    median = (totals[n // 2] if n % 2 else (totals[n // 2 - 1] + totals[n // 2]) / 2) if n else 0
    top = max((r["max_score"] for r in rows), default=0)
    failures = check_failures(docs)
    order = {ex["id"]: i for i, ex in enumerate(exercises)}
    ranked = sorted(
        (f for f in failures if f["failed"]),
        key=lambda f: (-f["share"], order.get(f["exercise"], len(order))),
    )
    return {
        "rows": rows,
        "exercises": exercises,
        "means": means,
        "mean": sum(totals) / n if n else 0,
        "median": median,
        "max_score": top,
        "histogram": histogram(fracs),
        "failures": ranked,
        "all_passed": [f for f in failures if not f["failed"]],
        "meta": docs[0].get("metadata", {}) if docs else {},
    }


# -- rendering -------------------------------------------------------------------------------
def _filters(lang: str) -> dict[str, Any]:
    def num(value: float, digits: int = 2) -> str:
        pattern = "#,##0." + "#" * digits if digits else "#,##0"
        return format_decimal(value or 0, format=pattern, locale=lang)

    def pct(value: float) -> str:
        return format_percent(value or 0, format="#,##0%", locale=lang)

    def when(value: dt.datetime | None) -> str:
        if value is None:
            return "?"
        return format_datetime(value, "medium", tzinfo=dt.UTC, locale=lang) + " UTC"

    return {"num": num, "pct": pct, "when": when}


@functools.cache
def _env(lang: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
    )
    catalog = translations(lang)
    env.install_gettext_callables(catalog.gettext, catalog.ngettext, newstyle=True)
    env.filters.update(_filters(lang))
    # The grader's own CSS and JS (never learner data) go in verbatim.
    env.globals.update(
        css=Markup((TEMPLATES / "report.css").read_text(encoding="utf-8")),
        script=Markup((TEMPLATES / "report.js").read_text(encoding="utf-8")),
        STATUS=STATUS,
        UNKNOWN_STATUS=UNKNOWN_STATUS,
        lang=lang,
    )
    return env


def _language_of(doc: dict | None, lang: str | None) -> str:
    lang = lang or (doc or {}).get("metadata", {}).get("language") or language()
    return lang if lang in LANGUAGES else "en"


def render_report(doc: dict, *, lang: str | None = None) -> str:
    """The learner report, in ``lang`` (default: the language the results were graded in)."""
    lang = _language_of(doc, lang)
    return _env(lang).get_template("report.html.j2").render(v=report_view(doc))


def render_index(
    docs: list[dict],
    exercises: list[dict],
    *,
    lang: str | None = None,
    gradebook: str = "gradebook.csv",
    names: dict[str, str] | None = None,
) -> str:
    """The class overview of ``docs`` (``exercises``: ids and titles, in contract order;
    ``names``: submission -> the person's name, shown next to it)."""
    lang = _language_of(None, lang)
    return (
        _env(lang)
        .get_template("index.html.j2")
        .render(v=index_view(docs, exercises, names), gradebook=gradebook)
    )
