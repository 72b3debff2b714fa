"""What a new instructor ran into, following the README alone: revocation,
the report's address, `grade submit` errors, roster files, data folders,
settings, CSRF, the gradebook and the class overview."""

from __future__ import annotations

import csv
import io
import subprocess

import pytest
from click.testing import CliRunner

from grader.i18n import translations
from grader.service import commands, tokens
from grader.service.database import open_data
from grader.service.models import Learner, Submission
from grader.service.refusals import MESSAGES as REFUSALS
from grader.service.roster import links, read_roster
from grader.service.settings import MESSAGES, CourseSettings, SettingError, convert

from .conftest import free_port, grade_cmd


def _links(server, *learners: str) -> dict[str, str]:
    args = [a for who in learners for a in ("--learner", who)]
    out = subprocess.run(
        grade_cmd("roster", "links", "--base-url", server.url, "--data", str(server.data), *args),
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return {row["id"]: row["token"] for row in csv.DictReader(io.StringIO(out))}


# -- 1. revocation is immediate ----------------------------------------------------------------
def test_fresh_links_revoke_old_tokens_and_sessions_at_once(server, tmp_path):
    roster = tmp_path / "ivy.csv"
    roster.write_text("id,name,email\nivy,Ivy Test,ivy@example.org\n")
    subprocess.run(
        grade_cmd("roster", "import", str(roster), "--data", str(server.data)),
        check=True,
        capture_output=True,
        timeout=120,
    )
    old = _links(server, "ivy")["ivy"]
    with server.client(old) as bearer, server.client() as browser:
        assert bearer.get("/api/me").json()["id"] == "ivy"
        assert bearer.get("/api/me").json()["id"] == "ivy"  # remembered now
        assert browser.get(f"/login/{old}").status_code == 303
        assert browser.get("/api/me").json()["id"] == "ivy"
        new = _links(server, "ivy")["ivy"]
        assert bearer.get("/api/me").status_code == 401  # at once, not minutes later
        assert browser.get("/api/me").status_code == 401  # its session too
        assert browser.get(f"/login/{old}").status_code == 401
    with server.client(new) as c:
        assert c.get("/api/me").json()["id"] == "ivy"
    # the instructor's link, replaced by `grade serve --instructor-link`
    with server.client(server.instructor) as admin, server.client() as browser:
        assert admin.get("/api/me").json()["role"] == "instructor"
        browser.get(f"/login/{server.instructor}")
        assert browser.get("/instructor").status_code == 200
        out = subprocess.run(
            grade_cmd(
                "serve", "--instructor-link", "--data", str(server.data), "--port", str(server.port)
            ),
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        server.instructor = out.strip().rsplit("/login/", 1)[1]
        assert admin.get("/api/me").status_code == 401
        assert browser.get("/instructor").status_code == 401
    with server.client(server.instructor) as admin:
        assert admin.get("/api/me").json()["role"] == "instructor"


# -- 5. data folders and ports --------------------------------------------------------------
@pytest.mark.parametrize(
    "args", [["roster", "links", "--base-url", "http://x"], ["serve", "--instructor-link"]]
)
def test_links_from_the_wrong_folder_create_no_course(tmp_path, args):
    run = subprocess.run(
        grade_cmd(*args), cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 2, run.stderr
    assert f"no course data in {tmp_path / 'grader-data'}" in run.stderr
    assert "--data" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "grader-data").exists()


def test_a_second_server_on_the_same_data_or_a_taken_port_is_refused(server, tmp_path):
    second = subprocess.run(
        grade_cmd(
            "serve", "--data", str(server.data), "--no-isolation", "--port", str(free_port())
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 2, second.stderr
    assert f"pid {server.proc.pid}" in second.stderr and "already served" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    taken = subprocess.run(
        grade_cmd(
            "serve", "--data", str(tmp_path / "d"), "--no-isolation", "--port", str(server.port)
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert taken.returncode == 2, taken.stderr
    assert f"cannot listen on 127.0.0.1:{server.port}" in taken.stderr
    assert "Serving on" not in taken.stderr and "/login/" not in taken.stderr
    assert len(taken.stderr.strip().splitlines()) == 1
    with server.client(server.instructor) as c:  # the first one serves on
        assert c.get("/api/me").status_code == 200


# -- 4. roster files --------------------------------------------------------------------------
def _import(tmp_path, data: bytes, *extra: str):
    path = tmp_path / "roster.csv"
    path.write_bytes(data)
    return CliRunner().invoke(
        commands.service, ["roster", "import", str(path), "--data", str(tmp_path / "d"), *extra]
    )


def _learners(tmp_path) -> dict[str, tuple[str, str]]:
    _data, _engine, Session_ = open_data(tmp_path / "d")
    with Session_() as s:
        learners = s.query(Learner).filter_by(role="learner")
        return {who.id: (who.name, who.email) for who in learners}


def test_spanish_excel_roster_semicolons_windows_1252(tmp_path):
    text = (
        "id;nombre;email;grupo\r\nana;Ana Muñoz;ana@x.es;A\r\n;Sin Id;x@x.es;B\r\n"
        "ben;Benítez;;A\r\n"
    )
    result = _import(tmp_path, text.encode("cp1252"), "--lang", "es")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    es = translations("es").gettext
    assert any(
        es("the file is not UTF-8: read as Windows-1252 (check the accents in the names)") in line
        for line in lines
    )
    assert any("nombre, grupo" in line for line in lines)  # columns not used
    assert any(
        es("no '{column}' column: the learners get an empty {column}").format(column="name") in line
        for line in lines
    )
    assert any(es("line {n}: no id; the row is skipped").format(n=3) in line for line in lines)
    assert "remove" in lines[-1]
    assert _learners(tmp_path) == {"ana": ("", "ana@x.es"), "ben": ("", "")}


def test_roster_utf8_bom_tabs_and_a_clean_import_warns_nothing(tmp_path):
    result = _import(tmp_path, "\ufeffid\tname\temail\nana\tAna Muñoz\ta@x\n".encode())
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    assert _learners(tmp_path) == {"ana": ("Ana Muñoz", "a@x")}
    result = _import(tmp_path, b"nombre;email\nAna;a@x\n")
    assert result.exit_code == 2 and "nombre, email" in result.output
    warnings: list[str] = []
    assert (
        read_roster("id,name,email\nana,A,a@x\n,,\n", warnings)
        == [{"id": "ana", "name": "A", "email": "a@x"}]
        and warnings == []
    )  # blank row: quiet


def test_roster_remove_spares_learners_with_submissions(tmp_path):
    assert _import(tmp_path, b"id,name,email\nana,Ana,a@x\nben,Ben,b@x\n").exit_code == 0
    _data, _engine, Session_ = open_data(tmp_path / "d")
    token = links(Session_, "http://x")
    with Session_.begin() as s:
        s.add(Submission(learner_id="ben", folder="f", sha256="0" * 64))
    result = CliRunner().invoke(
        commands.service, ["roster", "remove", "ana", "ben", "zed", "--data", str(tmp_path / "d")]
    )
    assert result.exit_code == 2
    assert "removed: ana" in result.output and "have submissions: ben" in result.output
    assert "no such learner: zed" in result.output
    assert set(_learners(tmp_path)) == {"ben"}
    ana = next(r for r in csv.DictReader(io.StringIO(token)) if r["id"] == "ana")["token"]
    with Session_() as s:
        assert tokens.verify(s, ana) is None


# -- 6. settings -------------------------------------------------------------------------------
def test_settings_errors_in_words_sizes_and_deadlines_in_utc():
    assert convert("memory_limit", "2G") == 2 * 1024**3
    assert convert("max_upload", "1048576") == 1024**2
    assert convert("deadline", "2026-12-01T23:59+01:00") == "2026-12-01T22:59"
    assert convert("deadline", "2026-12-01 23:59:30") == "2026-12-01T23:59:30"
    assert convert("deadline", "") is None
    for name, value in (
        ("deadline", "1 de diciembre"),
        ("per_hour", "veinte"),
        ("memory_limit", "mucha"),
        ("time_limit", "x"),
        ("max_files", 2.5),
    ):
        with pytest.raises(SettingError) as caught:
            convert(name, value)
        text = caught.value.message("es")
        assert text != str(caught.value) and name in text
        assert "isoformat" not in text and "literal" not in text
    with pytest.raises(SettingError) as caught:
        CourseSettings(memory_limit=convert("memory_limit", "100M")).validate()
    assert "256 MiB" in caught.value.message("en")


def test_settings_api_answers_in_the_instructors_language(server):
    with server.client(server.instructor, lang="es") as admin:
        bad = admin.put("/api/settings", json={"deadline": "mañana"})
        assert bad.status_code == 400
        detail = bad.json()["detail"]
        assert translations("es").gettext(MESSAGES["deadline"]) in detail
        assert "isoformat" not in detail
        ok = admin.put(
            "/api/settings", json={"memory_limit": "3G", "deadline": "2030-01-01T10:00+02:00"}
        )
        assert ok.status_code == 200, ok.text
        assert ok.json()["memory_limit"] == 3 * 1024**3
        assert ok.json()["deadline"] == "2030-01-01T08:00"
        admin.put("/api/settings", json={"memory_limit": "2G", "deadline": ""})


# -- 7. CSRF -----------------------------------------------------------------------------------
def test_csrf_failure_is_translated_json(server):
    with server.client(lang="es") as browser:
        browser.get(f"/login/{server.tokens['hal']}")
        r = browser.post("/api/submissions", files=[("files", ("blocks.py", b"x"))])
        assert r.status_code == 403
        assert r.json() == {
            "detail": translations("es").gettext(REFUSALS["csrf"]),
            "code": "csrf",
            "language": "es",
        }


# -- 10. help ----------------------------------------------------------------------------------
def test_grade_help_points_to_the_service_commands_help():
    from grader import cli

    text = " ".join(CliRunner().invoke(cli.main, ["--help"]).output.split())
    for command in ("serve", "roster", "submit"):
        assert f"grade {command} --help" in text
    roster_help = " ".join(
        CliRunner().invoke(commands.service, ["roster", "--help"]).output.split()
    )
    assert "remove" in roster_help


# -- 9. class overview -------------------------------------------------------------------------
def test_class_overview_shows_names_next_to_ids():
    from grader.report import render_index

    doc = {"metadata": {"submission": "ana"}, "exercises": [], "score": 0, "max_score": 0}
    assert "ana · Ana Muñoz" in render_index([doc], [], names={"ana": "Ana Muñoz"})
    assert "ana ·" not in render_index([doc], [])


def test_roster_links_output_never_runs_as_a_spreadsheet_formula(tmp_path):
    """Red-team: the links CSV goes to a spreadsheet too; a name from the roster
    that starts like a formula is written as text."""
    from grader.service import roster
    from grader.service.database import open_data
    from grader.service.models import Learner

    _data, _engine, Session_ = open_data(tmp_path / "d")
    with Session_.begin() as s:
        s.add(Learner(id="eve", name='=HYPERLINK("http://x","y")', email="@x", role="learner"))
    rows = list(csv.reader(io.StringIO(roster.links(Session_, "http://127.0.0.1:8000"))))
    assert rows[1][:3] == ["eve", '\'=HYPERLINK("http://x","y")', "'@x"]
    assert rows[1][4].startswith("http://127.0.0.1:8000/login/")
