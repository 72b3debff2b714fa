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

_TRACE_LINE = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<func>\S+)')


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

    def step_failed(self, name: str) -> bool:
        return name in self.errors

    def step_reached(self, name: str) -> bool:
        return any(n == name for n, _ in self.steps)


def parse_run(exercise: str, device: str, reply: dict, raw: bytes, workdir_hint: str = "") -> \
        Observation:
    obs = Observation(exercise, device)
    if "sandbox_error" in reply:
        obs.problem = {"kind": "sandbox", "detail": str(reply["sandbox_error"])[:500]}
        return obs
    obs.output = str(reply.get("output", ""))
    obs.output_truncated = bool(reply.get("output_truncated"))
    obs.wall = float(reply.get("wall") or 0.0)
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
            obs.steps.append((str(header.get("name", ""))[:200], str(header.get("label", ""))[:300]))
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
    where = {"step": last[0], "label": last[1], "location": _watchdog_location(
        str(reply.get("watchdog", "")))}
    if stopped == "timeout":
        obs.problem = {"kind": "timeout", **where}
    elif stopped in ("output_limit", "process_limit", "result_limit"):
        obs.problem = {"kind": stopped, **where}
    elif result is None and sig is not None:
        kind = "memory" if sig in (signal.SIGKILL,) and not stopped else "crash"
        obs.problem = {"kind": "crash" if kind == "crash" else "killed", "signal": int(sig),
                       "signal_name": _signal_name(int(sig)), **where}
        if sig == signal.SIGXCPU:
            obs.problem["kind"] = "cpu_time"
        if sig == signal.SIGXFSZ:
            obs.problem["kind"] = "file_size"
    elif result is None:
        obs.problem = {"kind": "exit" if not damaged else "protocol",
                       "exit_code": reply.get("exit_code"), "detail": damaged, **where}
    return obs


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


def _watchdog_location(text: str) -> dict | None:
    """The innermost learner frame of the main thread in a faulthandler dump."""
    blocks = text.split("\n\n")
    main = next((b for b in blocks if "most recent call first" in b), text)
    for line in main.splitlines():
        m = _TRACE_LINE.search(line)
        if m and "/gchild/" not in m["file"] and "/site-packages/" not in m["file"] \
                and "/lib/python" not in m["file"]:
            name = m["file"].rsplit("/", 1)[-1]
            return {"file": name, "line": int(m["line"]), "function": m["func"]}
    return None


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"
