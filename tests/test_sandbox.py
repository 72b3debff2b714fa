"""Red-team tests: learner code is contained, nothing leaks, nothing is left behind.

Every case in ``tests/data/hostile/<name>/`` holds the contract file(s) it
changes and ``expect.json``:

* ``fails``: the exercises that must get 0 (every other one keeps full marks);
* ``partial``: the failing exercises may keep the points of checks their bug
  does not touch (a wrong answer dressed up by patches, not a hostile run);
* ``why``: what the case does and why that is the honest outcome;
* ``messages``: per exercise, substrings its learner-facing explanation must hold;
* ``modes``: the isolation modes it runs in: ``bubblewrap`` and/or ``rlimits``
  (the ``--no-isolation`` fallback, which must still pass every process and
  limit case; file-system cases need bubblewrap);
* ``limits``: limits other than the hostile defaults (3 s per run);
* ``dedicated``: graded by its own test below, not by the generic one.

After every grading: the process tree of the sandbox holds the zygote only,
and the submission folder, the reference solutions, the stubs and the case
data are byte for byte what they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import site
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from grader.grading import Options, grade
from grader.i18n import set_language
from grader.limits import GiB, Limits, parse_size
from grader.observations import qualified_name, watchdog_location
from grader.problems import describe_error, describe_problem
from grader.report import render_report
from grader.sandbox import SandboxFailure, Zygote, detect_isolation
from grader.submission import read_submission

from conftest import DATA, EXERCISES, SOLUTIONS, cases, expectation, failing, overlay

HOSTILE = cases("hostile")
GENERIC = [
    (c, mode)
    for c in HOSTILE
    if "dedicated" not in expectation(c)
    for mode in expectation(c).get("modes", ["bubblewrap", "rlimits"])
]
HOSTILE_LIMITS = Limits(time=3.0)
ROOT = SOLUTIONS.parent
CLI = [sys.executable, "-c", "from grader.cli import run; run()"]


# -- graders for each isolation mode ------------------------------------------------------
class SandboxGrader:
    """A warm zygote in one isolation mode; limits may change per grading."""

    def __init__(self, mode: str) -> None:
        self.isolation = detect_isolation(mode == "rlimits")
        self.zygote = Zygote(HOSTILE_LIMITS, self.isolation)
        self.zygote.start()

    def __call__(self, folder: Path, limits: Limits = HOSTILE_LIMITS) -> tuple[dict, float]:
        self.zygote.limits = limits
        set_language("en")
        started = time.monotonic()
        doc = grade(folder, self.zygote, Options(devices=["cpu"], limits=limits), self.isolation)
        return doc, time.monotonic() - started

    def markers(self) -> list[str]:
        return [p for p in (self.zygote.scratch, self.zygote._child_copy) if p]

    def close(self) -> None:
        self.zygote.close()


@pytest.fixture(scope="module")
def sandbox():
    made: dict[str, SandboxGrader] = {}

    def get(mode: str) -> SandboxGrader:
        if mode not in made:
            if mode == "bubblewrap" and not detect_isolation().filesystem:
                pytest.skip(
                    "bubblewrap cannot run here (" + detect_isolation().describe() + "): "
                    "there is no file-system isolation to test"
                )
            made[mode] = SandboxGrader(mode)
        return made[mode]

    yield get
    for g in made.values():
        g.close()


def _limits(exp: dict) -> Limits:
    extra = dict(exp.get("limits", {}))
    for key in ("memory", "output", "file_size"):
        if isinstance(extra.get(key), str):
            extra[key] = parse_size(extra[key])
    return replace(HOSTILE_LIMITS, **extra)


# -- processes ----------------------------------------------------------------------------
_GONE = (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)  # ended, not yet reaped


def _proc_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent, psutil status, command line) of every process."""
    table = {}
    for proc in psutil.process_iter(["ppid", "status", "cmdline"]):
        info = proc.info
        if info["ppid"] is None or info["status"] is None:
            continue
        table[proc.pid] = (info["ppid"], info["status"], " ".join(info["cmdline"] or [])[:300])
    return table


def _descendants(root: int, table) -> set[int]:
    found, todo = set(), [root]
    while todo:
        parent = todo.pop()
        kids = [p for p, (pp, _s, _c) in table.items() if pp == parent]
        found.update(kids)
        todo.extend(kids)
    return found


