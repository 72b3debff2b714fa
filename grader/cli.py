"""The ``grade`` command: parse, call the core API, map outcomes to exit codes."""

from __future__ import annotations

import csv
import enum
import io
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from . import __version__, assignment
from .atomic import write_atomic
from .batch import Interrupted, Job, default_workers, run_batch
from .discovery import Discovery, UsageError, discover
from .grading import Options
from .i18n import LANGUAGES, _, set_language
from .limits import Limits, human_size, parse_size
from .report import render_index, render_report
from .sandbox import detect_isolation
from .untrusted import clean_text, spreadsheet_cell, terminal_safe


class ExitCode(enum.IntEnum):
    OK = 0  # grading ran, whatever the scores
    USAGE = 2  # bad command line or input (one-line message)
    INTERNAL = 3  # the grader itself failed
    INTERRUPTED = 130  # Ctrl-C; finished results are kept, a rerun resumes


class RateColumn(ProgressColumn):
    """Submissions graded per minute (rich's own speed column shows it only
    when the total is unknown)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed:
            return Text("")
        return Text(_("{rate:.1f}/min").format(rate=speed * 60), style="progress.data.speed")


class GradeUsageError(click.ClickException):
    exit_code = ExitCode.USAGE


def _size(ctx, param, value):
    if value is None:
        return None
    try:
        size = parse_size(value)
    except ValueError:
        raise GradeUsageError(
            _("{option}: expected a size such as 512M or 2G, got {value}").format(
                option=param.opts[0], value=repr(value)
            )
        ) from None
    least = MIN_SIZES.get(param.opts[0], 0)
    if size < least:
        raise GradeUsageError(
            _("{option}: {value} is too small to grade anything; use at least {least}").format(
                option=param.opts[0], value=value, least=human_size(least)
            )
        )
    return size


# below these, even a correct submission fails (torch alone needs memory to work)
MIN_SIZES = {"--memory-limit": 256 * 1024 * 1024, "--output-limit": 1024}


def _resolve_devices(device: str) -> list[str]:
    import torch

    has_cuda = torch.cuda.is_available()
    if device == "cuda" and not has_cuda:
        raise GradeUsageError(_("--device cuda: no CUDA device is available on this machine"))
    if device == "cpu" or (device == "auto" and not has_cuda):
        return ["cpu"]
    return ["cpu", "cuda"]


def gradebook_csv(docs: list[dict], work: assignment.Assignment | None = None) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    exercises = (work or assignment.default()).exercises
    writer.writerow(["submission", *[ex.id for ex in exercises], "total", "max"])
    for doc in docs:
        by_id = {e["id"]: e["score"] for e in doc.get("exercises", [])}
        writer.writerow(
            [
                spreadsheet_cell(clean_text(doc["metadata"]["submission"])),
                *[f"{by_id.get(ex.id, 0):g}" for ex in exercises],
                f"{doc['score']:g}",
                f"{doc['max_score']:g}",
            ]
        )
    return buf.getvalue()


def _summary_table(docs: list[dict]) -> Table:
    if len(docs) == 1:
        doc = docs[0]
        table = Table(
            title=escape(
                _("{name}: {score:g} / {max:g} points").format(
                    name=terminal_safe(doc["metadata"]["submission"]),
                    score=doc["score"],
                    max=doc["max_score"],
                )
            )
        )
        table.add_column(_("Exercise"))
        table.add_column(_("Score"), justify="right")
        table.add_column(_("Status"))
        table.add_column(_("First failed check"))
        for ex in doc["exercises"]:
            table.add_row(
                ex["id"],
                f"{ex['score']:g} / {ex['max_score']:g}",
                _status(ex),
                Text(terminal_safe(_first_failure(doc, ex))),
            )
        return table
    table = Table(title=_("{n} submissions").format(n=len(docs)))
    table.add_column(_("Submission"))
    table.add_column(_("Score"), justify="right")
    table.add_column(_("Exercises passed"), justify="right")
    for doc in docs:
        passed = sum(1 for e in doc["exercises"] if e["status"] == "passed")
        table.add_row(
            Text(terminal_safe(doc["metadata"]["submission"])),
            f"{doc['score']:g} / {doc['max_score']:g}",
            f"{passed} / {len(doc['exercises'])}",
        )
    return table


def _first_failure(doc: dict, ex: dict) -> str:
    """What to look at first in a failed exercise: what broke it, or its first
    failed check and why."""
    if ex["score"] >= ex["max_score"]:
        return ""
    if ex.get("problem"):
        return ex["problem"]["message"].splitlines()[0][:200]
    for test in doc["tests"]:
        if test["exercise"] == ex["id"] and test["status"] != "passed":
            why = test["output"].splitlines()[0][:160] if test["output"] else ""
            return f"{test['title']}: {why}" if why else test["title"]
    return ""


def _status(ex: dict) -> str:
    return {
        "passed": _("passed"),
        "failed": _("failed"),
        "partial": _("partial"),
        "error": _("error"),
        "not_implemented": _("not implemented yet"),
    }.get(ex["status"], ex["status"])


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("submissions", nargs=-1, required=True, metavar="SUBMISSION...")
@click.option(
    "--out",
    "out",
    default="reports",
    show_default=True,
    type=click.Path(),
    help="Folder for results.json, report.html, gradebook.csv and index.html.",
)
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    default="en",
    show_default=True,
    help="Language of learner-facing text.",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="auto: the CPU and CUDA if present.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Submissions graded at once [default: number of cores].",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0.5),
    default=Limits.time,
    show_default=True,
    help="Wall-clock seconds per exercise run.",
)
@click.option(
    "--memory-limit",
    callback=_size,
    default="2G",
    show_default=True,
    help="Memory for learner code per run, beyond the pre-imported runtime.",
)
@click.option(
    "--output-limit",
    callback=_size,
    default="1M",
    show_default=True,
    help="Printed output kept per run; more stops the run.",
)
@click.option(
    "--no-isolation",
    is_flag=True,
    help="Do not use bubblewrap (limits only; file-system isolation off).",
)
@click.option("--force", is_flag=True, help="Regrade even submissions whose results are current.")
@click.option(
    "--assignment",
    "assignment_name",
    default=assignment.DEFAULT,
    show_default=True,
    help="The assignment: a bundled one's name or an assignment folder.",
)
@click.version_option(__version__, prog_name="grade")
def main(
    submissions,
    out,
    lang,
    device,
    jobs,
    time_limit,
    memory_limit,
    output_limit,
    no_isolation,
    force,
    assignment_name,
) -> None:
    """Grade SUBMISSION folders of the custom-PyTorch-models course.

    The course service has its own commands: grade serve, grade roster, grade submit
    (see grade serve --help, grade roster --help, grade submit --help). A folder named
    like one of them is graded as ./NAME."""
    out_dir = Path(out)
    set_language(lang)
    if out_dir.exists() and not out_dir.is_dir():
        raise GradeUsageError(_("--out {path}: not a folder").format(path=out))
    try:
        work = assignment.load(assignment_name)
    except (ValueError, OSError) as exc:
        raise GradeUsageError(
            _("--assignment {name}: {reason}").format(name=assignment_name, reason=exc)
        ) from None
    try:
        found = discover(submissions, out_dir, work.file_names)
    except UsageError as exc:
        raise GradeUsageError(str(exc)) from None
    job_list = found.jobs
    devices = _resolve_devices(device)
    limits = replace(Limits(), time=time_limit, memory=memory_limit, output=output_limit)
    options = Options(
        devices=devices, limits=limits, language=lang, assignment=str(assignment_name)
    )
    isolation = detect_isolation(no_isolation)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if not isolation.filesystem:
        err.print(
            _(
                "[bold yellow]warning:[/] file-system isolation is OFF ({reason}); learner "
                "code runs with resource limits only."
            ).format(reason=escape(isolation.describe()))
        )
    if "cuda" in devices:
        # CUDA seen by the grader may still not start inside the sandbox (driver files,
        # device nodes): decide once, before grading, rather than fail every learner
        from .gpu_sandbox import cuda_problem

        reason = cuda_problem(limits, isolation)
        if reason and device == "cuda":
            raise GradeUsageError(_("--device cuda: {reason}").format(reason=reason))
        if reason:
            err.print(
                _("[bold yellow]warning:[/] ")
                + escape(
                    _(
                        "CUDA is present but not usable in the sandbox ({reason}); grading on the "
                        "CPU only"
                    ).format(reason=reason)
                )
            )
            devices = ["cpu"]
            options = replace(options, devices=devices)
    _print_found(err, found, submissions)
    if not job_list:
        err.print(_("nothing to grade"))
        return
    workers = jobs or default_workers()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[errors]}"),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal and len(job_list) == 1,
    )
    counts = {"errors": 0, "cached": 0}

    def on_done(job: Job, doc: dict, cached: bool) -> None:
        counts["cached"] += cached
        if any(e["status"] == "error" for e in doc.get("exercises", [])):
            counts["errors"] += 1
        progress.update(task, advance=1, errors=_("{n} with errors").format(n=counts["errors"]))

    try:
        with progress:
            task = progress.add_task(_("grading"), total=len(job_list), errors="")
            results = run_batch(
                job_list,
                options=options,
                isolation=isolation,
                out=out_dir,
                workers=workers,
                force=force,
                on_done=on_done,
                render=render_report,
            )
    except Interrupted as stop:
        err.print(
            escape(
                _(
                    "interrupted ({signal}): {done} of {total} submissions finished and "
                    "kept; run the same command again to grade the rest"
                ).format(signal=stop.args[0], done=len(stop.results), total=stop.total)
            )
        )
        # at once: what finished is on disk already, and an orderly interpreter
        # shutdown with torch loaded takes seconds
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(ExitCode.INTERRUPTED if stop.signum == signal.SIGINT else 128 + stop.signum)
    # one order whatever the order of the arguments (a shell's glob depends on its locale)
    docs = sorted(
        (results[j.name] for j in job_list if j.name in results),
        key=lambda d: (d["metadata"]["submission"].casefold(), d["metadata"]["submission"]),
    )
    if found.is_class:
        write_atomic(out_dir / "gradebook.csv", gradebook_csv(docs, work))
        write_atomic(
            out_dir / "index.html",
            render_index(docs, [{"id": ex.id, "title": _(ex.title)} for ex in work.exercises]),
        )
    if counts["cached"]:
        err.print(
            _(
                "{n} of {total} submissions unchanged since their last grading: their "
                "results were kept (--force grades them again)"
            ).format(n=counts["cached"], total=len(job_list))
        )
    Console(highlight=False).print(_summary_table(docs))
    _print_notes(docs)
    if found.is_class:
        click.echo(
            _(
                "Reports: {path}/<submission>/report.html; class overview: {index}; "
                "gradebook: {csv}"
            ).format(path=out_dir, index=out_dir / "index.html", csv=out_dir / "gradebook.csv")
        )
    else:
        click.echo(_("Report: {path}").format(path=out_dir / job_list[0].name / "report.html"))


def _print_found(err: Console, found: Discovery, paths: tuple[str, ...]) -> None:
    """What the command will grade and what it leaves out, and why."""
    if found.is_class and len(paths) == 1:
        err.print(
            escape(
                _("{path}: a class folder with {n} learner folder(s)").format(
                    path=paths[0], n=len(found.jobs)
                )
            )
        )
    for warning in found.warnings:
        err.print(_("[bold yellow]warning:[/] ") + escape(terminal_safe(warning)))
    for path, why in found.skipped:
        err.print(escape(terminal_safe(_("skipped {path}: {why}").format(path=path, why=why))))


def _print_notes(docs: list[dict]) -> None:
    """Submissions where something other than the code needs a look."""
    for doc in docs:
        meta = doc["metadata"]
        notes = list(meta.get("notices", []))
        if meta.get("grader_error"):
            notes.append(
                _(
                    "the grader failed on this submission ({why}); run the command "
                    "again to regrade it"
                ).format(why=meta["grader_error"])
            )
        for note in notes:
            click.echo(terminal_safe(f"{meta['submission']}: {note}"))


# ``grade WORD ...`` where WORD is exactly one of these runs the course service's
# command (grader/service/commands.py); anything else is a submission to grade, so a
# folder with one of these names is graded as ``grade ./serve`` (or ``grade serve/``).
SERVICE_COMMANDS = ("serve", "roster", "submit", "worker")


def _command(argv: list[str]):
    if len(argv) > 1 and argv[1] in SERVICE_COMMANDS:
        from .service.commands import service

        return service
    return main


def run() -> None:  # pragma: no cover - console-script shim
    try:
        code = _command(sys.argv)(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as exc:  # usage errors: one line, as README promises
        hint = _(" (see grade --help)") if isinstance(exc, click.UsageError) else ""
        click.echo(_("grade: {error}").format(error=exc.format_message()) + hint, err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo(_("interrupted"), err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - last resort: one line, not a traceback
        click.echo(_("grade: internal error: {error}").format(error=exc), err=True)
        sys.exit(ExitCode.INTERNAL)
    sys.exit(code or 0)
