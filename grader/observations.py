"""Turns what a sandboxed run sent back into validated observations.

Nothing here executes or unpickles anything: frames are JSON and
safetensors, parsed by the grader's own, unpatched libraries.
"""

from __future__ import annotations

import math
import re
import signal
from dataclasses import dataclass, field

import torch
from safetensors.torch import load as load_safetensors

from .child import framing
from .child.protocol import (
    EXIT_MEMORY,
    EXIT_NO_CUDA,
    FRAME_RESULT_HEADER,
    FRAME_STEP,
    NO_CUDA_PREFIX,
    ErrorKind,
    Problem,
    Stopped,
)
from .limits import Limits
from .steps import translate
from .untrusted import TooLarge, clean_text, load_json, shorten

# Caps on what one run may send back, far above what real runs send (the
# reference solutions: at most 31 frames, 97-byte headers, 9 KiB of JSON with
# 621 values nested 13 deep, 29 tensors, 170 KiB of tensor data, 20 errors).
# Each observation stays within a few tens of MiB however the run forges
# its frames, so the 18 runs of a submission fit in the grader's memory.
MAX_FRAMES = 2000
MAX_HEADER = 64 * 1024
MAX_STEPS = 500
MAX_RESULT_JSON = 1024 * 1024
MAX_RESULT_NODES = 50_000
MAX_RESULT_DEPTH = 64
MAX_ERRORS = 100
MAX_TENSORS = 1000
MAX_TENSOR_HEADER = 256 * 1024
MAX_TENSOR_BYTES = 8 * 1024 * 1024
MAX_OUTPUT = 32_000  # characters of printed output kept per run (results keep 20,000)


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
    problem: dict | None = None  # the run did not finish normally
    # the probe parameters the grader sent (set by the grader, never by the child)
    request: dict = field(default_factory=dict)
    # the limits the run had (set by the grader): messages about a limit quote them
    limits: Limits = field(default_factory=Limits)

    def step_reached(self, name: str) -> bool:
        return any(n == name for n, _ in self.steps)


def parse_run(exercise: str, device: str, reply: dict, raw: bytes) -> Observation:
    obs = Observation(exercise, device)
    if "sandbox_error" in reply or "sandbox_died" in reply:
        died = "sandbox_died" in reply
        obs.problem = {
            "kind": Problem.SANDBOX_DIED if died else Problem.SANDBOX,
            "detail": shorten(str(reply.get("sandbox_died" if died else "sandbox_error")), 500),
        }
        return obs
    obs.output = clean_text(str(reply.get("output", ""))[:MAX_OUTPUT])
    obs.output_truncated = bool(reply.get("output_truncated"))
    obs.wall = _number(reply.get("wall"))
    damaged = too_large = ""
    result = None
    frames = framing.iter_frames(memoryview(raw), MAX_HEADER)
    try:
        for count, (header, payload) in enumerate(frames, 1):
            if count > MAX_FRAMES:
                too_large = f"more than {MAX_FRAMES} frames"
                break
            kind = header.get("t")
            if kind == FRAME_STEP:
                step = (_text(header.get("name"), 200), translate(header.get("label")))
                if len(obs.steps) < MAX_STEPS:
                    obs.steps.append(step)
                else:  # keep the first steps and the last one (where the run was)
                    obs.steps[-1] = step
            elif kind == FRAME_RESULT_HEADER:
                result = (header, payload)
    except framing.FrameError as exc:
        damaged = shorten(str(exc), 300)
    if damaged or too_large:
        result = None
    if result is not None:
        try:
            _load_result(obs, *result)
        except TooLarge as exc:
            too_large = str(exc)
            result = None
        except Exception as exc:  # noqa: BLE001 - a forged payload may raise anything
            # (safetensors' SafetensorError is no ValueError)
            damaged = shorten(f"unreadable observations: {type(exc).__name__}: {exc}", 300)
            result = None
        if result is None:
            obs.values, obs.errors, obs.tensors = {}, {}, {}
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
    if stopped == Stopped.TIMEOUT:
        obs.problem = {"kind": Problem.TIMEOUT, **where}
    elif stopped in (Stopped.OUTPUT_LIMIT, Stopped.PROCESS_LIMIT, Stopped.RESULT_LIMIT):
        obs.problem = {"kind": stopped, **where}
    elif too_large:
        obs.problem = {"kind": Problem.RESULT_LIMIT, "detail": shorten(too_large, 300), **where}
    elif result is None and sig is not None:
        if sig == signal.SIGXCPU or (
            sig == signal.SIGKILL
            and isinstance(cpu_limit, (int, float))
            and cpu >= cpu_limit - 0.05
        ):
            kind = Problem.CPU_TIME
        elif sig == signal.SIGXFSZ:
            kind = Problem.FILE_SIZE
        elif sig == signal.SIGKILL:
            kind = Problem.KILLED  # nothing here sends SIGKILL but the kernel (memory) or a user
        else:
            kind = Problem.CRASH
        obs.problem = {
            "kind": kind,
            "signal": int(sig),
            "signal_name": _signal_name(int(sig)),
            **where,
        }
    elif (
        result is None
        and reply.get("exit_code") == EXIT_NO_CUDA
        and not obs.steps
        and device.startswith("cuda")
    ):
        detail = obs.output.rpartition(NO_CUDA_PREFIX)[2].strip()
        obs.problem = {"kind": Problem.CUDA_UNAVAILABLE, "detail": (NO_CUDA_PREFIX + detail)[:500]}
    elif result is None and reply.get("exit_code") == EXIT_MEMORY:
        obs.problem = {"kind": Problem.MEMORY, **where}
    elif result is None:
        obs.problem = {
            "kind": Problem.EXIT if not damaged else Problem.PROTOCOL,
            "exit_code": _small_int(reply.get("exit_code")),
            "detail": damaged,
            **where,
        }
    elif isinstance(reply.get("leftover"), int) and reply["leftover"] > 0:
        obs.problem = {"kind": Problem.LEFTOVER_PROCESSES, "count": int(reply["leftover"]), **where}
    return obs


