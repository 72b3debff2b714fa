"""Grades one submission: runs the probes in the sandbox, then the checks."""

from __future__ import annotations

import hashlib
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import __version__, assignment
from .assignment import Assignment, Exercise
from .checking import run_checks
from .checks.common import inputs as exercise_inputs
from .child.protocol import STEP_IMPORT, ErrorKind, Problem
from .i18n import N_, _
from .inputs import encode_inputs
from .limits import Limits
from .observations import Observation, parse_run
from .results import build_results, error_results
from .sandbox import Isolation, Zygote
from .steps import label, translate
from .submission import Submission, describe_not_read, read_folder


class CudaUnusable(RuntimeError):
    """CUDA did not start in the sandbox: the grader's set-up is at fault, so
    the submission is not graded (a grader error, never cached) rather than
    failed on CUDA."""


@dataclass
class Options:
    devices: list[str]
    limits: Limits = field(default_factory=Limits)
    language: str = "en"
    # start CUDA in a child ahead of each CUDA run, while the run before it
    # executes (child/warm.py); off only to measure what it saves
    ahead: bool = True
    # the assignment graded: a bundled one's name or a folder (grader.assignment.load)
    assignment: str = assignment.DEFAULT

    def load_assignment(self) -> Assignment:
        return assignment.load(self.assignment)


def missing_file_clues(name: str, files: dict[str, bytes]) -> dict:
    """What the submission holds that may be the missing file ``name``: the same
    name in other letter case or in a subfolder, and notebooks."""
    similar = sorted(f for f in files if f != name and f.rsplit("/", 1)[-1].lower() == name)
    notebooks = sorted(f for f in files if f.endswith(".ipynb"))[:5]
    return {"similar": similar[:3], "notebooks": notebooks}


