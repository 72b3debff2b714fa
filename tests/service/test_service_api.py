"""The course service against a real ``grade serve`` process: uploads, states,
results equal to the command line's, refusals in both languages, access."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import subprocess
import zipfile

import pytest

from grader.i18n import translations
from grader.service.refusals import MESSAGES

from .conftest import SOLUTIONS, cheap_files, copy_solutions, grade_cmd, upload

VARYING = {"execution_time", "wall_time", "graded_at", "cache_key"}


def normalized(doc):
    """A results document without what differs between two gradings of the same
    files: times (and the cache key, which covers the grader's settings)."""
    if isinstance(doc, dict):
        return {k: normalized(v) for k, v in doc.items() if k not in VARYING}
    if isinstance(doc, list):
        return [normalized(v) for v in doc]
    return doc


def expected(key: str, lang: str, **params) -> str:
    return translations(lang).gettext(MESSAGES[key]).format(**params)


def refused(response, status: int, key: str, lang: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == key
    assert body["language"] == lang
    if "{" not in MESSAGES[key]:
        assert body["detail"] == expected(key, lang)


def test_every_refusal_has_a_spanish_translation():
    for key, message in MESSAGES.items():
        assert translations("es").gettext(message) != message, key


def stored(server) -> tuple[int, int]:
    """(upload folders on disk, submissions in the database)"""
    folders = len(os.listdir(server.data / "submissions"))
    with server.client(server.instructor) as c:
        return folders, len(c.get("/api/submissions").json())


# -- upload, states, results ------------------------------------------------------------
def test_submit_states_and_results_equal_the_command_line(server, tmp_path):
    """grade submit uploads, sees queued then grading, prints the local summary;
    the served results.json and report.html are grade's for the same files."""
    folder = copy_solutions(tmp_path / "ana")
    run = subprocess.run(
        grade_cmd("submit", "--server", server.url, "--token", server.tokens["ana"], str(folder)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert "queued (position 1)" in run.stderr and "grading" in run.stderr
    assert "ana: 93 / 93 points" in run.stdout
    url = re.search(r"Report: (\S+)", run.stdout).group(1)
    assert url.startswith(f"{server.url}/submissions/") and server.tokens["ana"] not in url
    sid = int(url.rsplit("/", 1)[1])
    with server.client() as browser:  # the printed address, signed in by the link
        outside = browser.get(url)
        assert outside.status_code == 401
        assert expected("signin", "en").split(":")[0] in outside.text
        browser.get(f"/login/{server.tokens['ana']}")
        page = browser.get(url)
        assert page.status_code == 200 and f"/api/submissions/{sid}/report.html" in page.text
    with server.client(server.tokens["ana"]) as c:
        sub = c.get(f"/api/submissions/{sid}").json()
        served = c.get(f"/api/submissions/{sid}/results.json").json()
        report = c.get(f"/api/submissions/{sid}/report.html")
    assert sub["state"] == "done" and sub["score"] == 93 and sub["max_score"] == 93
    assert {
        "id",
        "learner",
        "state",
        "score",
        "max_score",
        "submitted_at",
        "late",
        "position",
    } <= set(sub)
    assert report.status_code == 200
    csp = report.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp
    # the same files graded by the command line
    out = tmp_path / "out"
    local = subprocess.run(
        grade_cmd(str(folder), "--out", str(out), "--device", "cpu"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert local.returncode == 0, local.stderr
    cli = json.loads((out / "ana" / "results.json").read_text())
    assert normalized(served) == normalized(cli)
    cli_report = (out / "ana" / "report.html").read_text()
    differing = [
        (a, b) for a, b in zip(report.text.splitlines(), cli_report.splitlines()) if a != b
    ]
    assert len(report.text.splitlines()) == len(cli_report.splitlines())
    # only the lines that show when it was graded and how long it took
    assert len(differing) <= 4, differing


def test_history_newest_first_with_queue_positions(server):
    """Three learners submit at once: queued ones show their positions; each
    sees only their own; the instructor sees all, newest first."""
    ids = {}
    for who in ("ben", "cat", "dan"):
        with server.client(server.tokens[who]) as c:
            r = upload(c, cheap_files())
            assert r.status_code == 202, r.text
            ids[who] = r.json()["id"]
            assert r.headers["location"] == f"/api/submissions/{ids[who]}"
    with server.client(server.instructor) as c:
        everything = c.get("/api/submissions").json()
    assert [s["id"] for s in everything] == sorted((s["id"] for s in everything), reverse=True)
    positions = [s["position"] for s in everything if s["state"] == "queued"]
    assert positions == sorted(positions, reverse=True) and all(p >= 1 for p in positions)
    assert positions, "with one worker, two of three cheap submissions wait"
    for who, sid in ids.items():
        with server.client(server.tokens[who]) as c:
            mine = c.get("/api/submissions").json()
        assert {s["learner"] for s in mine} == {who}
        doc = server.wait(server.tokens[who], sid)
        assert doc["state"] == "done" and doc["score"] == 0 and doc["position"] is None


# -- refusals -----------------------------------------------------------------------------
def _zip(entries: list[tuple[zipfile.ZipInfo | str, bytes]], **kw) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, **kw) as z:
        for info, data in entries:
            z.writestr(info, data)
    return buf.getvalue()


def _symlink_zip() -> bytes:
    info = zipfile.ZipInfo("blocks.py")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return _zip([(info, b"/etc/passwd"), ("devices.py", b"x = 1\n")])


BAD_UPLOADS = {
    # name: (files, status, key)
    "dotdot": (
        {"work.zip": _zip([("../../evil.py", b"x=1"), ("blocks.py", b"x=1")])},
        400,
        "outside",
    ),
    "absolute": (
        {"work.zip": _zip([("/tmp/evil.py", b"x=1"), ("blocks.py", b"x=1")])},
        400,
        "outside",
    ),
    "zip_bomb": ({"bomb.zip": _zip([("blocks.py", b"\0" * (50 * 1024 * 1024))])}, 413, "expands"),
    "symlink": ({"link.zip": _symlink_zip()}, 400, "link"),
    "not_a_zip": ({"work.zip": b"PK\x03\x04 this is not an archive"}, 400, "bad_zip"),
    "empty_zip": ({"work.zip": _zip([])}, 400, "empty"),
    "no_exercise": ({"notes.txt": b"hello", "main.py": b"print(1)"}, 422, "no_exercise"),
    "too_large": ({"blocks.py": b"#" * (1024 * 1024 + 10)}, 413, "too_large"),
    "too_many_files": (
        {f"f{i}.py": b"" for i in range(201)} | {"blocks.py": b""},
        413,
        "too_many_files",
    ),
    "traversal_name": ({"../blocks.py": b"x=1"}, 400, "outside"),
}


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("case", sorted(BAD_UPLOADS))
def test_bad_uploads_refused_with_nothing_stored(server, case, lang):
    files, status, key = BAD_UPLOADS[case]
    before = stored(server)
    with server.client(server.tokens["gus"], lang=lang) as c:
        r = upload(c, files)
    refused(r, status, key, lang)
    if key in ("too_large", "expands"):
        assert r.json()["detail"] == expected(key, lang, limit="1 MiB")
    elif key == "no_exercise":
        assert r.json()["detail"] == expected(
            key,
            lang,
            files=", ".join(
                (
                    "blocks.py",
                    "layers.py",
                    "parameters.py",
                    "initializers.py",
                    "storage.py",
                    "devices.py",
                )
            ),
        )
    assert stored(server) == before


@pytest.mark.parametrize("lang", ["en", "es"])
def test_empty_and_huge_bodies(server, lang):
    before = stored(server)
    with server.client(server.tokens["gus"], lang=lang) as c:
        r = c.post("/api/submissions", files=[("files", ("", b""))])
        refused(r, 400, "empty", lang)
        assert r.json()["detail"] == expected("empty", lang)
        r = c.post("/api/submissions", data={"note": "no files"})
        refused(r, 400, "empty", lang)
        try:
            r = upload(c, {"blocks.py": b"#" * (50 * 1024 * 1024)})
            refused(r, 413, "too_large", lang)
        except Exception as exc:  # the server may close before the whole body is sent
            assert "connection" in type(exc).__name__.lower() or "write" in str(exc).lower()
    assert stored(server) == before


@pytest.mark.parametrize("lang", ["en", "es"])
def test_bad_or_missing_token(server, lang):
    for token in (None, "nonsense", server.tokens["ana"][:-2] + "xx", "a.b"):
        key = "signin" if token is None else "token"  # no credential: how to sign in
        with server.client(token, lang=lang) as c:
            for r in (c.get("/api/submissions"), upload(c, cheap_files())):
                refused(r, 401, key, lang)
                assert r.json()["detail"] == expected(key, lang)
                assert r.headers["www-authenticate"] == "Bearer"


def test_in_flight_and_hourly_limits_in_both_languages(server):
    with server.client(server.tokens["cat"], lang="es") as c:
        first = upload(c, cheap_files())
        assert first.status_code == 202
        before = stored(server)
        r = upload(c, cheap_files())
        refused(r, 429, "in_flight", "es")
        assert r.json()["detail"] == expected("in_flight", "es")
        assert stored(server) == before
    with server.client(server.tokens["cat"], lang="en") as c:
        refused(upload(c, cheap_files()), 429, "in_flight", "en")
    server.wait(server.tokens["cat"], first.json()["id"])
    with server.client(server.instructor) as admin:
        assert admin.put("/api/settings", json={"per_hour": 2}).status_code == 200
        try:
            for lang in ("en", "es"):
                with server.client(server.tokens["cat"], lang=lang) as c:
                    r = upload(c, cheap_files())
                    refused(r, 429, "per_hour", lang)
                    assert r.json()["detail"] == expected("per_hour", lang, count=2)
        finally:
            admin.put("/api/settings", json={"per_hour": 20})


def test_non_utf8_names_in_a_zip_are_graded_as_windows_1252(server):
    # as a zip made on Windows: the name's bytes in cp1252, without the UTF-8 flag
    zipped = _zip([("notas_aXo.py", b"x = 1\n"), ("devices.py", b"def broken(:\n")])
    zipped = zipped.replace(b"notas_aXo.py", "notas_año.py".encode("cp1252"))
    with server.client(server.tokens["fox"]) as c:
        r = upload(c, {"trabajo.zip": zipped})
        assert r.status_code == 202, r.text
        doc = server.wait(server.tokens["fox"], r.json()["id"])
        results = c.get(doc["results_url"]).json()
    assert "notas_año.py" in results["metadata"]["files"]
    assert (
        "notas_año.py" in results["output"]
        or any("notas_año.py" in json.dumps(e) for e in results["exercises"])
        or "Windows" in json.dumps(results)
    )


def graded(server, who: str, files: dict[str, bytes] | None = None, *, fresh: bool = False) -> dict:
    """A graded submission of ``who`` (one is made when there is none, or
    when ``fresh``)."""
    with server.client(server.tokens[who]) as c:
        if not fresh:
            for sub in c.get("/api/submissions").json():
                if sub["state"] == "done":
                    return sub
        r = upload(c, files or cheap_files())
        assert r.status_code == 202, r.text
    return server.wait(server.tokens[who], r.json()["id"])


# -- access ------------------------------------------------------------------------------
def test_access_control_on_every_path(server):
    """Learner A on learner B's submission: refused; no token: refused;
    instructor: everything."""
    a, b = "ana", "ben"
    mine, theirs = graded(server, a)["id"], graded(server, b)["id"]
    per_submission = [
        "/api/submissions/{id}",
        "/api/submissions/{id}/results.json",
        "/api/submissions/{id}/report.html",
        "/submissions/{id}",
    ]
    instructor_only = [
        ("GET", "/api/gradebook.csv"),
        ("GET", "/api/settings"),
        ("PUT", "/api/settings"),
        ("POST", "/api/regrade-latest"),
        ("POST", f"/api/submissions/{mine}/regrade"),
        ("GET", "/instructor"),
        ("GET", "/instructor/class/"),
        ("GET", f"/instructor/learners/{b}"),
        ("GET", "/instructor/settings"),
        ("GET", f"/instructor/class/{b}/report.html"),
    ]
    with server.client(server.tokens[a]) as c:
        for path in per_submission:
            assert c.get(path.format(id=mine)).status_code == 200, path
            assert c.get(path.format(id=theirs)).status_code == 404, path
        for method, path in instructor_only:
            assert c.request(method, path, json={}).status_code == 403, path
        assert {s["learner"] for s in c.get("/api/submissions").json()} == {a}
        assert {s["learner"] for s in c.get(f"/api/submissions?learner={b}").json()} == {a}
    with server.client(None) as c:
        for path in per_submission:
            assert c.get(path.format(id=mine)).status_code == 401, path
        for method, path in instructor_only + [
            ("GET", "/api/submissions"),
            ("POST", "/api/submissions"),
            ("GET", "/api/me"),
        ]:
            assert c.request(method, path).status_code == 401, path
        assert c.get("/").status_code == 401
    with server.client(server.instructor) as c:
        for path in per_submission:
            assert c.get(path.format(id=theirs)).status_code == 200, path
        for method, path in instructor_only:
            if method == "GET":
                assert c.get(path, follow_redirects=True).status_code == 200, path
        assert {s["learner"] for s in c.get("/api/submissions").json()} >= {a, b}


# -- pages ----------------------------------------------------------------------------------
def test_pages_login_language_and_csrf(server):
    graded(server, "ana")
    with server.client() as c:
        r = c.get(f"/login/{server.tokens['ana']}")
        assert r.status_code == 303 and r.headers["location"] == "/"
        page = c.get("/")
        assert page.status_code == 200
        assert "webkitdirectory" in page.text and 'class="drop"' in page.text
        assert "Submit your exercises" in page.text
        assert "nonce-" in page.headers["content-security-policy"]
        c.get("/lang/es?next=/")
        page = c.get("/")
        assert translations("es").gettext("Submit your exercises") in page.text
        assert 'lang="es"' in page.text
        # a form post with the session cookie needs the CSRF header
        r = c.post("/api/submissions", files=[("files", ("blocks.py", b"x"))])
        assert r.status_code == 403
        # the bearer API is not cookie-authenticated: no CSRF check
        assert c.get("/api/me").json()["id"] == "ana"
        sid = c.get("/api/submissions").json()[0]["id"]
        assert c.get(f"/submissions/{sid}").status_code == 200
        assert c.get("/login/not-a-token").status_code == 401
    with server.client() as c:
        c.get(f"/login/{server.instructor}")
        page = c.get("/instructor")
        assert page.status_code == 200 and "ana" in page.text
        overview = c.get("/instructor/class/")
        assert overview.status_code == 200 and "ana · Ana Test" in overview.text  # and name
        csrf = c.cookies.get("csrftoken")
        assert c.post("/api/regrade-latest").status_code == 403
        assert csrf and c.get("/instructor/settings").status_code == 200


def test_gradebook_policy_late_and_regrade(server):
    """dan: a better submission, then a worse one: best and latest pick each."""
    good = graded(
        server, "dan", {"devices.py": (SOLUTIONS / "devices.py").read_bytes()}, fresh=True
    )
    low = graded(server, "dan", fresh=True)
    assert good["score"] > low["score"] == 0
    with server.client(server.instructor) as admin:

        def row(who):
            text = admin.get("/api/gradebook.csv").text
            assert text.startswith("\ufefflearner,name,")  # a BOM for Excel
            lines = list(__import__("csv").DictReader(io.StringIO(text[1:])))
            return next(line for line in lines if line["learner"] == who)

        assert row("dan")["total"] == f"{good['score']:g}"  # best
        assert row("dan")["submission_id"] == str(good["id"])
        assert admin.put("/api/settings", json={"policy": "latest"}).status_code == 200
        assert row("dan")["total"] == "0" and row("dan")["late"] == ""
        assert admin.put("/api/settings", json={"deadline": "2020-01-01T00:00"}).status_code == 200
        assert row("dan")["late"] == "yes"
        assert row("dan")["name"] == "Dan Test" and "submission" not in row("dan")
        assert admin.get(f"/api/submissions/{low['id']}").json()["late"] is True
        bad = admin.put("/api/settings", json={"policy": "worst"})
        assert bad.status_code == 400
        admin.put("/api/settings", json={"policy": "best", "deadline": ""})
        assert row("dan")["late"] == ""
        # regrade keeps the old results
        assert admin.post(f"/api/submissions/{low['id']}/regrade").json()["queued"] == 1
        again = server.wait(server.instructor, low["id"])
        assert again["attempts"] == 2 and again["state"] == "done"
    folders = os.listdir(server.data / "results" / str(low["id"]))
    assert len(folders) == 2
    for folder in folders:
        assert (server.data / "results" / str(low["id"]) / folder / "results.json").is_file()
