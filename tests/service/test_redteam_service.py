"""Findings of a red-team pass on ``grade serve``: each test is an attack that
worked (a 500, a learner able to hold the server's memory or CPU) and must
now be refused cleanly."""

from __future__ import annotations

import csv
import io
import re
import socket
import subprocess
import time
import zipfile

import pytest

from grader.service import tokens
from grader.service.database import open_data
from grader.service.models import Learner

from .conftest import cheap_files, grade_cmd, upload

HUGE_ID = "99999999999999999999999"  # past SQLite's 64-bit INTEGER


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _count(server, who: str) -> int:
    with server.client(server.instructor) as c:
        return len(c.get("/api/submissions", params={"learner": who}).json())


def test_submission_id_past_64_bits_is_not_found_not_a_server_error(server):
    """An id too large for the database was a 500 (OverflowError in SQLite)."""
    with server.client(server.tokens["gus"]) as c:
        for path in (
            f"/api/submissions/{HUGE_ID}",
            f"/api/submissions/{HUGE_ID}/results.json",
            f"/api/submissions/{HUGE_ID}/report.html",
            f"/submissions/{HUGE_ID}",
        ):
            assert c.get(path).status_code == 404, path
    with server.client(server.instructor) as c:
        assert c.get(f"/api/submissions/{HUGE_ID}").status_code == 404
        assert c.post(f"/api/submissions/{HUGE_ID}/regrade").status_code == 404


@pytest.mark.parametrize(
    "names",
    [
        ["devices.py", "devices.py/extra.py"],  # a file, then a folder of the same name
        ["sub/x.py", "sub", "devices.py"],  # a folder, then a file of the same name
    ],
)
def test_file_and_folder_of_the_same_name_are_refused(server, names):
    """Both in one upload made the server fail writing them (500)."""
    before = _count(server, "gus")
    files = {name: b"def broken(:\n" for name in names}
    with server.client(server.tokens["gus"]) as c:
        r = upload(c, files)
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "duplicate"
        r = c.post("/api/submissions", files=[("files", ("work.zip", _zip(files)))])
        assert r.status_code == 400, r.text
    assert _count(server, "gus") == before


def test_overlong_file_name_is_refused(server):
    """A name longer than the file system allows was a 500."""
    before = _count(server, "gus")
    files = cheap_files({"a" * 300 + ".py": b"x = 1\n"})
    with server.client(server.tokens["gus"], lang="es") as c:
        r = upload(c, files)
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "name_too_long"
        assert r.json()["language"] == "es"
        r = c.post("/api/submissions", files=[("files", ("work.zip", _zip(files)))])
        assert r.status_code == 400, r.text
        deep = cheap_files({"/".join(["d" * 200] * 25) + "/x.py": b"x = 1\n"})
        r = c.post("/api/submissions", files=[("files", ("work.zip", _zip(deep)))])
        assert r.status_code == 400, r.text
    assert _count(server, "gus") == before


def _start_slow_upload(server, token: str) -> socket.socket:
    """An upload whose body is sent in part and then held, as a slow client does."""
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(
        (
            f"POST /api/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: multipart/form-data; boundary=BB\r\n"
            "Content-Length: 900000\r\n\r\n"
            '--BB\r\nContent-Disposition: form-data; name="files"; '
            'filename="devices.py"\r\n\r\n'
        ).encode()
        + b"#" * 200_000
    )
    return s


def test_one_learner_cannot_hold_many_uploads_in_memory(server):
    """Each upload being received is held in memory (up to the size limit): a
    learner who opened hundreds of slow uploads at once (the in-flight limit
    counted only stored submissions) grew the server by ~1.6 MB each. While
    one of theirs is being received, another is refused before its body is read."""
    token = server.tokens["hal"]
    before = _count(server, "hal")
    held = _start_slow_upload(server, token)
    try:
        time.sleep(1.0)
        with server.client(token) as c:
            r = upload(c, cheap_files())
            assert r.status_code == 429, r.text
            assert r.json()["code"] == "in_flight"
    finally:
        held.close()
    assert _count(server, "hal") == before
    # once the held upload is gone, the learner can submit again
    end = time.monotonic() + 10
    while True:
        with server.client(token) as c:
            r = upload(c, cheap_files())
        if r.status_code == 202 or time.monotonic() > end:
            break
        time.sleep(0.2)
    assert r.status_code == 202, r.text
    server.wait(token, r.json()["id"])


