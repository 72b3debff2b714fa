"""The ``grade`` command: parse, call the core API, map outcomes to exit codes."""

from __future__ import annotations

import csv
import enum
import io
import sys
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task,
                           TextColumn, TimeElapsedColumn, TimeRemainingColumn)
from rich.table import Table
from rich.text import Text

from . import __version__
from .atomic import write_atomic
from .batch import Job, default_workers, run_batch
from .exercises import EXERCISES
from .grading import Options
from .i18n import LANGUAGES, _, set_language
from .limits import Limits, parse_size
from .report import render_index, render_report
from .sandbox import detect_isolation


class ExitCode(enum.IntEnum):
    OK = 0            # grading ran, whatever the scores
    USAGE = 2         # bad command line or input (one-line message)
    INTERNAL = 3      # the grader itself failed
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
        return parse_size(value)
    except ValueError:
        raise GradeUsageError(_("{option}: expected a size such as 512M or 2G, got {value}").format(
            option=param.opts[0], value=repr(value))) from None


def _resolve_devices(device: str) -> list[str]:
    import torch

    has_cuda = torch.cuda.is_available()
    if device == "cuda" and not has_cuda:
        raise GradeUsageError(_("--device cuda: no CUDA device is available on this machine"))
    if device == "cpu" or (device == "auto" and not has_cuda):
        return ["cpu"]
    return ["cpu", "cuda"]


def _has_python(folder: Path) -> bool:
    return any(p.suffix == ".py" and p.is_file() for p in folder.iterdir())


def _submission_folders(folder: Path) -> list[Path]:
    """The submissions in ``folder``: itself, or, for a class folder (no .py file
    of its own, but subfolders that have some), each of those subfolders."""
    if _has_python(folder):
        return [folder]
    subs = sorted(p for p in folder.iterdir()
                  if p.is_dir() and not p.name.startswith((".", "__")) and _has_python(p))
    return subs or [folder]


def _jobs(paths: tuple[str, ...], out: Path) -> list[Job]:
    jobs: list[Job] = []
    seen: dict[str, Path] = {}
    folders: list[tuple[str, Path]] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise GradeUsageError(_("{path}: no such folder").format(path=raw))
        if not path.is_dir():
            raise GradeUsageError(_("{path}: not a folder (a submission is a folder of .py "
                                    "files)").format(path=raw))
        folders += [(raw if sub == path else str(sub), sub)
                    for sub in _submission_folders(path)]
    for raw, path in folders:
        folder = path.resolve()
        name = folder.name
        if name in seen and seen[name] != folder:
            raise GradeUsageError(_("two submissions are both named {name} ({first} and "
                                    "{second}); rename one").format(
                                        name=repr(name), first=seen[name], second=folder))
        if folder == out.resolve() or out.resolve() in folder.parents:
            raise GradeUsageError(_("{path}: is inside the output folder {out}").format(
                path=raw, out=out))
        if name not in seen:
            seen[name] = folder
            jobs.append(Job(name, folder))
    return jobs


def gradebook_csv(docs: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["submission", *[ex.id for ex in EXERCISES], "total", "max"])
    for doc in docs:
        by_id = {e["id"]: e["score"] for e in doc.get("exercises", [])}
        writer.writerow([doc["metadata"]["submission"],
                         *[f"{by_id.get(ex.id, 0):g}" for ex in EXERCISES],
                         f"{doc['score']:g}", f"{doc['max_score']:g}"])
    return buf.getvalue()


def _summary_table(docs: list[dict]) -> Table:
    if len(docs) == 1:
        doc = docs[0]
        table = Table(title=_("{name}: {score:g} / {max:g} points").format(
            name=doc["metadata"]["submission"], score=doc["score"], max=doc["max_score"]))
        table.add_column(_("Exercise"))
        table.add_column(_("Score"), justify="right")
        table.add_column(_("Status"))
        for ex in doc["exercises"]:
            table.add_row(ex["id"], f"{ex['score']:g} / {ex['max_score']:g}", _status(ex))
        return table
    table = Table(title=_("{n} submissions").format(n=len(docs)))
    table.add_column(_("Submission"))
    table.add_column(_("Score"), justify="right")
    table.add_column(_("Exercises passed"), justify="right")
    for doc in docs:
        passed = sum(1 for e in doc["exercises"] if e["status"] == "passed")
        table.add_row(doc["metadata"]["submission"], f"{doc['score']:g} / {doc['max_score']:g}",
                      f"{passed} / {len(doc['exercises'])}")
    return table


