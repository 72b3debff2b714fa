"""Scores check outcomes and shapes results.json (a Gradescope superset)."""

from __future__ import annotations

import datetime as dt
import json

from .assignment import Assignment, Exercise
from .checking import CheckOutcome
from .child.protocol import SETUP_STEPS, STEP_IMPORT, ErrorKind
from .feedback import MAX_MESSAGE
from .i18n import _, language
from .limits import human_size
from .observations import Observation
from .problems import describe_error, describe_problem
from .untrusted import clean_text, shorten

MAX_OUTPUT = 20_000
MAX_DOCUMENT = 1_500_000  # bytes of results.json: learner text is cut to fit


def _exercise_problem(per_device: dict[str, Observation]) -> dict | None:
    """What broke the whole exercise, if anything: import error, crash, hang..."""
    for obs in per_device.values():
        for pre in (STEP_IMPORT, *SETUP_STEPS):
            if pre in obs.errors:
                err = obs.errors[pre]
                label = next((lab for n, lab in obs.steps if n == pre), pre)
                if pre == STEP_IMPORT:
                    label = f"import {label}"
                return {
                    "kind": err.get("kind", ErrorKind.EXCEPTION),
                    "device": obs.device,
                    "message": shorten(describe_error(err, label, obs.limits), MAX_MESSAGE),
                    "error": err,
                }
        if obs.problem is not None:
            return {
                "kind": obs.problem.get("kind"),
                "device": obs.device,
                "message": shorten(describe_problem(obs.problem, obs.limits), MAX_MESSAGE),
                "error": None,
                "detail": obs.problem.get("detail", ""),
            }
    errors = [e for obs in per_device.values() for e in obs.errors.values()]
    if errors and all(e.get("kind") == ErrorKind.NOT_IMPLEMENTED for e in errors):
        return {
            "kind": ErrorKind.NOT_IMPLEMENTED,
            "device": "cpu",
            "error": None,
            "message": _("not implemented yet (NotImplementedError)"),
        }
    return None


def _learner_errors(ex: Exercise, per_device: dict[str, Observation]) -> list[dict]:
    seen = set()
    errors = []
    for obs in per_device.values():
        for step, err in obs.errors.items():
            if step in ex.expected_raises:  # raising is right there (refusing pickled code)
                continue
            key = (err.get("type"), err.get("message"))
            if key in seen:
                continue
            seen.add(key)
            label = next((lab for n, lab in obs.steps if n == step), step)
            errors.append({"step": label, "device": obs.device, **err})
    return errors[:10]


def _status(score: float, max_score: float, problem: dict | None, outcomes) -> str:
    if score >= max_score:
        return "passed"
    if problem and problem["kind"] == ErrorKind.NOT_IMPLEMENTED:
        return "not_implemented"
    if problem:
        return "error"
    return "partial" if score > 0 else "failed"


def build_results(
    *,
    name: str,
    observations: dict[str, dict[str, Observation]],
    outcomes: dict[str, CheckOutcome],
    files: dict[str, bytes],
    options,
    isolation,
    execution_time: float,
    metadata: dict,
    notes: list[str] = (),
    assignment: Assignment | None = None,
) -> dict:
    """results.json of one graded submission (``assignment``: the one graded,
    by default ``options``')."""
    assignment = assignment or options.load_assignment()
    tests = []
    exercises = []
    for ex in assignment.exercises:
        per_device = observations.get(ex.id, {})
        problem = _exercise_problem(per_device)
        ex_score = ex_max = 0.0
        ex_checks = []
        for info in assignment.checks_of(ex.id):
            outcome = outcomes.get(info.id)
            passed = outcome is not None and outcome.passed
            devices = {
                d: {"status": r.status, "message": shorten(r.message, MAX_MESSAGE)}
                for d, r in (outcome.devices.items() if outcome else [])
            }
            if outcome is None:
                devices = {"cpu": {"status": "failed", "message": _("the check did not run")}}
            messages = []
            for dev, r in devices.items():
                if r["status"] != "passed" and r["message"]:
                    prefix = f"[{dev}] " if len(devices) > 1 else ""
                    messages.append(prefix + r["message"])
            blocked = (
                outcome is not None
                and not passed
                and all(r.blocked for r in outcome.devices.values() if r.status != "passed")
            )
            score = info.points if passed else 0.0
            ex_score += score
            ex_max += info.points
            test = {
                "name": f"{ex.id}: {_(info.title)}",
                "score": score,
                "max_score": info.points,
                "status": "passed" if passed else "failed",
                "output": "\n".join(dict.fromkeys(messages)),
                "tags": [ex.id],
                "visibility": "visible",
                "exercise": ex.id,
                "check": info.id,
                "title": _(info.title),
                # after an import failure or a crash the check's own hint is
                # beside the point: the message says what stopped it
                "hint": "" if blocked else _(info.hint),
                "devices": devices,
            }
            tests.append(test)
            ex_checks.append(info.id)
        output = "".join(o.output for o in per_device.values())[:MAX_OUTPUT]
        exercises.append(
            {
                "id": ex.id,
                "title": _(ex.title),
                "file": ex.file,
                "score": ex_score,
                "max_score": ex_max,
                "status": _status(ex_score, ex_max, problem, ex_checks),
                "problem": problem,
                "errors": _learner_errors(ex, per_device),
                "output": output,
                "output_truncated": any(o.output_truncated for o in per_device.values()),
                "devices": sorted(per_device),
                "wall_time": round(sum(o.wall for o in per_device.values()), 3),
            }
        )
    score = sum(e["score"] for e in exercises)
    max_score = sum(e["max_score"] for e in exercises)
    summary = _("{score:g} / {max:g} points").format(score=score, max=max_score)
    return fit(
        _document(
            name=name,
            score=score,
            max_score=max_score,
            summary=summary,
            tests=tests,
            exercises=exercises,
            files=files,
            notes=notes,
            options=options,
            isolation=isolation,
            execution_time=execution_time,
            metadata=metadata,
        )
    )


