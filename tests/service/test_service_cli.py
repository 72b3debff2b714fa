"""The service's commands next to ``grade``: dispatch, refusals, exit codes,
the roster and the schema's migrations."""

from __future__ import annotations

import csv
import io
import json
import subprocess

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner

from grader import cli
from grader.sandbox import Isolation
from grader.service import commands
from grader.service.database import open_data
from grader.service.models import Base, Learner
from grader.service.roster import RosterError, import_roster, links, read_roster

from .conftest import grade_cmd


def test_first_argument_names_a_command_only_when_it_is_exactly_one():
    assert cli._command(["grade", "serve"]) is commands.service
    assert cli._command(["grade", "roster", "import", "x.csv"]) is commands.service
    for argv in (
        ["grade", "./serve"],
        ["grade", "serve/"],
        ["grade", "solutions"],
        ["grade", "class/ana", "class/serve"],
        ["grade", "--lang", "es", "serve"],
    ):
        assert cli._command(argv) is cli.main, argv


def test_a_folder_named_serve_is_graded(tmp_path):
    folder = tmp_path / "serve"
    folder.mkdir()
    (folder / "devices.py").write_text("def broken(:\n")
    run = subprocess.run(
        grade_cmd("./serve", "--out", str(tmp_path / "out"), "--device", "cpu"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads((tmp_path / "out" / "serve" / "results.json").read_text())
    assert doc["metadata"]["submission"] == "serve"


def test_serve_refuses_to_start_without_bubblewrap(monkeypatch, tmp_path):
    monkeypatch.setattr(
        "grader.sandbox.detect_isolation",
        lambda disabled=False: Isolation(False, "rlimits", "bubblewrap (bwrap) is not installed"),
    )
    result = CliRunner().invoke(
        commands.service, ["serve", "--data", str(tmp_path / "d")], standalone_mode=False
    )
    assert isinstance(result.exception, cli.GradeUsageError)
    assert result.exception.exit_code == 2
    assert "--no-isolation" in result.exception.message
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(
    "args",
    [["serve", "--database", "postgresql://x/y"], ["serve", "--broker", "redis://x"], ["worker"]],
)
def test_scale_out_options_say_not_yet_supported(args):
    run = subprocess.run(grade_cmd(*args), capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "not yet supported" in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_submit_exit_codes(server, tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "blocks.py").write_text("x = 1\n")
    bad = subprocess.run(
        grade_cmd("submit", "--server", server.url, "--token", "nope.nope", str(folder)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "401" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    empty = tmp_path / "empty"
    (empty / "notes").mkdir(parents=True)
    (empty / "notes" / "a.txt").write_text("hi")
    refused = subprocess.run(
        grade_cmd(
            "submit",
            "--server",
            server.url,
            "--token",
            server.tokens["gus"],
            "--lang",
            "es",
            str(empty),
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2, refused.stderr
    down = subprocess.run(
        grade_cmd("submit", "--server", "http://127.0.0.1:9", "--token", "a.b", str(folder)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        down.returncode == 3
        and "cannot reach the server at http://127.0.0.1:9" in down.stderr
        and "server fault" not in down.stderr
    )
    bare = subprocess.run(
        grade_cmd(
            "submit", "--server", server.url.split("//", 1)[1], "--token", "a.b", str(folder)
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bare.returncode == 2 and "http://" in bare.stderr
    assert len(bare.stderr.strip().splitlines()) == 1


def test_roster_import_updates_and_links_issue_fresh_tokens(tmp_path):
    data, _engine, Session_ = open_data(tmp_path / "d")
    rows = read_roster("\ufeffID,Name,Email,Group\nana,Ana,ana@x,1\nben,Ben,ben@x,2\n")
    assert import_roster(Session_, rows) == (2, 0)
    rows[0]["name"] = "Ana María"
    assert import_roster(Session_, rows) == (0, 1)
    with Session_() as s:
        assert s.get(Learner, "ana").name == "Ana María"
    first = list(csv.DictReader(io.StringIO(links(Session_, "https://g.example/"))))
    assert [r["id"] for r in first] == ["ana", "ben"]
    assert first[0]["link"] == f"https://g.example/login/{first[0]['token']}"
    second = list(csv.DictReader(io.StringIO(links(Session_, "https://g.example"))))
    from grader.service import tokens

    with Session_() as s:
        assert tokens.verify(s, second[0]["token"]).id == "ana"
        tokens._cache.clear()
        assert tokens.verify(s, first[0]["token"]) is None  # replaced
        stored = [t.hash for t in s.query(tokens.Token)]
        assert all(first[0]["token"].split(".")[1] not in h for h in stored)
    with pytest.raises(RosterError):
        read_roster("name,email\nAna,a@x\n")
    with pytest.raises(RosterError):
        read_roster("id\nana\nana\n")


def test_migrations_build_the_models_schema(tmp_path):
    _data, engine, _S = open_data(tmp_path / "d")
    open_data(tmp_path / "d")  # a second start: nothing to do
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_instructor_link_on_demand_replaces_the_old_one(tmp_path):
    from grader.service import tokens
    from grader.service.serve import ensure_instructor

    _data, _engine, Session_ = open_data(tmp_path / "d")
    first = ensure_instructor(Session_)
    assert first and ensure_instructor(Session_) is None  # printed at the first start only
    result = CliRunner().invoke(
        commands.service,
        ["serve", "--instructor-link", "--data", str(tmp_path / "d"), "--port", "8123"],
    )
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert link.startswith("http://127.0.0.1:8123/login/")
    tokens._cache.clear()
    with Session_() as s:
        assert tokens.verify(s, link.rsplit("/", 1)[1]).role == "instructor"
        assert tokens.verify(s, first) is None
