"""The service's commands: ``grade serve``, ``grade roster import|links``,
``grade submit`` and ``grade worker`` (not yet supported).

``grade`` dispatches here when its first argument is exactly one of
``COMMANDS`` (see ``grader.cli.run``); a folder with such a name is graded as
``grade ./serve``."""

from __future__ import annotations

from pathlib import Path

import click

from ..cli import ExitCode, GradeUsageError, _print_notes, _summary_table
from ..i18n import LANGUAGES, _, set_language
from .database import DEFAULT_DATA

HELP = {"help_option_names": ["-h", "--help"]}


class ServerError(click.ClickException):
    exit_code = ExitCode.INTERNAL


@click.group(context_settings=HELP)
def service() -> None:
    """The course service (see README, "Run a course")."""


@service.command(context_settings=HELP)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--data",
    "data_dir",
    default=DEFAULT_DATA,
    show_default=True,
    type=click.Path(file_okay=False),
    help="Database, submissions and reports.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Grading processes, each with a warm sandbox.",
)
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    default="en",
    show_default=True,
    help="Language for learners who have not chosen one.",
)
@click.option(
    "--no-isolation",
    is_flag=True,
    help="Run without bubblewrap (learner code from the network with resource "
    "limits only; every page says so).",
)
@click.option(
    "--base-url", default=None, help="The address learners use [default: http://HOST:PORT]."
)
@click.option(
    "--instructor-link",
    is_flag=True,
    help="Print a fresh instructor link (the old one stops working) and exit.",
)
@click.option("--database", default=None, help="PostgreSQL URL: not yet supported.")
@click.option("--broker", default=None, help="Redis URL: not yet supported.")
@click.option(
    "--lease",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds a worker's claim lasts without a heartbeat.",
)
@click.option("--poll", default=0.5, type=click.FloatRange(min=0.05), hidden=True)
def serve(
    host,
    port,
    data_dir,
    workers,
    lang,
    no_isolation,
    base_url,
    instructor_link,
    database,
    broker,
    lease,
    poll,
) -> None:
    """Start the web service and its grading workers."""
    if database or broker:
        raise GradeUsageError(
            "--database/--broker: not yet supported (one machine, SQLite in --data, for now)"
        )
    if instructor_link:
        from .database import open_data
        from .serve import instructor_token

        _existing(data_dir)
        _data, _engine, Session_ = open_data(data_dir)
        base = (base_url or f"http://{host}:{port}").rstrip("/")
        click.echo(f"{base}/login/{instructor_token(Session_)}")
        return
    from ..sandbox import detect_isolation

    isolation = detect_isolation(no_isolation)
    if not isolation.filesystem and not no_isolation:
        raise GradeUsageError(
            f"bubblewrap is not usable here ({isolation.describe()}); a "
            "served grader runs learner code from the network, so it does "
            "not start without it (--no-isolation to start anyway)"
        )
    from .serve import Busy
    from .serve import serve as run_serve

    try:
        run_serve(
            host=host,
            port=port,
            data_dir=data_dir,
            workers=workers,
            lang=lang,
            isolation_off=None if isolation.filesystem else isolation.describe(),
            no_isolation=no_isolation,
            lease=lease,
            poll=poll,
            base_url=base_url,
            echo=lambda text: click.echo(text, err=True),
        )
    except Busy as exc:
        raise GradeUsageError(str(exc)) from None


def _existing(data_dir: str) -> None:
    """Commands that issue links work on an existing course only: from the wrong
    folder, a new empty course would be created silently."""
    if not (Path(data_dir) / "grader.sqlite3").is_file():
        raise GradeUsageError(
            f"no course data in {Path(data_dir).resolve()}; pass --data "
            "with the folder `grade serve` uses"
        )


@service.group(context_settings=HELP)
def roster() -> None:
    """Learners and their personal links."""


@roster.command("import", context_settings=HELP)
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--data", "data_dir", default=DEFAULT_DATA, show_default=True, type=click.Path(file_okay=False)
)
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    default="en",
    show_default=True,
    help="Language of the warnings.",
)
def roster_import(csv_file, data_dir, lang) -> None:
    """Create or update learners from CSV_FILE (columns id,name,email; separated by
    commas, semicolons or tabs; UTF-8 or Windows-1252).  Learners missing from the
    file are kept: `grade roster remove ID` removes one."""
    from .database import open_data
    from .roster import RosterError, decode_roster, import_roster, read_roster

    set_language(lang)
    text, note = decode_roster(Path(csv_file).read_bytes())
    warnings = [note] if note else []
    try:
        rows = read_roster(text, warnings)
    except RosterError as exc:
        raise GradeUsageError(f"{csv_file}: {exc}") from None
    for line in warnings:
        click.echo(_("warning: {csv}: {what}").format(csv=csv_file, what=line), err=True)
    _data, _engine, Session_ = open_data(data_dir)
    created, updated = import_roster(Session_, rows)
    click.echo(
        _(
            "{count} learner(s) in {csv}: {created} created, {updated} updated; learners "
            "not in the file are kept (grade roster remove ID removes one)"
        ).format(count=len(rows), csv=csv_file, created=created, updated=updated),
        err=True,
    )