def _mentions(pid: int, markers: list[str]) -> bool:
    try:
        proc = psutil.Process(pid)
    except psutil.Error:
        return False
    for read in (
        lambda: " ".join(proc.cmdline()),
        lambda: " ".join(f"{k}={v}" for k, v in proc.environ().items()),
    ):
        try:
            data = read()
        except psutil.Error:
            continue
        if any(m in data for m in markers):
            return True
    return False


def leftover_processes(g: SandboxGrader, old_markers: list[str]) -> list[str]:
    """Processes of the submission still alive: anything under the sandbox but
    the zygote itself, or (without a PID namespace) anything carrying the
    paths of this zygote or of one it replaced."""
    table = _proc_table()
    root = g.zygote.proc.pid
    zygotes = {root} | {
        p for p, (pp, _s, _c) in table.items() if pp == root and g.isolation.filesystem
    }
    suspects = _descendants(root, table) - zygotes
    if not g.isolation.filesystem:
        markers = old_markers + g.markers()
        suspects |= {
            p for p in table if p not in zygotes and p != os.getpid() and _mentions(p, markers)
        }
    return [
        f"{p} {table[p][1]} {table[p][2]}"
        for p in sorted(suspects)
        if p in table and table[p][1] not in _GONE
    ]


def wait_for_no_leftovers(g: SandboxGrader, old_markers: list[str]) -> list[str]:
    deadline = time.monotonic() + 2.0
    while True:
        left = leftover_processes(g, old_markers)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


# -- file trees ---------------------------------------------------------------------------
def tree(path: Path, skip: tuple[Path, ...] = ()) -> dict[str, tuple[int, str]]:
    state = {}
    if not path.exists():
        return state
    for p in sorted(path.rglob("*")):
        if any(p == s or s in p.parents for s in skip):
            continue
        if "__pycache__" in p.parts:
            continue
        rel = p.relative_to(path).as_posix()
        if p.is_symlink():
            state[rel] = (-1, os.readlink(p))
        elif p.is_file():
            data = p.read_bytes()
            state[rel] = (len(data), hashlib.sha256(data).hexdigest())
        elif p.is_dir():
            state[rel] = (0, "dir")
    return state


def guarded_trees(*extra: Path) -> dict[str, dict]:
    paths = [SOLUTIONS, EXERCISES, DATA / "hostile", *extra]
    return {str(p): tree(p) for p in paths}


# -- reports ------------------------------------------------------------------------------
def explanation(doc: dict, ex_id: str) -> str:
    ex = next(e for e in doc["exercises"] if e["id"] == ex_id)
    parts = [(ex.get("problem") or {}).get("message") or ""]
    parts += [
        t["output"] for t in doc["tests"] if t["exercise"] == ex_id and t["status"] != "passed"
    ]
    return "\n".join(parts)


def assert_outcome(doc: dict, exp: dict) -> None:
    expected = set(exp["fails"])
    assert failing(doc) == expected, {
        e["id"]: explanation(doc, e["id"])[:300]
        for e in doc["exercises"]
        if e["score"] < e["max_score"]
    }
    for ex in doc["exercises"]:
        if ex["id"] in expected and not exp.get("partial"):
            assert ex["score"] == 0, (ex["id"], ex["score"], explanation(doc, ex["id"]))
        elif ex["id"] in expected:
            assert ex["score"] < ex["max_score"], ex["id"]
        else:
            assert ex["score"] == ex["max_score"], ex["id"]
    for ex_id, needles in exp.get("messages", {}).items():
        text = explanation(doc, ex_id)
        for needle in needles:
            assert needle in text, (ex_id, needle, text[:500])
        assert "Traceback" not in text


# -- the generic red-team test ------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("case,mode", GENERIC, ids=[f"{c.name}-{m}" for c, m in GENERIC])
def test_hostile_submission_is_contained(sandbox, case, mode, tmp_path):
    g = sandbox(mode)
    exp = expectation(case)
    limits = _limits(exp)
    sub = overlay(case, tmp_path)
    before = guarded_trees(tmp_path)
    markers = g.markers()
    doc, elapsed = g(sub, limits)
    assert_outcome(doc, exp)
    # whatever text the submission produced, its results can be written as UTF-8
    json.dumps(doc, ensure_ascii=False).encode("utf-8")
    render_report(doc).encode("utf-8")
    # bounded in time: every run ends at its limit (a hang costs one limit per run)
    hung = sum(1 for e in doc["exercises"] if e["status"] == "error")
    assert elapsed < 60 + hung * (limits.time + 5), elapsed
    for ex in doc["exercises"]:
        assert ex["wall_time"] < len(ex["devices"]) * 4 * (limits.time + 5), ex
    assert wait_for_no_leftovers(g, markers) == []
    assert guarded_trees(tmp_path) == before
    if not g.isolation.filesystem:
        assert "isolation was OFF" in doc["output"]
        assert doc["metadata"]["isolation"]["filesystem"] is False


