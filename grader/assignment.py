"""An assignment: the exercises the grader is given, loaded from a folder.

An assignment is a Python package (a folder with ``__init__.py``) holding one
subfolder per exercise file of the learners' submission, e.g.
``grader/assignments/custom_models/blocks/`` for ``blocks.py``.  Each subfolder
holds everything the grader knows about that file:

``spec.py``
    ``FILE`` (the learner's file name), ``ORDER`` (its place among the files)
    and ``EXERCISES``, a tuple of ``Exercise`` (ids, titles, points per check
    come from the checks, devices, inputs, special cases).
``probe.py``
    The code that runs the learner's module in the sandbox.  It runs only
    there, loaded as a subpackage of the probe toolkit (``grader/child/probes``):
    it imports the toolkit with ``from .. import forward, move, ...`` and the
    folder's own modules with ``from .fixtures import ...``.
``checks.py``
    The hidden checks, pytest tests declared with ``grader.checks.check``.
``fixtures.py`` (optional)
    Modules and constants that the probe (in the sandbox) and the checks and
    inputs (in the grader) both build.  It may import only torch.

Folders are found by discovery: nothing else lists them.  ``load(path_or_name)``
gives an ``Assignment``; ``default()`` is this course's (``custom_models``).
"""

from __future__ import annotations

import base64
import functools
import importlib
import marshal
import random
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

BUNDLED = Path(__file__).resolve().parent / "assignments"
DEFAULT = "custom_models"
# sources shipped to the sandbox with each run, in load order
PROBE_SOURCES = ("fixtures.py", "probe.py")


def _no_inputs() -> dict:
    return {}


@dataclass(frozen=True, kw_only=True)
class Exercise:
    """One exercise: what the grader sends to its probe and how it reads the result."""

    id: str
    file: str  # the learner's file, e.g. blocks.py
    title: str  # N_-marked, translated when shown
    probe: str  # the function of the folder's probe.py that runs it
    seed: int  # torch.manual_seed in the child before the probe
    model: bool = False  # checked on every available device (else the CPU only)
    inputs: Callable[[], dict] = _no_inputs  # tensors the grader sends (built in the grader)
    params: Mapping = field(default_factory=dict)  # JSON parameters sent to the probe
    # parameters drawn afresh per run (a question a forged answer cannot know in advance)
    draw_params: Callable[[random.Random], dict] | None = None
    # files the learner's code wrote, read again by a learner-free child with
    # torch.load(weights_only=True): observation key of the file -> key of what it holds
    verify_files: Mapping[str, str] = field(default_factory=dict)
    # steps where raising is the right behaviour: not shown as the learner's errors
    expected_raises: tuple[str, ...] = ()
    # outputs ("<key>.device") whose device the device check leaves to another check
    device_exempt: tuple[str, ...] = ()
    # the probe asks about this machine's real GPUs: a CPU run still sees them
    real_gpus: bool = False

    @property
    def module(self) -> str:
        return self.file.removesuffix(".py")


@dataclass(frozen=True)
class ExerciseFile:
    """One file of the submission and the grader folder that knows it."""

    name: str  # the learner's file, e.g. blocks.py
    folder: Path
    package: str  # dotted name of the folder's package
    order: int
    exercises: tuple[Exercise, ...]

    @functools.cached_property
    def probe_sources(self) -> dict[str, str]:
        """``fixtures.py`` and ``probe.py`` as text."""
        return {
            name: (self.folder / name).read_text(encoding="utf-8")
            for name in PROBE_SOURCES
            if (self.folder / name).is_file()
        }

    @functools.cached_property
    def probe_code(self) -> dict[str, str]:
        """``probe_sources`` compiled once, for the sandbox (marshal, base64: the
        child runs the grader's own interpreter).  Their file names are under the
        probe toolkit's folder in the sandbox, so that tracebacks and the
        watchdog tell them from learner code."""
        from .sandbox import INNER_ROOT

        return {
            name: base64.b64encode(
                marshal.dumps(
                    compile(
                        text,
                        f"{INNER_ROOT}/gchild/probes/{self.package}/{name}",
                        "exec",
                        dont_inherit=True,
                    )
                )
            ).decode("ascii")
            for name, text in self.probe_sources.items()
        }

    @property
    def checks_module(self) -> str:
        return f"{self.package}.checks"

    @property
    def checks_path(self) -> Path:
        return self.folder / "checks.py"


