"""Turns what a sandboxed run sent back into validated observations.

Nothing here executes or unpickles anything: frames are JSON and
safetensors, parsed by the grader's own, unpatched libraries.
"""

from __future__ import annotations

import json
import re
import signal
from dataclasses import dataclass, field

import torch
from safetensors.torch import load as load_safetensors

from .child import framing
from .steps import translate

EXIT_MEMORY = 71  # grader/child/runner.py: memory ran out outside a learner step


@dataclass
class Observation:
    """What one run of one probe (one exercise, one device) observed."""

    exercise: str
    device: str
    values: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    steps: list[tuple[str, str]] = field(default_factory=list)
    output: str = ""
    output_truncated: bool = False
    wall: float = 0.0
    problem: dict | None = None     # the run did not finish normally
    # the probe parameters the grader sent (set by the grader, never by the child)
    request: dict = field(default_factory=dict)

    def step_failed(self, name: str) -> bool:
        return name in self.errors

    def step_reached(self, name: str) -> bool:
        return any(n == name for n, _ in self.steps)


def parse_run(exercise: str, device: str, reply: dict, raw: bytes, workdir_hint: str = "") -> \
        Observation:
    obs = Observation(exercise, device)
    if "sandbox_error" in reply or "sandbox_died" in reply:
        died = "sandbox_died" in reply
        obs.problem = {"kind": "sandbox_died" if died else "sandbox",
                       "detail": str(reply.get("sandbox_died" if died else "sandbox_error"))[:500]}
        return obs
    obs.output = str(reply.get("output", ""))
    obs.output_truncated = bool(reply.get("output_truncated"))
    obs.wall = _number(reply.get("wall"))
    try:
        frames = framing.split_frames(raw)
    except framing.FrameError as exc:
        frames = []
        damaged = str(exc)
    else:
        damaged = ""
    result = None
    for header, payload in frames:
        kind = header.get("t")
        if kind == "step":
            obs.steps.append((str(header.get("name", ""))[:200],
                              translate(str(header.get("label", ""))[:300])))
        elif kind == "result_header":
            result = (header, payload)
    if result is not None:
        try:
            _load_result(obs, *result)
        except (ValueError, TypeError, KeyError, RuntimeError) as exc:
            damaged = f"unreadable observations: {exc}"[:300]
            result = None
    last = obs.steps[-1] if obs.steps else ("", "")
    stopped = reply.get("stopped")
    sig = reply.get("signal")
    sig = sig if isinstance(sig, int) else None
    location = _clean_location(reply.get("location"))
    if location is None:
        location = watchdog_location(str(reply.get("watchdog", "")))
    where = {"step": last[0], "label": last[1], "location": location}
    cpu = _number(reply.get("cpu"), default=-1.0)
    cpu_limit = reply.get("cpu_limit")
    if stopped == "timeout":
        obs.problem = {"kind": "timeout", **where}
    elif stopped in ("output_limit", "process_limit", "result_limit"):
        obs.problem = {"kind": stopped, **where}
    elif result is None and sig is not None:
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and isinstance(cpu_limit, (int, float))
                                     and cpu >= cpu_limit - 0.05):
            kind = "cpu_time"
        elif sig == signal.SIGXFSZ:
            kind = "file_size"
        elif sig == signal.SIGKILL:
            kind = "killed"     # nothing here sends SIGKILL but the kernel (memory) or a user
        else:
            kind = "crash"
        obs.problem = {"kind": kind, "signal": int(sig), "signal_name": _signal_name(int(sig)),
                       **where}
    elif result is None and reply.get("exit_code") == EXIT_MEMORY:
        obs.problem = {"kind": "memory", **where}
    elif result is None:
        obs.problem = {"kind": "exit" if not damaged else "protocol",
                       "exit_code": reply.get("exit_code"), "detail": damaged, **where}
    elif isinstance(reply.get("leftover"), int) and reply["leftover"] > 0:
        obs.problem = {"kind": "leftover_processes", "count": int(reply["leftover"]), **where}
    return obs


def _number(value, default: float = 0.0) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else default


def _clean_location(loc) -> dict | None:
    if not isinstance(loc, dict) or not isinstance(loc.get("line"), int):
        return None
    return {"file": str(loc.get("file", ""))[:200], "line": loc["line"],
            "function": str(loc.get("function", ""))[:200]}