def _host_ids(pid: int) -> tuple[list[int], list[int]]:
    proc = psutil.Process(pid)
    return list(proc.uids()), list(proc.gids())


@pytest.mark.slow
def test_sandbox_processes_are_not_host_root(sandbox, tmp_path):
    """Seen from the host, the zygote and the children it forks run as an
    unprivileged uid, even when the grader is root (issue 10: a user namespace
    made by root mapped the sandbox to host uid 0)."""
    g = sandbox("bubblewrap")
    case = DATA / "hostile" / "host_root_powers"
    doc, _ = g(overlay(case, tmp_path), _limits(expectation(case)))
    assert failing(doc) == set()
    table = _proc_table()
    inner = _descendants(g.zygote.proc.pid, table)
    assert inner, "no process inside the sandbox"
    for pid in inner:
        uids, gids = _host_ids(pid)
        assert 0 not in uids and 0 not in gids, (pid, table[pid], uids, gids)
        if os.geteuid() == 0:
            assert uids[0] == gids[0] >= 0x70000000, (pid, uids, gids)


def test_the_catalogue_covers_the_issue():
    names = {c.name for c in HOSTILE}
    assert {
        "host_root_powers",
        "class_run_residue",
        "class_run_witness",
        "tamper_with_the_sandbox",
        "escape_then_kill_the_zygote",
    } <= names
    assert {
        "patch_torch_comparisons",
        "patch_pytest_json_reporting",
        "forged_results",
        "sys_exit_at_import",
        "os_exit_in_forward",
        "segfault_in_forward",
        "infinite_loop_at_import",
        "infinite_loop_ignoring_signals",
        "non_daemon_thread",
        "memory_hog",
        "fork_sleepers",
        "detached_popen_sleepers",
        "print_flood",
        "filesystem_snoop",
        "neighbour_overwrite",
        "syntax_error",
    } <= names
    for case in HOSTILE:
        exp = expectation(case)
        assert exp["why"] and isinstance(exp["fails"], list)
        for f in case.iterdir():
            if f.suffix == ".py":
                assert (SOLUTIONS / f.name).is_file(), f"{case.name}: {f.name} is no contract file"


# -- leaks: file system and memory -------------------------------------------------------
def _distinctive_lines(folder: Path, pattern: str, exclude_text: str) -> list[str]:
    """Code lines of ``folder`` that a report could only hold if it leaked."""
    lines = set()
    rx = re.compile(pattern)
    for path in sorted(folder.glob("*.py")):
        for line in path.read_text().splitlines():
            s = line.strip()
            if len(s) >= 16 and rx.search(s) and s not in exclude_text:
                lines.add(s)
    return sorted(lines)