@dataclass(frozen=True)
class Assignment:
    name: str
    folder: Path
    files: tuple[ExerciseFile, ...]

    @property
    def exercises(self) -> tuple[Exercise, ...]:
        return tuple(ex for f in self.files for ex in f.exercises)

    @property
    def file_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.files)

    @functools.cached_property
    def by_id(self) -> dict[str, Exercise]:
        return {ex.id: ex for ex in self.exercises}

    def catalog(self) -> dict:
        """Every check of this assignment (``grader.checks.CheckInfo`` by id), in
        declaration order; imports the check modules once."""
        from .checks import CATALOG

        modules = {f.checks_module for f in self.files}
        for f in self.files:
            _import(f.checks_path, f.checks_module)
        return {cid: c for cid, c in CATALOG.items() if c.module in modules}

    def checks_of(self, exercise_id: str) -> list:
        return sorted(
            (c for c in self.catalog().values() if c.exercise == exercise_id), key=lambda c: c.order
        )

    def max_score(self) -> float:
        return sum(c.points for c in self.catalog().values())


def _import(path: Path, name: str):
    """Import ``path`` as module ``name``, the way pytest's default import mode
    does (its first folder without ``__init__.py`` on ``sys.path``), so that the
    module pytest collects is the one imported here."""
    if name in sys.modules:
        return sys.modules[name]
    base = path.parent
    while (base / "__init__.py").is_file():
        base = base.parent
    if str(base) not in sys.path:
        sys.path.insert(0, str(base))
    return importlib.import_module(name)


def _package_name(folder: Path) -> str:
    parts = []
    while (folder / "__init__.py").is_file():
        parts.append(folder.name)
        folder = folder.parent
    return ".".join(reversed(parts))


_LOADED: dict[Path, Assignment] = {}


def _load(folder: Path) -> Assignment:
    if folder in _LOADED:
        return _LOADED[folder]
    if not (folder / "__init__.py").is_file():
        raise ValueError(f"{folder} is not an assignment: it has no __init__.py")
    package = _package_name(folder)
    files = []
    for sub in sorted(p for p in folder.iterdir() if (p / "spec.py").is_file()):
        spec = _import(sub / "spec.py", f"{package}.{sub.name}.spec")
        for ex in spec.EXERCISES:
            if ex.file != spec.FILE:
                raise ValueError(f"{sub}: exercise {ex.id} is of {ex.file}, not {spec.FILE}")
        files.append(
            ExerciseFile(spec.FILE, sub, f"{package}.{sub.name}", spec.ORDER, tuple(spec.EXERCISES))
        )
    if not files:
        raise ValueError(f"{folder} holds no exercise folder (a subfolder with spec.py)")
    files.sort(key=lambda f: (f.order, f.name))
    ids = [ex.id for f in files for ex in f.exercises]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{folder}: an exercise id is used twice")
    for f in files:
        for ex in f.exercises:
            _FILE_OF[id(ex)] = f
    _LOADED[folder] = Assignment(folder.name, folder, tuple(files))
    return _LOADED[folder]


_FILE_OF: dict[int, ExerciseFile] = {}


def load_for(ex: Exercise) -> ExerciseFile:
    """The folder of a loaded assignment that ``ex`` belongs to."""
    return _FILE_OF[id(ex)]


def load(path_or_name: str | Path) -> Assignment:
    """The assignment in a folder, or a bundled one by name
    (``grader/assignments/<name>``)."""
    path = Path(path_or_name)
    if not path.is_dir() and (BUNDLED / str(path_or_name)).is_dir():
        path = BUNDLED / str(path_or_name)
    if not path.is_dir():
        raise ValueError(
            f"no folder {path_or_name} and no bundled assignment of that name "
            f"(bundled: {', '.join(bundled())})"
        )
    return _load(path.resolve())


def default() -> Assignment:
    """This course's assignment (custom PyTorch models)."""
    return load(DEFAULT)


def bundled() -> list[str]:
    """Names of the assignments shipped with the grader."""
    return sorted(p.name for p in BUNDLED.iterdir() if (p / "__init__.py").is_file())


def exercise(exercise_id: str) -> Exercise:
    """An exercise of a loaded assignment, by id (the checks' inputs use it)."""
    default()
    found = [a.by_id[exercise_id] for a in _LOADED.values() if exercise_id in a.by_id]
    if len(found) != 1:
        raise KeyError(f"exercise {exercise_id!r}: found in {len(found)} loaded assignments")
    return found[0]
