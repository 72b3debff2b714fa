"""The web service: the JSON API under /api/ (OpenAPI at /api/openapi.json)
and the learner's and instructor's pages.

Authentication: ``Authorization: Bearer TOKEN``, or the session cookie that a
personal link (``/login/<token>``) sets.  Requests that carry the session
cookie and change something need the CSRF header (double-submit cookie,
starlette-csrf); bearer-token clients are not exposed to CSRF.  Reports are
served with a Content-Security-Policy that lets only the grader's own script run.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import asdict, fields
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import ClientDisconnect
from starlette_csrf import CSRFMiddleware

from ..assignment import default as default_assignment
from ..i18n import LANGUAGES, translations
from ..report import TEMPLATES as REPORT_TEMPLATES
from ..report import render_index
from . import gradebook as gradebook_mod
from . import settings as settings_mod
from . import store, tokens, uploads
from .claims import DatabaseQueue
from .database import DataFolder
from .models import DEFAULT_ASSIGNMENT, Learner, Result, Submission
from .refusals import Refused
from .views import describe, dumps, is_late, positions, report_path, results_doc

TEMPLATES = Path(__file__).resolve().parent / "templates"
SESSION_COOKIE = "grader_session"
BODY_OVERHEAD = 256 * 1024  # multipart framing and field names, beyond the files
MAX_ID = 2**63 - 1  # the database's INTEGER: a larger id is no submission


def _script_hash(path: Path) -> str:
    digest = hashlib.sha256(path.read_text(encoding="utf-8").encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    f"script-src {_script_hash(REPORT_TEMPLATES / 'report.js')}; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
PAGE_CSP = (
    "default-src 'self'; style-src 'unsafe-inline'; script-src 'self' 'nonce-{nonce}'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class Service:
    def __init__(
        self, data: DataFolder, Session_, *, lang: str, isolation_off: str | None, lease: float
    ) -> None:
        self.data = data
        self.Session = Session_
        self.lang = lang
        self.isolation_off = isolation_off  # why learner code is not isolated, or None
        self.queue = DatabaseQueue(Session_, lease=lease)


def _when(value: str | None) -> str:
    """'2026-11-28T12:07:50.643672Z' -> '2026-11-28 12:07:50 UTC'"""
    return f"{value[:10]} {value[11:19]} UTC" if value else ""


def _pages_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    return env


def create_app(service: Service) -> FastAPI:
    app = FastAPI(
        title="torch-course-grader service",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )  # Swagger UI would load a CDN script
    secret = _secret(service.data)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        same_site="lax",
        max_age=60 * 60 * 24 * 120,
    )

    class CSRF(CSRFMiddleware):
        """A failed CSRF check answers like every refusal: JSON, translated (the
        pages' script reads ``detail``)."""

        def _get_error_response(self, request: Request) -> Response:
            lang = lang_of(request)
            return JSONResponse(
                {"detail": Refused(403, "csrf").message(lang), "code": "csrf", "language": lang},
                status_code=403,
            )

    app.add_middleware(
        CSRF, secret=secret, sensitive_cookies={SESSION_COOKIE}, cookie_samesite="strict"
    )
    env = _pages_env()
    receiving: dict[str, int] = {}  # learner id -> uploads being received (event loop only)

    # -- helpers --------------------------------------------------------------------
    def lang_of(request: Request, user: Learner | None = None) -> str:
        asked = request.query_params.get("lang") or request.cookies.get("lang")
        if asked in LANGUAGES:
            return asked
        if user is not None and user.language in LANGUAGES:
            return user.language
        for part in request.headers.get("accept-language", "").split(","):
            code = part.split(";")[0].strip().lower()[:2]
            if code in LANGUAGES:
                return code
        return service.lang

    def user_of(request: Request) -> Learner | None:
        auth = request.headers.get("authorization", "")
        with service.Session() as session:
            if auth.lower().startswith("bearer "):
                return tokens.verify(session, auth[7:].strip())
            sess = request.scope.get("session") or {}
            if "token" in sess:
                return tokens.verify(session, sess["token"])
        return None

    def presented(request: Request) -> bool:
        """Whether the request carries a credential at all (a token or a session)."""
        if request.headers.get("authorization", "").lower().startswith("bearer "):
            return True
        return "token" in (request.scope.get("session") or {})

    def need_user(request: Request) -> Learner:
        user = user_of(request)
        if user is None:
            raise Refused(401, "token" if presented(request) else "signin")
        return user

    def need_instructor(request: Request) -> Learner:
        user = need_user(request)
        if user.role != "instructor":
            raise Refused(403, "instructor_only")
        return user

    def own_submission(request: Request, sid: int, session) -> tuple[Learner, Submission]:
        user = need_user(request)
        sub = session.get(Submission, sid) if 0 < sid <= MAX_ID else None
        if sub is None:
            raise Refused(404, "not_found")
        if user.role != "instructor" and sub.learner_id != user.id:
            raise Refused(404, "not_found")  # not even whether it exists
        return user, sub

    def wants_html(request: Request) -> bool:
        return not request.url.path.startswith("/api/")

    def page(
        request: Request, name: str, user: Learner | None, status: int = 200, **ctx
    ) -> HTMLResponse:
        lang = lang_of(request, user)
        catalog = translations(lang)
        env.install_gettext_callables(catalog.gettext, catalog.ngettext, newstyle=True)
        nonce = secrets.token_urlsafe(16)
        html = env.get_template(name).render(
            lang=lang,
            user=user,
            nonce=nonce,
            isolation_off=service.isolation_off,
            csrf=request.cookies.get("csrftoken", ""),
            languages=LANGUAGES,
            path=ctx.pop("here", request.url.path),
            **ctx,
        )
        return HTMLResponse(
            html,
            status_code=status,
            headers={
                "Content-Security-Policy": PAGE_CSP.format(nonce=nonce),
                "Cache-Control": "no-store",
            },
        )

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused):
        user = None
        try:
            user = user_of(request)
        except Exception:  # noqa: BLE001
            pass
        lang = lang_of(request, user)
        message = exc.message(lang)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if wants_html(request):
            return page(request, "message.html.j2", user, status=exc.status, message=message)
        return JSONResponse(
            {"detail": message, "code": exc.key, "language": lang},
            status_code=exc.status,
            headers=headers,
        )

    # -- API ------------------------------------------------------------------------
    upload_schema = {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "files": {
                                "type": "array",
                                "items": {"type": "string", "format": "binary"},
                                "description": "the exercise files (their file names "
                                "may hold a folder path), or one .zip",
                            }
                        },
                    }
                }
            },
        }
    }

    @app.post(
        "/api/submissions",
        status_code=202,
        openapi_extra=upload_schema,
        summary="Submit files or one .zip; graded in the background",
    )
    async def submit(request: Request):
        def admit() -> tuple[Learner, object]:
            user = need_user(request)
            with service.Session() as session:
                settings = settings_mod.load(session)
                store.check_admission(session, user.id, settings, DEFAULT_ASSIGNMENT)
            return user, settings

        def accept(user: Learner, settings, parts) -> dict:
            upload = uploads.from_parts(parts, settings)
            sub = store.create(
                service.Session, service.data, user.id, upload, settings, lang_of(request, user)
            )
            with service.Session() as session:
                return describe(session, session.get(Submission, sub.id), settings)

        # refused before the body is read: a bad token or a learner over a limit
        user, settings = await run_in_threadpool(admit)
        # an upload being received counts as in flight: its body is held in
        # memory, so a learner cannot open hundreds of slow uploads at once
        if receiving.get(user.id, 0) >= settings.in_flight:
            raise Refused(429, "in_flight")
        receiving[user.id] = receiving.get(user.id, 0) + 1
        try:
            parts = await _read_files(request, settings)
            body = await run_in_threadpool(accept, user, settings, parts)
        finally:
            receiving[user.id] -= 1
            if not receiving[user.id]:
                del receiving[user.id]
        return JSONResponse(
            body, status_code=202, headers={"Location": f"/api/submissions/{body['id']}"}
        )

    @app.get("/api/submissions", summary="Your submissions (all for the instructor), newest first")
    def list_submissions(request: Request, learner: str | None = None, limit: int = 500):
        user = need_user(request)
        with service.Session() as session:
            settings = settings_mod.load(session)
            q = select(Submission).order_by(Submission.id.desc()).limit(max(1, min(limit, 5000)))
            if user.role != "instructor":
                q = q.where(Submission.learner_id == user.id)
            elif learner:
                q = q.where(Submission.learner_id == learner)
            queue = positions(session)
            return [describe(session, s, settings, queue) for s in session.scalars(q)]

    @app.get("/api/submissions/{sid}", summary="One submission")
    def get_submission(request: Request, sid: int):
        with service.Session() as session:
            _user, sub = own_submission(request, sid, session)
            return describe(session, sub, settings_mod.load(session))

    def _result(request: Request, sid: int) -> tuple[Submission, Result]:
        with service.Session() as session:
            _user, sub = own_submission(request, sid, session)
            result = session.get(Result, sub.result_id) if sub.result_id else None
        if result is None:
            raise Refused(409, "not_ready")
        return sub, result

    @app.get("/api/submissions/{sid}/results.json", summary="The grader's results.json")
    def get_results(request: Request, sid: int):
        _sub, result = _result(request, sid)
        return Response(dumps(results_doc(service.data, result)), media_type="application/json")

    @app.get(
        "/api/submissions/{sid}/report.html",
        summary="The grader's report.html",
        response_class=HTMLResponse,
    )
    def get_report(request: Request, sid: int):
        _sub, result = _result(request, sid)
        html = report_path(service.data, result).read_text(encoding="utf-8")
        return HTMLResponse(
            html,
            headers={"Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff"},
        )

    @app.post(
        "/api/submissions/{sid}/regrade",
        status_code=202,
        summary="Grade a submission again (instructor; old results are kept)",
    )
    def regrade_one(request: Request, sid: int):
        need_instructor(request)
        with service.Session() as session:
            if not 0 < sid <= MAX_ID or session.get(Submission, sid) is None:
                raise Refused(404, "not_found")
        return {"queued": service.queue.regrade([sid])}

    @app.post(
        "/api/regrade-latest",
        status_code=202,
        summary="Grade every learner's latest submission again (instructor)",
    )
    def regrade_latest(request: Request):
        need_instructor(request)
        with service.Session() as session:
            latest = {}
            for s in session.scalars(select(Submission).order_by(Submission.id)):
                latest[s.learner_id] = s.id
        return {"queued": service.queue.regrade(list(latest.values()))}

    @app.get("/api/gradebook.csv", summary="The gradebook (instructor)")
    def get_gradebook(request: Request):
        need_instructor(request)
        with service.Session() as session:
            text = gradebook_mod.gradebook(session, service.data, settings_mod.load(session))
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="gradebook.csv"'},
        )

    @app.get("/api/settings", summary="Deadline, gradebook policy and limits (instructor)")
    def get_settings(request: Request):
        need_instructor(request)
        with service.Session() as session:
            return asdict(settings_mod.load(session))

    @app.put("/api/settings", summary="Change settings (instructor)")
    async def put_settings(request: Request):
        user = need_instructor(request)
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("a JSON object is expected")
        except ValueError as exc:
            raise Refused(400, "bad_request", why=str(exc)[:200]) from None
        with service.Session.begin() as session:
            current = settings_mod.load(session)
            try:
                for f in fields(current):
                    if f.name in body:
                        setattr(current, f.name, settings_mod.convert(f.name, body[f.name]))
                settings_mod.save(session, current)
            except settings_mod.SettingError as exc:
                raise Refused(400, "settings", why=exc.message(lang_of(request, user))) from None
            return asdict(current)

    @app.get("/api/me", summary="Who the token belongs to")
    def me(request: Request):
        user = need_user(request)
        return {
            "id": user.id,
            "name": user.name,
            "role": user.role,
            "language": lang_of(request, user),
        }

    # -- pages ----------------------------------------------------------------------
    def home_of(user: Learner) -> str:
        return "/instructor" if user.role == "instructor" else "/"

    @app.get("/login/{token}", include_in_schema=False)
    def login(request: Request, token: str):
        with service.Session() as session:
            user = tokens.verify(session, token)
        if user is None:
            raise Refused(401, "token")
        sess = request.scope.get("session") or {}
        if "token" in sess and sess["token"] != token:
            with service.Session() as session:
                current = tokens.verify(session, sess["token"])
            if current is not None and current.id != user.id:
                # someone else's link (sent to this browser, or opened by mistake): a
                # link alone never switches the account a signed-in person submits as
                return page(
                    request,
                    "switch.html.j2",
                    current,
                    target=user,
                    token=token,
                    next=home_of(user),
                    stay=home_of(current),
                    here="/",
                )
        request.session.clear()
        request.session["token"] = token
        return RedirectResponse(home_of(user), 303)

    @app.post("/login", include_in_schema=False)
    async def login_confirmed(request: Request):
        """The switch to another person's link, confirmed on the page (a form
        post: CSRF-protected like every other)."""
        try:
            token = str((await request.json())["token"])
        except (ValueError, KeyError, TypeError):
            raise Refused(401, "token") from None
        with service.Session() as session:
            user = tokens.verify(session, token)
        if user is None:
            raise Refused(401, "token")
        request.session.clear()
        request.session["token"] = token
        return {"id": user.id, "next": home_of(user)}

    @app.get("/logout", include_in_schema=False)
    def logout(request: Request):
        request.session.clear()
        return RedirectResponse("/", 303)

    @app.get("/lang/{code}", include_in_schema=False)
    def choose_language(request: Request, code: str):
        if code not in LANGUAGES:
            code = service.lang
        user = user_of(request)
        if user is not None:
            with service.Session.begin() as session:
                session.get(Learner, user.id).language = code
        back = request.query_params.get("next", "/")
        if not back.startswith("/") or back.startswith("//"):
            back = "/"
        response = RedirectResponse(back, 303)
        response.set_cookie("lang", code, max_age=60 * 60 * 24 * 365, samesite="lax")
        return response

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request):
        user = user_of(request)
        if user is None:
            return page(
                request,
                "message.html.j2",
                None,
                status=401,
                message=translations(lang_of(request)).gettext(
                    "Open the personal link your instructor sent you to sign in."
                ),
            )
        with service.Session() as session:
            settings = settings_mod.load(session)
            subs = list(
                session.scalars(
                    select(Submission)
                    .where(Submission.learner_id == user.id)
                    .order_by(Submission.id.desc())
                )
            )
            queue = positions(session)
            rows = [describe(session, s, settings, queue) for s in subs]
        busy = any(r["state"] in ("queued", "grading") for r in rows)
        return page(
            request,
            "learner.html.j2",
            user,
            rows=rows,
            busy=busy,
            files=default_assignment().file_names,
            settings=settings,
            deadline=settings.deadline,
        )

    @app.get("/submissions/{sid}", response_class=HTMLResponse, include_in_schema=False)
    def submission_page(request: Request, sid: int):
        with service.Session() as session:
            user, sub = own_submission(request, sid, session)
            row = describe(session, sub, settings_mod.load(session))
        return page(
            request, "submission.html.j2", user, row=row, busy=row["state"] in ("queued", "grading")
        )

    @app.get("/instructor", response_class=HTMLResponse, include_in_schema=False)
    def instructor_page(request: Request):
        user = need_instructor(request)
        with service.Session() as session:
            settings = settings_mod.load(session)
            learners = list(
                session.scalars(
                    select(Learner).where(Learner.role == "learner").order_by(Learner.id)
                )
            )
            subs = list(session.scalars(select(Submission).order_by(Submission.id.desc())))
            queue = positions(session)
            rows = [describe(session, s, settings, queue) for s in subs[:200]]
            picked = {lrn.id: (s, r) for lrn, s, r in gradebook_mod.chosen(session, settings)}
        counts: dict[str, int] = {}
        for s in subs:
            counts[s.learner_id] = counts.get(s.learner_id, 0) + 1
        people = [
            {
                "id": lrn.id,
                "name": lrn.name,
                "email": lrn.email,
                "count": counts.get(lrn.id, 0),
                "score": picked[lrn.id][1].score if lrn.id in picked else None,
                "max_score": picked[lrn.id][1].max_score if lrn.id in picked else None,
                "submission": picked[lrn.id][0].id if lrn.id in picked else None,
                "late": is_late(picked[lrn.id][0], settings) if lrn.id in picked else False,
            }
            for lrn in learners
        ]
        return page(
            request,
            "instructor.html.j2",
            user,
            rows=rows,
            people=people,
            settings=settings,
            queued=len(queue),
            refresh=10,
        )

    @app.get("/instructor/class/", response_class=HTMLResponse, include_in_schema=False)
    def class_overview(request: Request):
        user = need_instructor(request)
        with service.Session() as session:
            settings = settings_mod.load(session)
            picked = [
                (lrn, results_doc(service.data, r))
                for lrn, _s, r in gradebook_mod.chosen(session, settings)
            ]
        picked = [(lrn, d) for lrn, d in picked if d]
        docs = [d for _l, d in picked]
        names = {d.get("metadata", {}).get("submission", ""): lrn.name for lrn, d in picked}
        html = render_index(
            docs,
            [
                {"id": ex.id, "title": translations(lang_of(request, user)).gettext(ex.title)}
                for ex in default_assignment().exercises
            ],
            lang=lang_of(request, user),
            gradebook="/api/gradebook.csv",
            names=names,
        )
        return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_CSP, "Refresh": "10"})

    @app.get("/instructor/class/{learner}/report.html", include_in_schema=False)
    def class_report(request: Request, learner: str):
        need_instructor(request)
        with service.Session() as session:
            settings = settings_mod.load(session)
            for lrn, s, _r in gradebook_mod.chosen(session, settings):
                if lrn.id == learner:
                    return RedirectResponse(f"/api/submissions/{s.id}/report.html", 303)
        raise Refused(404, "not_found")

    @app.get("/instructor/learners/{learner}", response_class=HTMLResponse, include_in_schema=False)
    def learner_history(request: Request, learner: str):
        user = need_instructor(request)
        with service.Session() as session:
            person = session.get(Learner, learner)
            if person is None:
                raise Refused(404, "not_found")
            settings = settings_mod.load(session)
            queue = positions(session)
            rows = [
                describe(session, s, settings, queue)
                for s in session.scalars(
                    select(Submission)
                    .where(Submission.learner_id == learner)
                    .order_by(Submission.id.desc())
                )
            ]
        return page(
            request,
            "history.html.j2",
            user,
            person=person,
            rows=rows,
            busy=any(r["state"] in ("queued", "grading") for r in rows),
        )

    @app.get("/instructor/settings", response_class=HTMLResponse, include_in_schema=False)
    def settings_page(request: Request):
        user = need_instructor(request)
        with service.Session() as session:
            settings = settings_mod.load(session)
        return page(request, "settings.html.j2", user, settings=asdict(settings))

    return app