@pytest.mark.slow
def test_snoop_finds_no_solution_check_or_other_submission(sandbox, tmp_path):
    """The snoop reads what it can of solutions/, grader/checks, other
    submissions, /root and its own memory (inherited from the zygote, which
    held the previous submission) and puts all of it in its exception and
    output.  None of it may reach the report."""
    g = sandbox("bubblewrap")
    canary = "CANARY-NEIGHBOUR-" + uuid.uuid4().hex
    neighbour = tmp_path / "neighbour"
    shutil.copytree(SOLUTIONS, neighbour, ignore=shutil.ignore_patterns("__pycache__"))
    (neighbour / "canary.py").write_text(f'SECRET = "{canary}"\n')
    (neighbour / "blocks.py").write_text(
        (neighbour / "blocks.py").read_text() + f"\n# {canary}\nprint({canary!r})\n"
    )
    doc, _ = g(neighbour)
    assert doc["score"] == doc["max_score"]

    case = DATA / "hostile" / "filesystem_snoop"
    sub = overlay(case, tmp_path / "class")
    before = guarded_trees(tmp_path)
    doc, _ = g(sub)
    assert_outcome(doc, expectation(case))
    snoop = next(e for e in doc["exercises"] if e["id"] == "parameter_access")
    assert any(err["message"].startswith("SNOOPED") for err in snoop["errors"]), (
        "the snoop did not run"
    )

    texts = {"results.json": json.dumps(doc, ensure_ascii=False), "report.html": render_report(doc)}
    own = "\n".join(p.read_text() for p in sub.glob("*.py"))
    secrets = [
        canary[len("CANARY-NEIGHBOUR-") :],
        SOLUTIONS.joinpath("parameters.py").read_text().splitlines()[0].strip('"'),
    ]
    for checks in [
        ROOT / "grader" / "checks",
        *sorted((ROOT / "grader" / "assignments").glob("*/*/")),
    ]:
        secrets += _distinctive_lines(checks, r"^(def test_|@check\(|from \.|class )", own)
    assert len(secrets) > 10
    for name, text in texts.items():
        leaked = [s for s in secrets if s in text]
        assert leaked == [], f"{name} holds {leaked[:5]}"
    # what it saw of the host: its own run folder, the Python installation
    assert "== ls /work ==\nrun" in snoop["output"]
    assert wait_for_no_leftovers(g, []) == []
    assert guarded_trees(tmp_path) == before


# -- one zygote, many learners ------------------------------------------------------------
def _verdict(doc: dict) -> list:
    return [(e["id"], e["score"], e["status"]) for e in doc["exercises"]] + sorted(
        (t["exercise"], t["check"], t["status"]) for t in doc["tests"]
    )


@pytest.mark.slow
def test_one_submission_leaves_nothing_for_the_next(sandbox, tmp_path):
    """Issue 10: learner A writes everywhere it can, plants a d2l package,
    locks and deepens trees, chmods the scratch folders, creates IPC objects
    and keys; learner B, graded next by the same zygote, finds none of it and
    gets exactly its solo grade."""
    g = sandbox("bubblewrap")
    witness = DATA / "hostile" / "class_run_witness"
    residue = DATA / "hostile" / "class_run_residue"
    solo, _ = g(overlay(witness, tmp_path / "solo"))
    assert failing(solo) == set(), explanation(solo, "devices")
    first = g.zygote.proc.pid
    attacker, _ = g(overlay(residue, tmp_path / "a"))
    assert_outcome(attacker, expectation(residue))
    planted = explanation(attacker, "devices") + "".join(e["output"] for e in attacker["exercises"])
    for did in (
        "RESIDUE-PLANTED",
        "modules in /work/run",
        "1300-level tree in /tmp",
        "System V shm",
        "System V sem",
        "System V msg",
        "POSIX message queue",
    ):
        assert did in planted, (did, planted[:3000])
    assert "keyring system calls refused" in planted or (
        "key in keyring -3" in planted and "key in the persistent keyring" in planted
    ), planted
    after, _ = g(overlay(witness, tmp_path / "b"))
    assert _verdict(after) == _verdict(solo), explanation(after, "devices")
    assert g.zygote.proc.pid == first, "the sandbox was restarted"
    assert wait_for_no_leftovers(g, []) == []


@pytest.mark.slow
@pytest.mark.parametrize("case", ["tamper_with_the_sandbox", "tamper_io_priority"])
def test_a_run_that_changes_the_zygote_stops_it(sandbox, tmp_path, case):
    """A run lowers the zygote's limits, priority or I/O priority (same uid): the
    zygote notices, grading raises SandboxFailure (grade again, not the learner's
    verdict), and the next submission gets a fresh sandbox and its solo grade."""
    g = sandbox("bubblewrap")
    witness = overlay(DATA / "hostile" / "class_run_witness", tmp_path / "w")
    solo, _ = g(witness)
    with pytest.raises(SandboxFailure, match="limits, priority"):
        g(overlay(DATA / "hostile" / case, tmp_path))
    assert g.zygote.proc is None
    after, _ = g(witness)
    assert _verdict(after) == _verdict(solo)


