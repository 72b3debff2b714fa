"""Learner-terms descriptions of what went wrong in a run or a step."""

from __future__ import annotations

from .child.protocol import STEP_IMPORT, ErrorKind, Problem
from .i18n import N_, _, ngettext
from .limits import Limits, human_size

_SIGNALS = {
    "SIGSEGV": N_("segmentation fault"),
    "SIGABRT": N_("aborted"),
    "SIGBUS": N_("bus error"),
    "SIGFPE": N_("floating-point exception"),
    "SIGILL": N_("illegal instruction"),
    "SIGKILL": N_("killed"),
    "SIGTERM": N_("terminated"),
}


def _where(problem: dict) -> str:
    """Where a run was when it failed, in the learner's terms: their function
    (qualified), file and line, and the grader's step that called it."""
    loc = problem.get("location")
    label = problem.get("label") or ""
    step = problem.get("step") or ""
    importing = step == STEP_IMPORT or step.startswith(STEP_IMPORT + "/")
    if step == STEP_IMPORT and label:
        label = _("import {module}").format(module=label)
    if loc and loc.get("function") == "<module>":
        place = _(" while importing {file} (line {line})").format(**loc)
        return place + (
            _(" while running {label}").format(label=label) if label and not importing else ""
        )
    if loc:
        place = _("{function} ({file}, line {line})").format(**loc)
        return _(" in {place}").format(place=place) + (
            _(" while running {label}").format(label=label) if label else ""
        )
    if label:
        return _(" while running {label}").format(label=label)
    return ""


def describe_problem(problem: dict, limits: Limits) -> str:
    kind = problem.get("kind")
    where = _where(problem)
    if kind == Problem.TIMEOUT:
        return _("time limit ({seconds:g} s) exceeded{where}").format(
            seconds=limits.time, where=where
        )
    if kind == Problem.CPU_TIME:
        return _("CPU time limit ({seconds:g} s) exceeded{where}").format(
            seconds=limits.time, where=where
        )
    if kind == Problem.MEMORY:
        return _("memory limit ({size}) exceeded{where}").format(
            size=human_size(limits.memory), where=where
        )
    if kind == Problem.OUTPUT_LIMIT:
        return _("output limit ({size}) exceeded: the code printed too much{where}").format(
            size=human_size(limits.output), where=where
        )
    if kind == Problem.PROCESS_LIMIT:
        return _(
            "process limit ({count}) exceeded: the code started too many processes{where}"
        ).format(count=limits.procs, where=where)
    if kind == Problem.LEFTOVER_PROCESSES:
        count = int(problem.get("count", 0))
        return ngettext(
            "the code left {count} process running after it finished (started with os.fork, "
            "subprocess or multiprocessing and never waited for); it was stopped",
            "the code left {count} processes running after it finished (started with os.fork, "
            "subprocess or multiprocessing and never waited for); they were stopped",
            count,
        ).format(count=count)
    if kind == Problem.RESULT_LIMIT:
        return _("the observations were too large{where}").format(where=where)
    if kind == Problem.FILE_SIZE:
        return _("file size limit ({size}) exceeded{where}").format(
            size=human_size(limits.file_size), where=where
        )
    if kind == Problem.CRASH:
        name = problem.get("signal_name", "")
        text = _(_SIGNALS.get(name, name)) if name in _SIGNALS else name
        return _("the process crashed ({reason}){where}").format(reason=text, where=where)
    if kind == Problem.KILLED:
        return _("the process was killed (memory limit {size} or a kill signal){where}").format(
            size=human_size(limits.memory), where=where
        )
    if kind == Problem.EXIT:
        if problem.get("exit_code") == 70:
            return _(
                "the grader's probe stopped with an error after a call into the code "
                "(see the output){where}"
            ).format(where=where)
        return _(
            "the process exited (exit code {code}) before the checks finished, "
            "e.g. through os._exit() or sys.exit(){where}"
        ).format(code=problem.get("exit_code"), where=where)
    if kind == Problem.PROTOCOL:
        return _("the process sent back damaged observations{where}").format(where=where)
    if kind == Problem.SANDBOX_DIED:
        return _(
            "the sandbox running this exercise was stopped while it ran (the code may "
            "have killed it); nothing could be observed"
        )
    if kind == Problem.SANDBOX:
        return _(
            "the grader's sandbox failed while running this exercise; please tell your instructor"
        )
    if kind == Problem.CUDA_UNAVAILABLE:
        return _(
            "the grader could not use the GPU in its sandbox, so this exercise could not "
            "be checked on CUDA (not your code's fault; please tell your instructor): "
            "{detail}"
        ).format(detail=problem.get("detail", ""))
    if kind == Problem.MISSING_FILE:
        return _missing_file(problem)
    if kind == Problem.SKIPPED_AFTER:
        return _("not run: {reason}").format(reason=problem["reason"])
    return _("the run failed ({kind})").format(kind=kind)


def _missing_file(problem: dict) -> str:
    """A missing file, and what the folder holds instead that may be it."""
    text = _("file {file} is missing from the submission").format(file=problem["file"])
    for other in problem.get("similar", []):
        if "/" in other:
            text += " " + _(
                "(found {other}: the exercise files must be directly in the "
                "submission folder, not in a subfolder)"
            ).format(other=other)
        else:
            text += " " + _(
                "(found {other}: did you mean {file}? File names are case-sensitive)"
            ).format(other=other, file=problem["file"])
    if problem.get("notebooks"):
        text += ". " + _(
            "A notebook ({names}) cannot be graded: copy each exercise's code into "
            "the .py file the exercise names."
        ).format(names=", ".join(problem["notebooks"]))
    return text


def describe_error(error: dict, label: str, limits: Limits) -> str:
    """A learner exception recorded in a step."""
    kind = error.get("kind")
    frames = error.get("frames") or []
    place = ""
    if frames:
        last = frames[-1]
        place = _(" at {file}, line {line}").format(file=last["file"], line=last["line"])
    if kind == ErrorKind.NOT_IMPLEMENTED:
        return _("not implemented yet ({label} raised NotImplementedError)").format(label=label)
    if kind == ErrorKind.MEMORY:
        return _("memory limit ({size}) exceeded in {label}{place}").format(
            size=human_size(limits.memory), label=label, place=place
        )
    if kind == ErrorKind.SYNTAX:
        text = _("{file}: SyntaxError at line {line}: {message}").format(
            file=error.get("file", "?"),
            line=error.get("line", "?"),
            message=error.get("message", ""),
        )
        message = str(error.get("message", ""))
        if "can't decode" in message or "Non-UTF-8" in message:
            text += ". " + _(
                "The file is not saved as UTF-8: save it as UTF-8 in your editor "
                '(e.g. "Save with encoding" > UTF-8) and submit it again.'
            )
        return text
    if kind == ErrorKind.EXIT:
        return _("{label} called sys.exit({code}){place}").format(
            label=label, code=error.get("message", ""), place=place
        )
    return _("{label} raised {type}: {message}{place}").format(
        label=label,
        type=error.get("type", "Exception"),
        message=error.get("message", ""),
        place=place,
    )