def _number(value, default: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    try:
        number = float(value)
    except OverflowError:
        return default
    return number if math.isfinite(number) else default


def _text(value, limit: int, default: str = "") -> str:
    """A string field of untrusted data: other types give ``default``."""
    return shorten(value, limit) if isinstance(value, str) else default


def _small_int(value) -> int | None:
    """A line number, exit code...: a modest non-negative int, or None."""
    return (
        value
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**9
        else None
    )


def _clean_location(loc) -> dict | None:
    if not isinstance(loc, dict) or _small_int(loc.get("line")) is None:
        return None
    return {
        "file": _text(loc.get("file"), 200),
        "line": loc["line"],
        "function": _text(loc.get("function"), 200),
    }


def _load_result(obs: Observation, header: dict, payload: memoryview) -> None:
    size = header.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= len(payload):
        raise ValueError("bad result size")
    doc = load_json(
        payload[:size],
        max_bytes=MAX_RESULT_JSON,
        max_nodes=MAX_RESULT_NODES,
        max_depth=MAX_RESULT_DEPTH,
    )
    if not isinstance(doc, dict):
        raise ValueError("result is not an object")
    values, errors = doc.get("values", {}), doc.get("errors", {})
    if not isinstance(values, dict) or not isinstance(errors, dict):
        raise ValueError("values/errors are not objects")
    if len(errors) > MAX_ERRORS:
        raise TooLarge(f"{len(errors)} errors (at most {MAX_ERRORS})")
    obs.values = values
    obs.errors = {shorten(str(k), 200): _clean_error(v) for k, v in errors.items()}
    obs.tensors = load_tensors(payload[size:])


def load_tensors(raw: bytes | memoryview) -> dict[str, torch.Tensor]:
    """safetensors bytes -> tensors, within the caps (count and bytes)."""
    if not raw:
        return {}
    if len(raw) < 8:
        raise ValueError("truncated tensors")
    n = int.from_bytes(raw[:8], "little")
    if n > MAX_TENSOR_HEADER:
        raise TooLarge(f"a {n}-byte tensor header (at most {MAX_TENSOR_HEADER})")
    if len(raw) - 8 - n > MAX_TENSOR_BYTES:
        raise TooLarge(f"{len(raw) - 8 - n} bytes of tensors (at most {MAX_TENSOR_BYTES})")
    header = load_json(
        raw[8 : 8 + n], max_bytes=MAX_TENSOR_HEADER, max_nodes=16 * MAX_TENSORS + 64, max_depth=4
    )
    if not isinstance(header, dict):
        raise ValueError("the tensor header is not an object")
    count = len(header) - ("__metadata__" in header)
    if count > MAX_TENSORS:
        raise TooLarge(f"{count} tensors (at most {MAX_TENSORS})")
    return load_safetensors(bytes(raw))


def _clean_error(err) -> dict:
    if not isinstance(err, dict):
        return {
            "type": "Error",
            "message": shorten(str(err), 500),
            "kind": ErrorKind.EXCEPTION,
            "frames": [],
        }
    frames = []
    for fr in err.get("frames", [])[:12] if isinstance(err.get("frames"), list) else []:
        if isinstance(fr, dict):
            frames.append(
                {
                    "file": _text(fr.get("file"), 200),
                    "line": _small_int(fr.get("line")),
                    "function": _text(fr.get("function"), 200),
                    "code": _text(fr.get("code"), 300),
                }
            )
    clean = {
        "type": _text(err.get("type"), 100, "Error"),
        "message": shorten(str(err.get("message", "")), 2000),
        "kind": _text(err.get("kind"), 40, ErrorKind.EXCEPTION),
        "frames": frames,
    }
    for key in ("file", "code"):
        if key in err:
            clean[key] = shorten(str(err[key]), 300)
    if "line" in err:
        clean["line"] = _small_int(err["line"])
    return clean


# -- where learner code was: faulthandler's dumps, read against the sources --------
_TRACE_LINE = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d{1,9}) in (?P<func>\S+)')
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
    main = next((b for b in blocks if "Current thread" in b), None) or next(
        (b for b in blocks if "/gchild/" in b), blocks[0]
    )
    for line in main.splitlines():
        m = _TRACE_LINE.search(line)
        if (
            m
            and "/gchild/" not in m["file"]
            and "/site-packages/" not in m["file"]
            and "/lib/python" not in m["file"]
        ):
            return {
                "file": _relative(m["file"]),
                "line": int(m["line"]),
                "function": m["func"][:200],
            }
    return None


def _relative(path: str) -> str:
    """/work/run12/helpers/x.py -> helpers/x.py (the run folder is the root)."""
    parts = path.split("/")
    for i, part in enumerate(parts):
        if part.startswith("run") and part[3:].isdigit():
            return "/".join(parts[i + 1 :])[:200]
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
    if function.startswith("<"):  # <listcomp>, <lambda>, <genexpr> ...
        return ".".join(names + [function])
    if names[-1] != function:
        return function
    return ".".join(names)


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"