@pytest.mark.slow
def test_a_sandbox_that_dies_is_not_the_learners_fault(sandbox, tmp_path):
    """With bubblewrap learner code cannot kill the zygote, so a zygote that
    dies mid-run is the grader's failure: SandboxFailure, no verdict."""
    g = sandbox("bubblewrap")
    sub = overlay(DATA / "hostile" / "infinite_loop_at_import", tmp_path)
    table = _proc_table()
    inner = sorted(_descendants(g.zygote.proc.pid, table))
    zygote_pid = inner[0]

    def kill_later():
        time.sleep(2.0)
        os.kill(zygote_pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_later)
    killer.start()
    try:
        with pytest.raises(SandboxFailure):
            g(sub)
    finally:
        killer.join()
    doc, _ = g(overlay(DATA / "hostile" / "class_run_witness", tmp_path / "next"))
    assert failing(doc) == set()


def test_wipe_empties_any_tree_with_any_permissions(tmp_path):
    """The zygote's wipe, run as an unprivileged uid like the sandbox: a tree
    deeper than Python's recursion limit and the open-file limit, folders and
    files without permissions, a symbolic link to a folder outside (followed
    by nothing), and a kept path whose parent folder holds learner files."""
    script = r"""
import os, resource, sys
from grader.child.wipe import wipe
top, outside = sys.argv[1], sys.argv[2]
resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
os.chdir(top)
for _ in range(3000):
    os.mkdir("d"); os.chdir("d")
open("bottom", "w").close(); os.chmod("bottom", 0); os.chmod(".", 0o500)
os.chdir(top)
os.makedirs("locked/inner"); open("locked/inner/f", "w").close()
os.chmod("locked/inner", 0); os.chmod("locked", 0)
try:
    os.listdir("locked")
    sys.exit("permissions are not enforced for this process")
except PermissionError:
    pass
os.makedirs("venv/keep/lib"); open("venv/keep/lib/x.py", "w").close()
open("venv/planted.py", "w").close(); os.makedirs("venv/d2l")
os.symlink(outside, "link"); os.symlink(outside + "/precious", "filelink")
os.chmod(top, 0o555)
left = wipe(top, [top + "/venv/keep"], mode=0o755)
print(left)
print(sorted(os.listdir(top)), sorted(os.listdir(top + "/venv")), oct(os.stat(top).st_mode))
"""
    top = tmp_path / "scratch"
    outside = tmp_path / "outside"
    top.mkdir()
    outside.mkdir()
    (outside / "precious").write_text("keep me")
    prefix = []
    if os.geteuid() == 0:
        # root without capabilities: permissions then stop it as they stop the sandbox uid
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot drop capabilities")
        prefix = [setpriv, "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    done = subprocess.run(
        [*prefix, sys.executable, "-c", script, str(top), str(outside)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "[]"
    assert lines[1] == "['venv'] ['keep'] 0o40755"
    assert (top / "venv" / "keep" / "lib" / "x.py").is_file()
    assert (outside / "precious").read_text() == "keep me"


# -- class run through the command line --------------------------------------------------
def _run_cli(
    args: list, cwd: Path, timeout: float = 600
) -> tuple[subprocess.CompletedProcess, float]:
    marker = f"GRADER_TEST_RUN={uuid.uuid4().hex}"
    env = dict(os.environ, GRADER_TEST_RUN=marker.split("=", 1)[1])
    started = time.monotonic()
    proc = subprocess.run(
        [*CLI, *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    elapsed = time.monotonic() - started
    time.sleep(0.5)
    left = [p for p in _proc_table() if _mentions(p, [marker])]
    assert left == [], f"processes of the CLI run are still alive: {left}"
    return proc, elapsed


@pytest.mark.slow
def test_class_run_neighbours_and_forged_results(tmp_path):
    """`grade neighbour/ neighbour_overwrite/ forged_results/ --out reports`: the
    attacker cannot reach its neighbours, the forger cannot reach --out or its
    own folder on the host; results on disk are the grader's."""
    if not detect_isolation().filesystem:
        pytest.skip("bubblewrap cannot run here: there is no file-system isolation to test")
    klass = tmp_path / "class"
    klass.mkdir()
    neighbour = klass / "neighbour"
    shutil.copytree(SOLUTIONS, neighbour, ignore=shutil.ignore_patterns("__pycache__"))
    (neighbour / "notes.py").write_text("# a helper module of the neighbour\nNOTE = 1\n")
    attacker = overlay(DATA / "hostile" / "neighbour_overwrite", klass)
    forger = overlay(DATA / "hostile" / "forged_results", klass)
    work = tmp_path / "work"
    work.mkdir()
    before = guarded_trees(klass)
    proc, elapsed = _run_cli(
        [neighbour, attacker, forger, "--out", "reports", "--jobs", "2", "--time-limit", "10"],
        cwd=work,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "isolation is OFF" not in proc.stderr
    assert elapsed < 400, elapsed
    assert guarded_trees(klass) == before, "a submission folder changed"
    out = work / "reports"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == sorted(
        [
            "gradebook.csv",
            "index.html",
            *(
                f"{n}{f}"
                for n in ("neighbour", "neighbour_overwrite", "forged_results")
                for f in ("", "/results.json", "/report.html")
            ),
        ]
    )
    assert sorted(p.name for p in work.iterdir()) == ["reports"]
    docs = {
        n: json.loads((out / n / "results.json").read_text())
        for n in ("neighbour", "neighbour_overwrite", "forged_results")
    }
    assert failing(docs["neighbour"]) == set()
    assert docs["neighbour"]["score"] == docs["neighbour"]["max_score"]
    assert_outcome(
        docs["neighbour_overwrite"], expectation(DATA / "hostile" / "neighbour_overwrite")
    )
    assert_outcome(docs["forged_results"], expectation(DATA / "hostile" / "forged_results"))
    forged = docs["forged_results"]
    assert forged["score"] == sum(e["score"] for e in forged["exercises"]) < forged["max_score"]
    assert forged["metadata"]["submission"] == "forged_results"
    ids = {e["id"] for e in forged["exercises"]}
    assert forged["tests"] and all(t["exercise"] in ids and t["check"] for t in forged["tests"])
    # the forged JSON and HTML it printed only show up as its own (escaped) output
    mlp = next(e for e in forged["exercises"] if e["id"] == "mlp")
    assert "FORGED-RESULT" in mlp["output"], "the forger did not run"
    rest = dict(forged, exercises=[dict(e, output="") for e in forged["exercises"]])
    assert "FORGED" not in json.dumps(rest)
    html = (out / "forged_results" / "report.html").read_text()
    assert '<script>alert("FORGED")' not in html and "<h1>FORGED-REPORT" not in html
    book = (out / "gradebook.csv").read_text()
    assert "1000" not in book


@pytest.mark.slow
def test_no_isolation_cli_says_so_and_still_contains_processes(tmp_path):
    """The fallback (rlimits only) says plainly that isolation is off, in the
    terminal and in the results, and still kills what the submission started."""
    sub = overlay(DATA / "hostile" / "fork_sleepers", tmp_path)
    out = tmp_path / "out"
    before = {**guarded_trees(), "tmp": tree(tmp_path, skip=(out,))}
    proc, elapsed = _run_cli(
        [sub, "--out", out, "--no-isolation", "--time-limit", "5"], cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "isolation is OFF" in proc.stderr and "--no-isolation" in proc.stderr
    doc = json.loads((out / "fork_sleepers" / "results.json").read_text())
    assert doc["metadata"]["isolation"]["filesystem"] is False
    assert "File-system isolation was OFF" in doc["output"]
    assert "File-system isolation was OFF" in (out / "fork_sleepers" / "report.html").read_text()
    assert_outcome(doc, expectation(DATA / "hostile" / "fork_sleepers"))
    assert elapsed < 300
    assert {**guarded_trees(), "tmp": tree(tmp_path, skip=(out,))} == before
    sleepers = [
        p
        for p, (_pp, state, _cmd) in _proc_table().items()
        if state not in _GONE and _comm(p) == "hostile-sleeper" and not _scratch_alive(p)
    ]
    assert sleepers == [], "sleepers of a finished grading are still alive"


def _escaped_sleepers() -> list[int]:
    return [
        p
        for p, (_pp, state, cmd) in _proc_table().items()
        if state not in _GONE and cmd.strip() == "sleep 987654.321"
    ]


@pytest.mark.slow
def test_no_isolation_an_escaped_process_does_not_outlive_the_grading(sandbox, tmp_path):
    """--no-isolation (issue 10): a process with nothing of the grader's about
    it (double fork, new session, empty environment, exec sleep) survives a
    zygote the submission kills unless the grader, a child subreaper, kills
    the orphans that come to it."""
    g = sandbox("rlimits")
    case = DATA / "hostile" / "escape_then_kill_the_zygote"
    try:
        doc, _ = g(overlay(case, tmp_path), _limits(expectation(case)))
        assert_outcome(doc, expectation(case))
        time.sleep(0.5)
        assert _escaped_sleepers() == [], "the escaped sleep outlived the grading"
    finally:
        for pid in _escaped_sleepers():
            os.kill(pid, signal.SIGKILL)


def _comm(pid: int) -> str:
    try:
        return psutil.Process(pid).name()
    except psutil.Error:
        return ""


def _scratch_alive(pid: int) -> bool:
    """Whether the grader that started this process still runs (its scratch exists)."""
    try:
        home = psutil.Process(pid).environ().get("HOME", "")
    except psutil.Error:
        return True
    return bool(home) and os.path.isdir(home)


# -- legitimate code that looks suspicious ----------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", ["helper_modules_named_like_stdlib", "slow_import"])
def test_unusual_but_correct_submissions_grade_normally_and_in_bounded_time(grader, name, tmp_path):
    case = DATA / "correct" / name
    sub = overlay(case, tmp_path)
    started = time.monotonic()
    doc = grader(sub)
    elapsed = time.monotonic() - started
    assert failing(doc) == set(), {
        t["check"]: t["output"] for t in doc["tests"] if t["status"] != "passed"
    }
    limit = grader.options.limits.time
    for ex in doc["exercises"]:
        assert ex["wall_time"] < 4 * limit, ex
    if name == "slow_import":
        blocks = [e for e in doc["exercises"] if e["file"] == "blocks.py"]
        for ex in blocks:  # every run imports blocks.py afresh: 3 s each, far below the limit
            assert 3.0 <= ex["wall_time"] < limit, ex
    assert elapsed < 120, elapsed


# -- learner-terms explanations ------------------------------------------------------------
def test_explanations_are_in_learner_terms():
    set_language("en")
    limits = Limits(time=10.0, memory=2 * GiB)
    where = {
        "step": "construct",
        "label": "MyLinear(5, 3)",
        "location": {"file": "layers.py", "line": 12, "function": "MyLinear.__init__"},
    }
    text = describe_problem({"kind": "timeout", **where}, limits)
    assert text.startswith("time limit (10 s) exceeded in MyLinear.__init__ (layers.py, line 12)")
    text = describe_problem(
        {
            "kind": "timeout",
            "step": "import",
            "label": "devices",
            "location": {"file": "devices.py", "line": 5, "function": "<module>"},
        },
        limits,
    )
    assert text == "time limit (10 s) exceeded while importing devices.py (line 5)"
    assert describe_error(
        {
            "kind": "memory",
            "type": "MemoryError",
            "message": "",
            "frames": [{"file": "blocks.py", "line": 14}],
        },
        "MLP()",
        limits,
    ).startswith("memory limit (2 GiB) exceeded in MLP() at blocks.py, line 14")
    assert (
        describe_problem({"kind": "memory", "step": "", "label": ""}, limits)
        == "memory limit (2 GiB) exceeded"
    )
    assert describe_problem(
        {"kind": "crash", "signal": signal.SIGSEGV, "signal_name": "SIGSEGV", **where}, limits
    ).startswith("the process crashed (segmentation fault) in MyLinear.__init__")
    assert (
        describe_error(
            {
                "kind": "syntax",
                "type": "SyntaxError",
                "file": "blocks.py",
                "line": 12,
                "message": "invalid syntax",
                "frames": [],
            },
            "import blocks",
            limits,
        )
        == "blocks.py: SyntaxError at line 12: invalid syntax"
    )
    assert describe_problem(
        {"kind": "output_limit", "step": "", "label": ""}, Limits(output=1024 * 1024)
    ).startswith("output limit (1 MiB) exceeded")
    assert "3 processes running" in describe_problem(
        {"kind": "leftover_processes", "count": 3}, limits
    )
    assert "1 process running" in describe_problem(
        {"kind": "leftover_processes", "count": 1}, limits
    )


def test_locations_name_the_learners_function():
    src = (DATA / "hostile" / "infinite_loop_ignoring_signals" / "layers.py").read_bytes()
    line = next(i for i, text in enumerate(src.decode().splitlines(), 1) if "while True" in text)
    assert qualified_name(src, line + 1, "__init__") == "MyLinear.__init__"
    assert qualified_name(src, line + 1, "forward") == "forward"  # unsure: keep it
    assert qualified_name(src, 1, "<module>") == "<module>"
    assert (
        qualified_name(
            b"class A:\n    def f(self):\n        return [x for x in y]\n", 3, "<listcomp>"
        )
        == "A.f.<listcomp>"
    )
    dump = (
        "Thread 0x1 (most recent call first):\n"
        '  File "/work/run3/layers.py", line 9 in _forever\n'
        '  File "/usr/lib/python3.11/threading.py", line 975 in run\n\n'
        "Thread 0x2 (most recent call first):\n"
        '  File "/work/run3/layers.py", line 28 in __init__\n'
        '  File "/opt/grader/gchild/probes/layers.py", line 40 in my_linear\n'
        '  File "/opt/grader/gchild/runner.py", line 250 in _child_main\n'
    )
    assert watchdog_location(dump) == {"file": "layers.py", "line": 28, "function": "__init__"}
    crash = (
        "Fatal Python error: Segmentation fault\n\n"
        "Thread 0x2 (most recent call first):\n"
        '  File "/work/run3/layers.py", line 28 in __init__\n'
        '  File "/opt/grader/gchild/runner.py", line 250 in _child_main\n\n'
        "Current thread 0x1 (most recent call first):\n"
        '  File "/work/run3/helpers/spin.py", line 9 in _forever\n'
    )
    assert watchdog_location(crash) == {
        "file": "helpers/spin.py",
        "line": 9,
        "function": "_forever",
    }
    assert watchdog_location("") is None


@pytest.mark.slow
def test_grader_in_a_virtual_environment_under_tmp(tmp_path):
    """A Python installation inside one of the sandbox's scratch folders (a
    virtual environment in /tmp, as CI and many instructors use) is bound on
    top of the sandbox's /tmp and survives the wipe after every run."""
    if not detect_isolation().filesystem:
        pytest.skip("bubblewrap cannot run here (" + detect_isolation().describe() + ")")
    assert str(tmp_path).startswith("/tmp/"), "pytest's tmp_path is expected under /tmp"
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    # The new environment sees the packages of the one running the tests (itself a
    # virtual environment or not) through a .pth file, as a layered install would.
    inner = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    lines = [f"import site; site.addsitedir({p!r})" for p in site.getsitepackages()]
    Path(inner, "outer.pth").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "grader", str(SOLUTIONS), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((out / "solutions" / "results.json").read_text())
    assert doc["metadata"]["isolation"]["filesystem"] is True
    assert doc["score"] == doc["max_score"], [
        e["id"] for e in doc["exercises"] if e["score"] < e["max_score"]
    ]
    assert (venv / "bin" / "python").exists() and (venv / "pyvenv.cfg").is_file()


@pytest.mark.slow
def test_a_folder_the_service_hides_is_empty_inside_the_sandbox(tmp_path):
    """Red-team (service): a data folder placed inside the Python installation
    the sandbox binds would be readable by learner code where the sandbox user
    can read it.  ``sandbox.hide`` masks it; learner code finds it empty."""
    from grader import sandbox
    from grader.assignment import default
    from grader.grading import _run

    if not detect_isolation().filesystem:
        pytest.skip("bubblewrap cannot run here (" + detect_isolation().describe() + ")")
    data = Path(sys.prefix) / f"grader-data-{uuid.uuid4().hex[:8]}"
    data.mkdir(mode=0o755)
    try:
        (data / "secret.txt").write_text("HIDDEN-DATA")
        os.chmod(data / "secret.txt", 0o644)
        sub = tmp_path / "sub"
        shutil.copytree(SOLUTIONS, sub, ignore=shutil.ignore_patterns("__pycache__"))
        (sub / "blocks.py").write_text(
            (sub / "blocks.py").read_text()
            + (f"\nimport os as _os\nprint('LISTED', _os.listdir({str(data)!r}))\n")
        )
        files = read_submission(sub)

        def listed(zyg) -> str:
            zyg.load_submission(files)
            out = _run(zyg, default().by_id["mlp"], "cpu").output
            return next(line for line in out.splitlines() if line.startswith("LISTED"))

        with Zygote(Limits(time=20.0), detect_isolation()) as zyg:
            assert "secret.txt" in listed(zyg)  # the control: bound and readable
        sandbox.hide(data)
        try:
            with Zygote(Limits(time=20.0), detect_isolation()) as zyg:
                assert listed(zyg) == "LISTED []"
        finally:
            sandbox._hidden.discard(str(data.resolve()))
    finally:
        shutil.rmtree(data)