def test_wrong_secrets_for_a_known_lookup_stop_costing_scrypt(tmp_path, monkeypatch):
    """A learner knows their token's lookup id; every wrong secret sent with it
    cost one scrypt (~0.3 s of CPU here): 400 requests delayed everyone's pages
    by 12 s. After a few failures in a row the lookup is refused without
    hashing for a while; the right token works again once that has passed."""
    _data, engine, Session_ = open_data(tmp_path / "data")
    with Session_.begin() as session:
        session.add(Learner(id="zed", name="Zed", email="", role="learner"))
        session.flush()
        token = tokens.issue(session, "zed")
    calls = []
    real = tokens._hash
    monkeypatch.setattr(tokens, "_hash", lambda s, salt: calls.append(1) or real(s, salt))
    lookup = token.split(".")[0]
    with Session_() as session:
        for i in range(50):
            assert tokens.verify(session, f"{lookup}.wrong{i}") is None
    assert len(calls) <= tokens.MAX_FAILURES
    clock = [time.monotonic()]
    monkeypatch.setattr(tokens, "_clock", lambda: clock[0])
    with Session_() as session:
        assert tokens.verify(session, token) is None  # still cooling down
        clock[0] += tokens.COOL_DOWN + 1
        assert tokens.verify(session, token).id == "zed"
    engine.dispose()


def test_a_replaced_link_stops_working_at_once(server):
    """`grade roster links --learner ID` revokes the learner's old token, but
    the server remembered verified tokens for five minutes: a leaked link kept
    working (API and sign-in) after the instructor replaced it."""
    old = server.tokens["fox"]
    with server.client(old) as c:
        assert c.get("/api/me").status_code == 200  # verified, now remembered
    out = subprocess.run(
        grade_cmd(
            "roster",
            "links",
            "--base-url",
            "http://testserver",
            "--data",
            str(server.data),
            "--learner",
            "fox",
        ),
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    new = {row["id"]: row["token"] for row in csv.DictReader(io.StringIO(out))}["fox"]
    server.tokens["fox"] = new
    with server.client(old) as c:
        assert c.get("/api/me").status_code == 401
    with server.client() as c:
        assert c.get(f"/login/{old}", follow_redirects=False).status_code == 401
    with server.client(new) as c:
        assert c.get("/api/me").json()["id"] == "fox"


def test_no_page_runs_script_from_another_site(server):
    """/api/docs (FastAPI's Swagger UI) loaded swagger-ui-bundle.js from
    cdn.jsdelivr.net (any 5.x release) with no Content-Security-Policy: a
    script from another site ran on the grader's origin, with the power of the
    instructor's session (the CSRF cookie is readable by scripts). The
    OpenAPI document stays at /api/openapi.json."""
    pages = [
        "/api/docs",
        "/api/redoc",
        "/docs",
        "/",
        "/instructor",
        "/instructor/settings",
        "/instructor/class/",
    ]
    with server.client(server.instructor) as c:
        assert c.get("/api/openapi.json").status_code == 200
        for path in pages:
            r = c.get(path)
            if r.status_code == 404:
                continue
            scripts = re.findall(r"<script[^>]*\bsrc\s*=\s*[\"']?([^\"'\s>]+)", r.text, re.I)
            outside = [s for s in scripts if re.match(r"(https?:)?//", s)]
            assert not outside, (path, outside)


@pytest.mark.parametrize(
    "body",
    [
        b'{"time_limit": "nan"}',
        b'{"time_limit": "inf"}',
        b'{"time_limit": 1e999}',
        b'{"memory_limit": 1000000000000000000000000000000}',
    ],
)
def test_settings_refuse_values_no_limit_can_hold(server, body):
    """A time limit of NaN or infinity (or a limit past 64 bits) was saved,
    then every settings response failed (500: NaN is not JSON) until it was
    changed again through the API."""
    with server.client(server.instructor) as c:
        before = c.get("/api/settings").json()
        r = c.put("/api/settings", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "settings"
        after = c.get("/api/settings")
        assert after.status_code == 200
        assert after.json() == before
        assert c.get("/instructor/settings").status_code == 200


def test_another_persons_link_does_not_silently_switch_the_account(server):
    """Red-team (login CSRF): Bob sends Ana his personal link; Ana, signed in,
    opens it.  She is not switched to Bob's account behind her back: the page
    says whose link it is and switching takes a confirmed, CSRF-checked post."""
    ana, bob = server.tokens["gus"], server.tokens["hal"]
    with server.client() as c:
        assert c.get(f"/login/{ana}").status_code == 303
        page = c.get(f"/login/{bob}")
        assert page.status_code == 200 and 'data-api="/login"' in page.text
        assert c.get("/api/me").json()["id"] == "gus"  # still Ana
        assert c.post("/login", json={"token": bob}).status_code == 403  # no CSRF header
        assert c.get("/api/me").json()["id"] == "gus"
        confirmed = c.post(
            "/login", json={"token": bob}, headers={"x-csrftoken": c.cookies.get("csrftoken")}
        )
        assert confirmed.status_code == 200 and confirmed.json()["id"] == "hal"
        assert c.get("/api/me").json()["id"] == "hal"
        # her own link again, while signed in as herself: straight through
        assert c.get(f"/login/{bob}").status_code == 303
