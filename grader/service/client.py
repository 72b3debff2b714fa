"""``grade submit``: upload a folder to the course service, wait for its
grading, print the same summary as a local run and the report's address."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from ..submission import read_folder


class Refusal(Exception):
    """The server refused the upload (4xx): one line why."""


class ServerFault(Exception):
    """The server failed."""


class Unreachable(Exception):
    """No answer from the server's address (nothing listening, no such host)."""


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail") or response.reason_phrase)
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase


def _check(response: httpx.Response) -> httpx.Response:
    if 400 <= response.status_code < 500:
        raise Refusal(f"{response.status_code}: {_detail(response)}")
    if response.status_code >= 500:
        raise ServerFault(f"{response.status_code}: {_detail(response)}")
    return response


def submit(
    server: str,
    token: str,
    folder: Path,
    *,
    lang: str | None,
    wait: float,
    on_state=lambda doc: None,
) -> tuple[dict, dict, str]:
    """(submission, results.json, report URL)."""
    base = server.rstrip("/")
    if folder.is_file() and folder.suffix.lower() == ".zip":
        parts = [("files", (folder.name, folder.read_bytes(), "application/zip"))]
    else:
        files = read_folder(folder).files
        parts = [
            ("files", (name, data, "application/octet-stream"))
            for name, data in sorted(files.items())
        ]
    headers = {"Authorization": f"Bearer {token}"}
    if lang:
        headers["Accept-Language"] = lang
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=60.0) as client:
            if not parts:  # let the server say why, in the learner's language
                parts = [("files", ("", b"", "application/octet-stream"))]
            sub = _check(client.post("/api/submissions", files=parts)).json()
            deadline = time.monotonic() + wait
            last = None
            while sub["state"] in ("queued", "grading"):
                if (sub["state"], sub.get("position")) != last:
                    on_state(sub)
                    last = (sub["state"], sub.get("position"))
                if time.monotonic() > deadline:
                    raise ServerFault(
                        f"submission {sub['id']} not graded after {wait:g} s "
                        f"(still {sub['state']}); see {base}/submissions/"
                        f"{sub['id']}"
                    )
                time.sleep(1.0)
                sub = _check(client.get(f"/api/submissions/{sub['id']}")).json()
            results = _check(client.get(f"/api/submissions/{sub['id']}/results.json")).json()
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise Unreachable(base) from exc
    except httpx.HTTPError as exc:
        raise ServerFault(f"{base}: {exc}") from None
    # the submission's page: it needs the browser session that the personal link opens
    # (no token in an address that ends up in terminal logs)
    return sub, results, f"{base}/submissions/{sub['id']}"