def _load_result(obs: Observation, header: dict, payload: bytes) -> None:
    size = int(header.get("size", -1))
    if size < 0 or size > len(payload):
        raise ValueError("bad result size")
    doc = json.loads(payload[:size])
    if not isinstance(doc, dict):
        raise ValueError("result is not an object")
    values, errors = doc.get("values", {}), doc.get("errors", {})
    if not isinstance(values, dict) or not isinstance(errors, dict):
        raise ValueError("values/errors are not objects")
    obs.values = values
    obs.errors = {str(k): _clean_error(v) for k, v in errors.items()}
    rest = payload[size:]
    obs.tensors = load_safetensors(rest) if rest else {}


def _clean_error(err) -> dict:
    if not isinstance(err, dict):
        return {"type": "Error", "message": str(err)[:500], "kind": "exception", "frames": []}
    frames = []
    for fr in err.get("frames", [])[:12] if isinstance(err.get("frames"), list) else []:
        if isinstance(fr, dict):
            frames.append({"file": str(fr.get("file", ""))[:200],
                           "line": fr.get("line") if isinstance(fr.get("line"), int) else None,
                           "function": str(fr.get("function", ""))[:200],
                           "code": str(fr.get("code", ""))[:300]})
    clean = {"type": str(err.get("type", "Error"))[:100],
             "message": str(err.get("message", ""))[:2000],
             "kind": str(err.get("kind", "exception"))[:40], "frames": frames}
    for key in ("file", "line", "code"):
        if key in err:
            clean[key] = err[key] if isinstance(err[key], int) else str(err[key])[:300]
    return clean


# -- where learner code was: faulthandler's dumps, read against the sources --------
_TRACE_LINE = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<func>\S+)')
_DEF = re.compile(r"^(?P<indent>[ \t]*)(?:async[ \t]+)?(?P<kind>def|class)[ \t]+(?P<name>\w+)")


def watchdog_location(text: str) -> dict | None:
    """The innermost learner frame of the thread that matters in a faulthandler
    dump: the one that crashed (faulthandler marks it "Current thread"), or,
    in the dump taken before the time limit, the main thread (the one that
    went through the grader's runner, frames in ``gchild``), even when a
    thread the learner started is listed first."""
    if not text:
        return None
    blocks = [b for b in text.split("\n\n") if "most recent call first" in b] or [text]
    main = next((b for b in blocks if "Current thread" in b), None) or \
        next((b for b in blocks if "/gchild/" in b), blocks[0])
    for line in main.splitlines():
        m = _TRACE_LINE.search(line)
        if m and "/gchild/" not in m["file"] and "/site-packages/" not in m["file"] \
                and "/lib/python" not in m["file"]:
            return {"file": _relative(m["file"]), "line": int(m["line"]),
                    "function": m["func"][:200]}
    return None


def _relative(path: str) -> str:
    """/work/run12/helpers/x.py -> helpers/x.py (the run folder is the root)."""
    parts = path.split("/")
    for i, part in enumerate(parts):
        if part.startswith("run") and part[3:].isdigit():
            return "/".join(parts[i + 1:])[:200]
    return parts[-1][:200]


def qualified_name(source: bytes, line: int, function: str) -> str:
    """``forward`` at line 50 -> ``FixedHiddenMLP.forward``, from the enclosing
    ``class``/``def`` lines (by indentation); ``function`` itself if unsure."""
    if function == "<module>":
        return function
    try:
        lines = source.decode("utf-8", "replace").splitlines()
    except Exception:  # noqa: BLE001
        return function
    if not 1 <= line <= len(lines):
        return function
    names: list[str] = []
    text = lines[line - 1]
    level = len(text) - len(text.lstrip()) if text.strip() else 1 << 30
    for row in range(line - 1, max(line - 5000, 0) - 1, -1):
        text = lines[row]
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(text) - len(text.lstrip())
        m = _DEF.match(text)
        if m and (indent < level or (row == line - 1 and m["kind"] == "def")):
            names.insert(0, m["name"])
            level = indent
        elif indent < level:
            level = indent
        if level == 0:
            break
    if not names:
        return function
    if function.startswith("<"):        # <listcomp>, <lambda>, <genexpr> ...
        return ".".join(names + [function])
    if names[-1] != function:
        return function
    return ".".join(names)


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"