def _status(ex: dict) -> str:
    return {"passed": _("passed"), "failed": _("failed"), "partial": _("partial"),
            "error": _("error"), "not_implemented": _("not implemented yet")}.get(
                ex["status"], ex["status"])


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("submissions", nargs=-1, required=True, metavar="SUBMISSION...")
@click.option("--out", "out", default="reports", show_default=True, type=click.Path(),
              help="Folder for results.json, report.html, gradebook.csv and index.html.")
@click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True,
              help="Language of learner-facing text.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True, help="auto: the CPU and CUDA if present.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Submissions graded at once [default: number of cores].")
@click.option("--time-limit", type=click.FloatRange(min=0.5), default=Limits.time,
              show_default=True, help="Wall-clock seconds per exercise run.")
@click.option("--memory-limit", callback=_size, default="2G", show_default=True,
              help="Memory for learner code per run, beyond the pre-imported runtime.")
@click.option("--output-limit", callback=_size, default="1M", show_default=True,
              help="Printed output kept per run; more stops the run.")
@click.option("--no-isolation", is_flag=True,
              help="Do not use bubblewrap (limits only; file-system isolation off).")
@click.option("--force", is_flag=True, help="Regrade even submissions whose results are current.")
@click.version_option(__version__, prog_name="grade")
def main(submissions, out, lang, device, jobs, time_limit, memory_limit, output_limit,
         no_isolation, force) -> None:
    """Grade SUBMISSION folders of the custom-PyTorch-models course."""
    out_dir = Path(out)
    set_language(lang)
    job_list = _jobs(submissions, out_dir)
    devices = _resolve_devices(device)
    limits = replace(Limits(), time=time_limit, memory=memory_limit, output=output_limit)
    options = Options(devices=devices, limits=limits, language=lang)
    isolation = detect_isolation(no_isolation)
    err = Console(stderr=True)
    if not isolation.filesystem:
        err.print(_("[bold yellow]warning:[/] file-system isolation is OFF ({reason}); learner "
                    "code runs with resource limits only.").format(reason=isolation.describe()))
    workers = jobs or default_workers()
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[errors]}"), RateColumn(), TimeElapsedColumn(),
                        TimeRemainingColumn(), console=err, transient=False,
                        disable=not err.is_terminal and len(job_list) == 1)
    counts = {"errors": 0}

    def on_done(job: Job, doc: dict, cached: bool) -> None:
        if any(e["status"] == "error" for e in doc.get("exercises", [])):
            counts["errors"] += 1
        progress.update(task, advance=1, errors=_("{n} with errors").format(n=counts["errors"]))

    try:
        with progress:
            task = progress.add_task(_("grading"), total=len(job_list), errors="")
            results = run_batch(job_list, options=options, isolation=isolation, out=out_dir,
                                workers=workers, force=force, on_done=on_done,
                                render=render_report)
    except KeyboardInterrupt:
        err.print(_("interrupted: finished results are kept; run the same command again to "
                    "resume"))
        sys.exit(ExitCode.INTERRUPTED)
    docs = [results[j.name] for j in job_list if j.name in results]
    if len(docs) > 1:
        write_atomic(out_dir / "gradebook.csv", gradebook_csv(docs))
        write_atomic(out_dir / "index.html", render_index(
            docs, [{"id": ex.id, "title": _(ex.title)} for ex in EXERCISES]))
    Console().print(_summary_table(docs))
    click.echo(_("Results written to {path}").format(path=out_dir))


def run() -> None:  # pragma: no cover - console-script shim
    try:
        main(standalone_mode=True)
    except Exception as exc:  # noqa: BLE001 - last resort: one line, not a traceback
        click.echo(_("grade: internal error: {error}").format(error=exc), err=True)
        sys.exit(ExitCode.INTERNAL)
