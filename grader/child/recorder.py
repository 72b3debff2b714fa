"""Records what learner code does, step by step, inside the child process.

A probe wraps every call into learner code in ``rec.step(name)``.  An
exception (including ``SystemExit`` and ``KeyboardInterrupt``) is recorded
with the learner's own frames and the probe goes on with the steps that do
not depend on it.  Before each step a marker frame is written, so that the
supervisor knows where a child was when it hung or died.

The observations are plain JSON values and tensors.  They are untrusted by
the grader, which validates them and decides every verdict itself.
"""

from __future__ import annotations

import linecache
import os
import traceback
from json import dumps as _json_dumps  # bound before learner code can patch json

import torch
from safetensors.torch import save as _st_save

from . import framing
from .protocol import FRAME_RESULT, FRAME_RESULT_HEADER, FRAME_STEP, ErrorKind

MAX_MESSAGE = 2000
MAX_FRAMES = 12


def _safe_text(value: object, limit: int = MAX_MESSAGE) -> str:
    try:
        text = str(value)
    except BaseException:  # noqa: BLE001 - a hostile __str__ may raise anything
        text = "<unprintable>"
    return text if len(text) <= limit else text[:limit] + "…"


def classify(exc: BaseException) -> str:
    if isinstance(exc, NotImplementedError):
        return ErrorKind.NOT_IMPLEMENTED
    if isinstance(exc, MemoryError):
        return ErrorKind.MEMORY
    text = _safe_text(exc, 400)
    if isinstance(exc, RuntimeError) and (
        "can't allocate memory" in text or "not enough memory" in text
    ):
        return ErrorKind.MEMORY
    if isinstance(exc, SystemExit):
        return ErrorKind.EXIT
    if isinstance(exc, KeyboardInterrupt):
        return ErrorKind.INTERRUPT
    if isinstance(exc, SyntaxError):
        return ErrorKind.SYNTAX
    return ErrorKind.EXCEPTION


class Recorder:
    def __init__(self, result_fd: int, workdir: str) -> None:
        self.fd = result_fd
        self.workdir = workdir.rstrip("/") + "/"
        self.values: dict[str, object] = {}
        self.errors: dict[str, dict] = {}
        self.tensors: dict[str, torch.Tensor] = {}

    # -- learner frames -------------------------------------------------
    def learner_frames(self, tb) -> list[dict]:
        return self.learner_frames_from_stack(traceback.extract_tb(tb))

    def learner_frames_from_stack(self, stack) -> list[dict]:
        frames = []
        for fs in stack:
            if not fs.filename.startswith(self.workdir):
                continue
            rel = fs.filename[len(self.workdir) :]
            code = linecache.getline(fs.filename, fs.lineno or 0).strip()
            frames.append({"file": rel, "line": fs.lineno, "function": fs.name, "code": code})
        return frames[-MAX_FRAMES:]

    def describe(self, exc: BaseException) -> dict:
        info = {
            "type": type(exc).__name__,
            "message": _safe_text(exc),
            "kind": classify(exc),
            "frames": self.learner_frames(exc.__traceback__),
        }
        if isinstance(exc, SyntaxError):
            info["file"] = os.path.basename(exc.filename or "")
            info["line"] = exc.lineno
            info["message"] = _safe_text(exc.msg)
            info["code"] = _safe_text((exc.text or "").strip(), 300)
        if isinstance(exc, SystemExit):
            info["message"] = _safe_text(exc.code, 200)
        return info

    # -- steps ----------------------------------------------------------
    def mark(self, name: str, label: str | dict = "") -> None:
        try:
            framing.write_frame(self.fd, {"t": FRAME_STEP, "name": name, "label": label})
        except OSError:
            pass

    def step(self, name: str, label: str | dict = "") -> _Step:
        return _Step(self, name, label)

    def value(self, name: str, value: object) -> None:
        self.values[name] = value

    def tensor(self, name: str, value: object) -> None:
        if isinstance(value, torch.Tensor):
            t = value.detach()
            if t.layout != torch.strided or t.is_quantized or t.device.type == "meta":
                return
            if t.dtype not in _SAFE_DTYPES:
                return
            self.tensors[name] = t.to("cpu").clone().contiguous()

    # -- result ---------------------------------------------------------
    def finish(self) -> None:
        header = {"t": FRAME_RESULT, "values": self.values, "errors": self.errors}
        payload = _st_save(self.tensors) if self.tensors else b""
        raw = _json_dumps(header, default=_safe_text).encode()
        framing.write_frame(self.fd, {"t": FRAME_RESULT_HEADER, "size": len(raw)}, raw + payload)


_SAFE_DTYPES = {
    torch.float16,
    torch.bfloat16,
    torch.float32,
    torch.float64,
    torch.int8,
    torch.uint8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.bool,
}


class _Step:
    def __init__(self, rec: Recorder, name: str, label: str | dict) -> None:
        self.rec = rec
        self.name = name
        self.label = label
        self.ok = False

    def __enter__(self) -> _Step:
        self.rec.mark(self.name, self.label)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None:
            self.ok = True
            return False
        self.rec.errors[self.name] = self.rec.describe(exc)
        return True  # recorded; the probe carries on