def submission_hash(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(
            name.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(files[name]).digest()
        )
    return h.hexdigest()


def devices_for(ex: Exercise, devices: list[str]) -> list[str]:
    return devices if ex.model else ["cpu"]


def _failed_at_import(obs: Observation) -> bool:
    """The module itself is broken: every exercise of its file would fail alike."""
    if STEP_IMPORT in obs.errors:
        return True
    if obs.problem is None or obs.problem.get("kind") == Problem.SANDBOX:
        return False
    return bool(obs.steps) and obs.steps[-1][0] == STEP_IMPORT


_NO_MODULE = re.compile(r"^No module named '([A-Za-z_][A-Za-z0-9_]*)'$")


def _import_origin(
    obs: Observation, files: dict[str, bytes], contract: tuple[str, ...]
) -> str | None:
    """The submission's top-level file in which an import failure happened."""
    err = obs.errors.get(STEP_IMPORT)
    if err is not None:
        if err.get("kind") == ErrorKind.SYNTAX and err.get("file") in files:
            return err["file"]
        missing = _NO_MODULE.match(str(err.get("message", "")))
        if err.get("type") == "ModuleNotFoundError" and missing:
            name = missing.group(1) + ".py"
            if name in contract and name not in files:
                return name  # a contract file that is not there
        # whatever the error (a module that is not installed, a helper file
        # the learner forgot, a name missing from a helper, a NameError...):
        # the innermost file of the submission in the traceback raised it
        for frame in reversed(err.get("frames") or []):
            origin = frame.get("file")
            if _top_level_file(origin, files):
                return origin
        return None
    origin = ((obs.problem or {}).get("location") or {}).get("file")
    return origin if _top_level_file(origin, files) else None


def _top_level_file(name, files: dict[str, bytes]) -> bool:
    return isinstance(name, str) and name in files and "/" not in name and name.endswith(".py")


def _copy_for(obs: Observation, ex: Exercise, device: str) -> Observation:
    return Observation(
        ex.id,
        device,
        errors=dict(obs.errors),
        steps=list(obs.steps),
        output=obs.output,
        problem=obs.problem,
        request=dict(obs.request),
        limits=obs.limits,
    )


_DRAW = random.SystemRandom()


def probe_params(ex: Exercise) -> dict:
    """The parameters sent to the probe.  Where the expected answers depend
    only on the question (devices), part of the question is drawn afresh per
    run, so that a child that writes its own observations must still answer
    questions it cannot know in advance: forging costs as much as solving
    (``Exercise.draw_params``)."""
    params = dict(ex.params)
    if ex.draw_params is not None:
        params.update(ex.draw_params(_DRAW))
    return params


def _run(
    zygote: Zygote,
    ex: Exercise,
    device: str,
    limits: Limits | None = None,
    *,
    tensors: dict | None = None,
    stubs: dict[str, str] | None = None,
    ahead: str | None = None,
) -> Observation:
    params = probe_params(ex)
    where = assignment.load_for(ex)
    request = {
        "probe": ex.probe,
        "module": ex.module,
        "device": device,
        "seed": ex.seed,
        "params": params,
        "exercise": ex.id,
        "stubs": stubs or {},
        "real_gpus": ex.real_gpus,
        "probe_folder": {"name": where.package, "code": where.probe_code},
    }
    if ahead:
        request["warm"] = ahead  # a run on that device comes later: start it now
    data = encode_inputs(exercise_inputs(ex.id) if tensors is None else tensors)
    reply, raw = zygote.run(request, data)
    obs = parse_run(ex.id, device, reply, raw)
    obs.request = params
    obs.limits = limits or Limits()
    return obs


def _verify_files(zygote: Zygote, ex: Exercise, obs: Observation) -> None:
    """Let a learner-free child read the files that learner code wrote.

    ``ex.verify_files`` maps the observation key of a file's bytes to where the loaded
    structure goes (``into``), e.g. ``file/list`` -> ``verify/list``."""
    files = {
        into: obs.tensors[f"{key}.bytes"]
        for key, into in ex.verify_files.items()
        if f"{key}.bytes" in obs.tensors
    }
    if not files:
        return
    request = {
        "probe": "verify_torch_file",
        "module": None,
        "device": "cpu",
        "seed": 0,
        "params": {"files": list(files)},
        "exercise": ex.id,
    }
    reply, raw = zygote.run(request, encode_inputs(files))
    ver = parse_run(ex.id, "cpu", reply, raw)
    for into in files:
        obs.steps.append(
            (
                into,
                translate(
                    label(
                        N_("torch.load(path, weights_only=True) on the file written by {model}"),
                        model=ex.id,
                    )
                ),
            )
        )
        if into in ver.errors:
            obs.errors[into] = ver.errors[into]
        elif into not in ver.values:
            kind = ver.problem.get("kind", "?") if ver.problem else "?"
            obs.errors[into] = {
                "type": "Error",
                "message": kind,
                "kind": ErrorKind.EXCEPTION,
                "frames": [],
            }
        else:
            obs.values[into] = ver.values[into]
            for name, t in ver.tensors.items():
                if name.startswith(into + "/"):
                    obs.tensors[name] = t


def collect(
    zygote: Zygote,
    files: dict[str, bytes],
    devices: list[str],
    limits: Limits | None = None,
    work: Assignment | None = None,
    ahead: bool = True,
) -> dict[str, dict[str, Observation]]:
    """Run every exercise of ``work`` (by default this course's assignment) on
    ``files``; observations by exercise id and device."""
    limits = limits or Limits()
    work = work or assignment.default()
    # CUDA runs still to come: while there are, a child starts CUDA ahead of them
    cuda_left = sum(
        1
        for ex in work.exercises
        if ex.file in files
        for device in devices_for(ex, devices)
        if device.startswith("cuda")
    )
    cuda_left = cuda_left if ahead else 0
    zygote.load_submission(files, warm="cuda" if cuda_left else None)
    observations: dict[str, dict[str, Observation]] = {}
    broken: dict[str, Observation] = {}
    stubs: dict[str, str] = {}  # module -> why it is replaced by a stand-in
    for ex in work.exercises:
        per_device: dict[str, Observation] = {}
        for device in devices_for(ex, devices):
            if ex.file not in files:
                per_device[device] = Observation(
                    ex.id,
                    device,
                    limits=limits,
                    problem={
                        "kind": Problem.MISSING_FILE,
                        "file": ex.file,
                        **missing_file_clues(ex.file, files),
                    },
                )
                continue
            if ex.file in broken:
                per_device[device] = _copy_for(broken[ex.file], ex, device)
                continue
            cuda_left -= device.startswith("cuda")
            warm = "cuda" if cuda_left > 0 else None
            obs = _run(zygote, ex, device, limits, stubs=stubs, ahead=warm)
            if obs.problem is not None and obs.problem.get("kind") == Problem.CUDA_UNAVAILABLE:
                raise CudaUnusable(obs.problem.get("detail", ""))
            for _attempt in range(len(work.files)):
                # its import failed in another file of the submission: grade it
                # again with that file replaced by a stand-in, as if it were fine
                origin = (
                    _import_origin(obs, files, work.file_names) if _failed_at_import(obs) else None
                )
                if origin is None or origin == ex.file or origin[:-3] in stubs:
                    break
                stubs[origin[:-3]] = _(
                    "{file} could not be imported (see its own exercises), "
                    "so {{name}} from it is not available"
                ).format(file=origin)
                obs = _run(zygote, ex, device, limits, stubs=stubs, ahead=warm)
            if _failed_at_import(obs):
                broken[ex.file] = obs
            if ex.verify_files:
                _verify_files(zygote, ex, obs)
            per_device[device] = obs
        observations[ex.id] = per_device
    return observations


def grade(folder: Path, zygote: Zygote, options: Options, isolation: Isolation) -> dict:
    """Grade one submission folder; returns the results.json document."""
    started = time.monotonic()
    work = options.load_assignment()
    sub = read_folder(folder, work.file_names)
    files = sub.files
    observations = collect(
        zygote, files, options.devices, options.limits, work, ahead=options.ahead
    )
    outcomes = run_checks(observations, work)
    doc = build_results(
        assignment=work,
        name=folder.name,
        observations=observations,
        outcomes=outcomes,
        files=files,
        notes=sub.notes,
        options=options,
        isolation=isolation,
        execution_time=time.monotonic() - started,
        metadata={**_metadata(files), "not_read": sub.not_read},
    )
    if sub.not_read:
        doc["output"] += "\n" + describe_not_read(sub.not_read)
        doc["metadata"]["not_read_text"] = describe_not_read(sub.not_read)
    return doc


def grade_or_error(folder: Path, zygote: Zygote, options: Options, isolation: Isolation) -> dict:
    """``grade``, except that whatever goes wrong while grading this one
    submission gives its error outcome (every exercise an error, 0 points, one
    line of why; ``metadata.grader_error`` set) instead of an exception.  The
    zygote is then restarted: its state is unknown.  Only ``KeyboardInterrupt``
    and the like get through."""
    started = time.monotonic()
    try:
        return grade(folder, zygote, options, isolation)
    except Exception as exc:  # noqa: BLE001 - one submission never stops the others
        error = exc
    try:
        zygote.restart()
    except Exception:  # noqa: BLE001 - the next grading will fail (and say so) in turn
        pass
    try:
        sub = read_folder(folder, options.load_assignment().file_names)
    except Exception:  # noqa: BLE001
        sub = Submission({})
    return error_results(
        name=folder.name,
        error=error,
        options=options,
        isolation=isolation,
        files=sub.files,
        notes=sub.notes,
        execution_time=time.monotonic() - started,
        metadata=_metadata(sub.files),
    )


def _metadata(files: dict[str, bytes]) -> dict:
    return {
        "grader_version": __version__,
        "torch_version": torch.__version__,
        "submission_hash": submission_hash(files),
    }


__all__ = ["CudaUnusable", "Options", "collect", "grade", "grade_or_error", "submission_hash"]