def document_size(doc: dict) -> int:
    """Bytes of ``doc`` as results.json (grader/atomic.py writes it)."""
    return len(json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8", "backslashreplace"))


def fit(doc: dict, budget: int = MAX_DOCUMENT) -> dict:
    """Cut learner text (printed output, then tracebacks, then check messages)
    until results.json fits in ``budget`` bytes; a normal document is left as
    it is."""
    cuts = (
        lambda: [ex.update(output=shorten(ex["output"], 2000)) for ex in doc["exercises"]],
        lambda: [
            ex.update(
                errors=[
                    dict(
                        e,
                        message=shorten(e.get("message", ""), 300),
                        frames=(e.get("frames") or [])[-2:],
                    )
                    for e in ex["errors"][:3]
                ]
            )
            for ex in doc["exercises"]
        ],
        lambda: [_cut_messages(t, 300) for t in doc["tests"]],
        lambda: [ex.update(output="", errors=[]) for ex in doc["exercises"]],
        lambda: [_cut_messages(t, 80) for t in doc["tests"]],
    )
    for cut in cuts:
        if document_size(doc) <= budget:
            break
        cut()
    return doc


def _cut_messages(test: dict, limit: int) -> None:
    test["output"] = shorten(test["output"], limit)
    for result in test["devices"].values():
        result["message"] = shorten(result["message"], limit)


def error_results(
    *,
    name: str,
    error: BaseException | str,
    options,
    isolation,
    files: dict[str, bytes] | None = None,
    notes: list[str] = (),
    execution_time: float = 0.0,
    metadata: dict | None = None,
) -> dict:
    """The results of a submission the grader failed on: every exercise of
    ``options``' assignment is an error with one line of why, 0 points;
    ``metadata.grader_error`` holds that line (in English, for the
    instructor's logs)."""
    assignment = options.load_assignment()
    if isinstance(error, BaseException):
        text = str(error).strip().splitlines()
        error = f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
    reason = shorten(str(error), 300)
    message = _(
        "the grader failed while grading this submission ({error}); nothing was "
        "checked. Please tell your instructor."
    ).format(error=reason)
    problem = {
        "kind": "grader_error",
        "device": "cpu",
        "message": message,
        "error": None,
        "detail": reason,
    }
    tests, exercises = [], []
    for ex in assignment.exercises:
        ex_max = 0.0
        for info in assignment.checks_of(ex.id):
            ex_max += info.points
            tests.append(
                {
                    "name": f"{ex.id}: {_(info.title)}",
                    "score": 0.0,
                    "max_score": info.points,
                    "status": "failed",
                    "output": message,
                    "tags": [ex.id],
                    "visibility": "visible",
                    "exercise": ex.id,
                    "check": info.id,
                    "title": _(info.title),
                    "hint": _(info.hint),
                    "devices": {},
                }
            )
        exercises.append(
            {
                "id": ex.id,
                "title": _(ex.title),
                "file": ex.file,
                "score": 0.0,
                "max_score": ex_max,
                "status": "error",
                "problem": problem,
                "errors": [],
                "output": "",
                "output_truncated": False,
                "devices": [],
                "wall_time": 0.0,
            }
        )
    max_score = sum(e["max_score"] for e in exercises)
    summary = _("{score:g} / {max:g} points").format(score=0, max=max_score) + "\n" + message
    return _document(
        name=name,
        score=0.0,
        max_score=max_score,
        summary=summary,
        tests=tests,
        exercises=exercises,
        files=files or {},
        notes=notes,
        options=options,
        isolation=isolation,
        execution_time=execution_time,
        metadata={**(metadata or {}), "grader_error": reason},
    )


def _document(
    *,
    name: str,
    score: float,
    max_score: float,
    summary: str,
    tests: list,
    exercises: list,
    files: dict[str, bytes],
    notes: list[str],
    options,
    isolation,
    execution_time: float,
    metadata: dict,
) -> dict:
    limits = options.limits
    notes = [shorten(n, 500) for n in notes][:50]
    if notes:
        summary += "\n" + "\n".join(notes)
    if not isolation.filesystem:
        summary += "\n" + _("File-system isolation was OFF for this run: {reason}").format(
            reason=isolation.describe()
        )
    return {
        "score": score,
        "max_score": max_score,
        "execution_time": round(execution_time, 3),
        "output": summary,
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "visible",
        "tests": tests,
        "exercises": exercises,
        "metadata": {
            **metadata,
            "submission": name,  # the folder's name (shown with grader.untrusted.clean_text)
            "language": language(),
            "graded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "devices": list(options.devices),
            "devices_unavailable": [] if "cuda" in options.devices else ["cuda"],
            "limits": {
                "time_s": limits.time,
                "memory": human_size(limits.memory),
                "output": human_size(limits.output),
                "processes": limits.procs,
                "file_size": human_size(limits.file_size),
            },
            "isolation": {
                "filesystem": isolation.filesystem,
                "method": isolation.method,
                "reason": isolation.describe(),
            },
            "files": sorted(clean_text(f) for f in files),
            **({"notes": notes} if notes else {}),
        },
    }