@roster.command("remove", context_settings=HELP)
@click.argument("ids", nargs=-1, required=True)
@click.option(
    "--data", "data_dir", default=DEFAULT_DATA, show_default=True, type=click.Path(file_okay=False)
)
def roster_remove(ids, data_dir) -> None:
    """Remove learners (by id) who have no submissions; their links stop working."""
    from .database import open_data
    from .roster import remove

    _existing(data_dir)
    _data, _engine, Session_ = open_data(data_dir)
    removed, kept, unknown = remove(Session_, list(ids))
    if removed:
        click.echo(f"removed: {', '.join(removed)}", err=True)
    if kept or unknown:
        raise GradeUsageError(
            "; ".join(
                ([f"not removed, they have submissions: {', '.join(kept)}"] if kept else [])
                + ([f"no such learner: {', '.join(unknown)}"] if unknown else [])
            )
        )


@roster.command("links", context_settings=HELP)
@click.option("--base-url", required=True, help="The service's address, as learners reach it.")
@click.option(
    "--data", "data_dir", default=DEFAULT_DATA, show_default=True, type=click.Path(file_okay=False)
)
@click.option("--learner", "only", multiple=True, help="Only this learner (repeatable).")
def roster_links(base_url, data_dir, only) -> None:
    """Print CSV id,name,email,token,link: FRESH tokens (earlier links stop working)."""
    from .database import open_data
    from .roster import links

    _existing(data_dir)
    _data, _engine, Session_ = open_data(data_dir)
    click.echo(links(Session_, base_url, list(only) or None), nl=False)
    click.echo("new personal links issued; the earlier ones no longer work", err=True)


@service.command(context_settings=HELP)
@click.argument("submission", type=click.Path(exists=True))
@click.option("--server", required=True, help="The service's address.")
@click.option("--token", required=True, help="Your token (the last part of your link).")
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    default=None,
    help="Language of messages and the report.",
)
@click.option(
    "--wait",
    default=600.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds to wait for the grading.",
)
def submit(submission, server, token, lang, wait) -> None:
    """Upload SUBMISSION (a folder or a .zip), wait, print the summary."""
    from rich.console import Console

    from .client import Refusal, ServerFault, Unreachable
    from .client import submit as run_submit

    if lang:
        set_language(lang)
    if not server.lower().startswith(("http://", "https://")):
        raise GradeUsageError(
            _("--server {url}: give the whole address, starting with http:// or https://").format(
                url=server
            )
        )
    if "/login/" in token:
        token = token.rsplit("/login/", 1)[1]

    def on_state(sub: dict) -> None:
        if sub["state"] == "queued":
            text = _("submission {id}: queued (position {n})").format(
                id=sub["id"], n=sub.get("position")
            )
        else:
            text = _("submission {id}: grading").format(id=sub["id"])
        click.echo(text, err=True)

    try:
        sub, doc, url = run_submit(
            server, token, Path(submission), lang=lang, wait=wait, on_state=on_state
        )
    except Refusal as exc:
        raise GradeUsageError(_("refused: {why}").format(why=exc)) from None
    except Unreachable as exc:
        raise ServerError(_("cannot reach the server at {url}").format(url=exc)) from None
    except ServerFault as exc:
        raise ServerError(_("server fault: {why}").format(why=exc)) from None
    set_language(doc.get("metadata", {}).get("language", lang or "en"))
    Console(highlight=False).print(_summary_table([doc]))
    _print_notes([doc])
    click.echo(
        _("Report: {path} (in the browser where you opened your personal link)").format(path=url)
    )
    if sub["state"] == "error":
        raise ServerError(
            _("the grader failed on submission {id}; your instructor can grade it again").format(
                id=sub["id"]
            )
        )


@service.command(context_settings=HELP)
@click.option("--database", default=None)
@click.option("--broker", default=None)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu")
def worker(database, broker, device) -> None:
    """More workers on other machines: not yet supported."""
    raise GradeUsageError(
        "grade worker: not yet supported (grade serve --workers N runs the workers on one machine)"
    )


COMMANDS = tuple(service.commands)