async def _read_files(request: Request, settings) -> list[tuple[str, bytes]]:
    """The uploaded files, reading at most the size limit (and framing) of the
    body: a larger body is refused before it is all received."""
    limit = settings.max_upload + max(BODY_OVERHEAD, settings.max_upload // 4)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Refused(413, "too_large", limit=settings.max_upload)
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise Refused(413, "too_large", limit=settings.max_upload)
    except ClientDisconnect:
        raise Refused(400, "bad_request", why="the upload was interrupted") from None
    replay = [bytes(body)]

    async def receive():
        return {"type": "http.request", "body": replay.pop() if replay else b"", "more_body": False}

    copy = Request(request.scope, receive)
    try:
        form = await copy.form(
            max_files=settings.max_files + 1, max_fields=50, max_part_size=settings.max_upload + 1
        )
    except Exception as exc:  # noqa: BLE001 - malformed multipart: the client's fault
        if "Too many files" in str(exc):
            raise Refused(413, "too_many_files", count=settings.max_files) from None
        if "Part exceeded" in str(exc):
            raise Refused(413, "too_large", limit=settings.max_upload) from None
        raise Refused(400, "bad_request", why=str(exc)[:200] or type(exc).__name__) from None
    parts = []
    try:
        for _key, value in form.multi_items():
            if hasattr(value, "read"):
                parts.append((value.filename or "", await value.read()))
    finally:
        await form.close()
    if not parts:
        raise Refused(400, "empty")
    return parts


def _secret(data: DataFolder) -> str:
    path = data.root / "secret.key"
    if not path.exists():
        key = secrets.token_urlsafe(48)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(key)
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text().strip()
