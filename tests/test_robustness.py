"""One submission never stops the grader, nor makes it hold much memory.

Whatever a run sends back (forged frames included), whatever a submission
folder holds (names that are not UTF-8, trees too deep), whatever text an
exception carries (lone surrogates), grading that submission ends with its
results written, and anything it cannot make sense of is that submission's
own error.  The first tests parse forged bytes directly (fast); the last ones
grade in the sandbox.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import textwrap
import tracemalloc

import psutil
import pytest
import torch
from safetensors.torch import save as st_save

from grader import grading, untrusted
from grader.assignment import default
from grader.atomic import read_json, write_json
from grader.checking import CheckOutcome, DeviceOutcome, run_checks
from grader.feedback import MAX_MESSAGE
from grader.grading import Options, grade_or_error, submission_hash
from grader.i18n import set_language
from grader.limits import Limits
from grader.observations import (
    MAX_FRAMES,
    MAX_RESULT_NODES,
    MAX_STEPS,
    MAX_TENSOR_BYTES,
    MAX_TENSORS,
    Observation,
    parse_run,
    watchdog_location,
)
from grader.report import render_index, render_report
from grader.results import build_results, error_results
from grader.sandbox import Isolation
from grader.submission import read_folder

from conftest import DATA, ROOT, SOLUTIONS, failing, overlay
from test_sandbox import assert_outcome

GiB = 1024**3


# -- forged frames --------------------------------------------------------------------------
def frame(header: dict | bytes, payload: bytes = b"") -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack(">IQ", len(raw), len(payload)) + raw + payload


def result(doc: dict | bytes, tensors: bytes = b"", size=None) -> bytes:
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    size = len(raw) if size is None else size
    header = b'{"t": "result_header", "size": %s}' % (
        size if isinstance(size, bytes) else json.dumps(size).encode()
    )
    return frame(header, raw + tensors)


def parse(raw: bytes, **reply) -> Observation:
    return parse_run("mlp", "cpu", {"exit_code": 0, **reply}, raw)


GOOD = {"values": {"shape": [3, 10]}, "errors": {}}


def test_a_well_formed_result_is_read():
    obs = parse(
        frame({"t": "step", "name": "forward", "label": "model(X)"})
        + result(GOOD, st_save({"out": torch.ones(2)}))
    )
    assert obs.problem is None
    assert obs.values == {"shape": [3, 10]} and obs.steps == [("forward", "model(X)")]
    assert torch.equal(obs.tensors["out"], torch.ones(2))


@pytest.mark.parametrize(
    "size",
    [
        b"1e999",
        b"-1e999",
        b"NaN",
        b"1e300",
        b'"12"',
        b"true",
        b"-1",
        b"null",
        b"99999999999999999999999999",
        b"[1]",
    ],
)
def test_an_absurd_result_size_is_damage_not_a_crash(size):
    obs = parse(result(GOOD, size=size))
    assert obs.problem["kind"] == "protocol", obs.problem
    assert obs.values == {}


@pytest.mark.parametrize(
    "tensors",
    [
        b"\x00" * 3,  # shorter than its length
        struct.pack("<Q", 16) + b'{"x": "not a t"}' + b"\x00" * 64,  # SafetensorError
        struct.pack("<Q", 1000) + b"{}",  # header past the end
        struct.pack("<Q", 2) + b"[]",  # not an object
        struct.pack("<Q", 60)
        + b'{"x": {"dtype": "F32", "shape": [1e999], "data_offsets": [0, 4]}}',
    ],
)
def test_invalid_tensor_bytes_are_damage_not_a_crash(tensors):
    obs = parse(result(GOOD, tensors))
    assert obs.problem["kind"] == "protocol", obs.problem
    assert obs.values == {} and obs.tensors == {}


def test_a_flood_of_json_values_is_refused_before_it_is_parsed():
    flood = b'{"values": {"x": [' + b"[]," * (8 * 1024 * 1024) + b'[]]}, "errors": {}}'
    raw = result(flood)
    tracemalloc.start()
    try:
        obs = parse(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert obs.problem["kind"] == "result_limit", obs.problem
    assert peak < 2 * 1024 * 1024, peak  # parsed, it would take about 700 MB
    # many values in few bytes, and nesting too deep for the parser
    assert (
        parse(result(b'{"values": {"x": [' + b"0," * 60_000 + b'0]}, "errors": {}}')).problem[
            "kind"
        ]
        == "result_limit"
    )
    deep = b'{"values": {"x": ' + b"[" * 100_000 + b"]" * 100_000 + b'}, "errors": {}}'
    assert parse(result(deep)).problem["kind"] == "result_limit"
    nested = b'{"values": {"x": ' + b"[" * 200 + b"]" * 200 + b'}, "errors": {}}'
    assert parse(result(nested)).problem["kind"] == "result_limit"


def test_too_many_or_too_large_tensors_are_refused():
    many = {f"t{i}": torch.zeros(0) for i in range(MAX_TENSORS + 1)}
    assert parse(result(GOOD, st_save(many))).problem["kind"] == "result_limit"
    big = {"t": torch.zeros(3 * 1024 * 1024)}  # 12 MiB
    assert parse(result(GOOD, st_save(big))).problem["kind"] == "result_limit"
    fine = {f"t{i}": torch.zeros(4) for i in range(40)}
    assert parse(result(GOOD, st_save(fine))).problem is None


def _rss() -> int:
    return psutil.Process().memory_info().rss


@pytest.mark.slow
def test_eighteen_runs_at_every_cap_fit_in_the_grader():
    """A submission's 18 runs, each sending all the caps allow (steps,
    values, errors, tensors, output), held together until the checks: the
    grader grows by well under 1 GiB."""
    item = {"a": {}}
    values = {"x": [item] * ((MAX_RESULT_NODES - 4000) // 3)}
    errors = {
        f"e{i}": {"message": "m" * 2000, "frames": [{"code": "c" * 300}] * 12} for i in range(100)
    }
    doc = json.dumps({"values": values, "errors": errors}).encode()
    tensors = st_save(
        {
            f"t{i}": torch.zeros(MAX_TENSOR_BYTES // 4 // MAX_TENSORS - 64)
            for i in range(MAX_TENSORS - 1)
        }
    )
    steps = frame({"t": "step", "name": "s" * 200, "label": "l" * 300}) * MAX_STEPS
    raw = steps + result(doc, tensors)
    before = _rss()
    kept = [
        parse_run("mlp", "cpu", {"exit_code": 0, "output": "o" * 10**6}, raw) for _ in range(18)
    ]
    grown = _rss() - before
    assert all(o.problem is None and len(o.tensors) == MAX_TENSORS - 1 for o in kept)
    assert grown < 600 * 1024 * 1024, grown / 2**20


def test_frames_and_steps_are_capped():
    step = frame({"t": "step", "name": "s", "label": "x"})
    obs = parse(step * (MAX_FRAMES + 10) + result(GOOD))
    assert obs.problem["kind"] == "result_limit" and len(obs.steps) <= MAX_STEPS
    steps = b"".join(
        frame({"t": "step", "name": f"s{i}", "label": ""}) for i in range(MAX_STEPS + 50)
    )
    obs = parse(steps + result(GOOD))
    assert obs.problem is None and len(obs.steps) == MAX_STEPS
    assert obs.steps[-1][0] == f"s{MAX_STEPS + 49}"  # the last one: where the run was


def test_malformed_step_headers_are_damage_not_a_crash():
    deep = b'{"t": "step", "name": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    obs = parse(frame({"t": "step", "name": "ok", "label": ""}) + frame(deep))
    assert obs.problem["kind"] == "protocol" and obs.steps == [("ok", "")]
    obs = parse(frame({"t": "step", "name": [[1]] * 10, "label": {"a": 1}}) + result(GOOD))
    assert obs.problem is None and obs.steps == [("", "")]


def test_lone_surrogates_never_reach_the_results():
    doc = {
        "values": {"k\udcff": ["v\udcf1", {"deep\ud800": "x\udfff"}]},
        "errors": {
            "forward\udcff": {
                "type": "E\udcff",
                "message": "bad \udcff",
                "frames": [
                    {"file": "a\udcf1o.py", "line": 3, "function": "f\udcff", "code": "c\udcff"}
                ],
            }
        },
    }
    raw = json.dumps(doc).encode()  # escaped as \udcff, as the child's json.dumps does
    raw_utf8 = json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")
    for data in (raw, raw_utf8):
        obs = parse(
            frame({"t": "step", "name": "forward\udcff", "label": "m\udcff"}) + result(data),
            output="printed \udcff",
        )
        text = json.dumps([obs.values, obs.errors, obs.steps, obs.output], ensure_ascii=False)
        text.encode("utf-8")  # strict: no surrogate left
        assert "\ufffd" in text and obs.errors["forward\ufffd"]["message"] == "bad \ufffd"


def test_a_watchdog_line_number_of_any_length_is_no_crash():
    dump = (
        'Current thread 0x1 (most recent call first):\n  File "/work/run1/x.py", line '
        + "9" * 5000
        + " in f\n"
    )
    assert watchdog_location(dump) is None
    obs = parse(result(GOOD), watchdog=dump, location={"file": "x", "line": 10**400})
    assert obs.problem is None


@pytest.mark.parametrize(
    "reply",
    [
        {"wall": 10**400},
        {"wall": float("nan")},
        {"cpu": 10**400, "signal": 9, "cpu_limit": 1e999},
        {"exit_code": 10**400},
        {"signal": 10**30},
    ],
)
def test_absurd_reply_numbers_are_no_crash(reply):
    obs = parse(b"", **reply)
    assert obs.problem is not None and obs.wall >= 0


def test_untrusted_json_caps():
    with pytest.raises(untrusted.TooLarge):
        untrusted.load_json(b"[" + b"1," * 100 + b"1]", max_bytes=10_000, max_nodes=50, max_depth=8)
    with pytest.raises(untrusted.TooLarge):
        untrusted.load_json(b"[" * 20 + b"]" * 20, max_bytes=10_000, max_nodes=50, max_depth=8)
    assert untrusted.load_json(
        b'{"a": [1, "\\udcff"]}', max_bytes=100, max_nodes=10, max_depth=8
    ) == {"a": [1, "\ufffd"]}
    assert untrusted.shorten("x" * 50, 10) == "x" * 9 + "…"
    assert untrusted.shorten("ok\udcff", 10) == "ok\ufffd"


# -- check messages ---------------------------------------------------------------------------
def test_check_messages_quote_a_bounded_part_of_learner_values():
    """param_shapes returning a 100,000-character key: every check that quotes
    it quotes at most MAX_MESSAGE characters, and the exercise's values and
    tensors are released once its checks ran."""
    cases = ("plain", "nested", "tied", "frozen", "buffers")
    obs = Observation("parameter_access", "cpu")
    for case in cases:
        obs.steps += [(f"count/{case}", ""), (f"shapes/{case}", "")]
        obs.values[f"count/{case}"] = {"type": "int", "value": 1}
        obs.values[f"shapes/{case}"] = {
            "type": "dict",
            "items": [
                {
                    "key": "p" * 100_000,
                    "key_type": "str",
                    "value_type": "tuple",
                    "ints": True,
                    "shape": [1],
                }
            ],
        }
    obs.tensors["t"] = torch.zeros(3)
    set_language("en")
    outcomes = run_checks({"parameter_access": {"cpu": obs}})
    messages = [d.message for o in outcomes.values() for d in o.devices.values()]
    assert any("pppp" in m for m in messages)
    assert max(len(m) for m in messages) <= MAX_MESSAGE
    assert obs.values == {} and obs.tensors == {} and obs.steps  # released, steps kept


def test_results_json_stays_small_whatever_the_runs_sent(tmp_path):
    """Every run at its caps (printed output, errors with long tracebacks) and
    every check failing with a long message on two devices: results.json is
    still under 2 MB, and so is the report."""
    frame_ = {"file": "f" * 200, "line": 1, "function": "g" * 200, "code": "c" * 300}
    observations = {}
    for ex in default().exercises:
        observations[ex.id] = {}
        for device in ("cpu", "cuda"):
            obs = Observation(ex.id, device, output="\x00" * 40_000)
            obs.errors = {
                f"s{i}": {
                    "type": "E",
                    "message": f"{i}" + "m" * 1999,
                    "kind": "exception",
                    "frames": [frame_] * 12,
                }
                for i in range(100)
            }
            observations[ex.id][device] = obs
    outcomes = {
        info.id: CheckOutcome(
            info.id, {d: DeviceOutcome("failed", f"{d} " + "x" * 1990) for d in ("cpu", "cuda")}
        )
        for info in default().catalog().values()
    }
    set_language("en")
    doc = build_results(
        name="n",
        observations=observations,
        outcomes=outcomes,
        files={},
        options=Options(devices=["cpu", "cuda"]),
        isolation=Isolation(True, "bubblewrap"),
        execution_time=0.0,
        metadata={},
    )
    write_json(tmp_path / "results.json", doc)
    assert (tmp_path / "results.json").stat().st_size < 2_000_000
    assert len(render_report(doc).encode()) < 2_000_000
    assert all(t["output"] for t in doc["tests"])  # cut, never dropped


def test_the_class_overview_links_folders_whose_names_are_not_utf8():
    options = Options(devices=["cpu"], limits=Limits())
    docs = [
        error_results(
            name=os.fsdecode(b"jos\xe9"),
            error="x",
            options=options,
            isolation=Isolation(True, "bubblewrap"),
        ),
        error_results(
            name="ana maría", error="x", options=options, isolation=Isolation(True, "bubblewrap")
        ),
    ]
    html = render_index(docs, [{"id": ex.id, "title": ex.id} for ex in default().exercises])
    assert 'href="jos%E9/report.html">jos\ufffd</a>' in html
    assert 'href="ana%20mar%C3%ADa/report.html">ana maría</a>' in html
    html.encode("utf-8")


# -- submission folders -----------------------------------------------------------------------
def test_a_file_name_that_is_not_utf8_is_read_as_windows_1252(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "blocks.py").write_text("X = 1\n")
    with open(os.path.join(os.fsencode(sub), b"notas_a\xf1o.py"), "wb") as fh:
        fh.write(b"NOTE = 3\n")
    os.mkdir(os.path.join(os.fsencode(sub), b"datos_\xe9"))
    with open(os.path.join(os.fsencode(sub), b"datos_\xe9", b"x.py"), "wb") as fh:
        fh.write(b"Y = 2\n")
    read = read_folder(sub)
    assert read.files == {
        "blocks.py": b"X = 1\n",
        "notas_año.py": b"NOTE = 3\n",
        "datos_é/x.py": b"Y = 2\n",
    }
    assert any("notas_a\\xf1o.py" in n and "notas_año.py" in n for n in read.notes), read.notes
    assert len(submission_hash(read.files)) == 64
    # the same name twice (UTF-8 and Windows-1252): the UTF-8 one is kept
    (sub / "notas_año.py").write_text("NOTE = 4\n")
    read = read_folder(sub)
    assert read.files["notas_año.py"] == b"NOTE = 4\n"
    assert any("notas_a\\xf1o.py" in n and "left out" in n for n in read.notes), read.notes


@pytest.mark.slow
def test_a_tree_too_deep_or_odd_entries_do_not_stop_reading(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "blocks.py").write_text("X = 1\n")
    fd = os.open(sub, os.O_RDONLY)
    try:
        for _ in range(1200):  # deeper than any recursion allows
            os.mkdir("d", dir_fd=fd)
            new = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = new
        os.close(os.open("deep.py", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
    finally:
        os.close(fd)
    os.mkfifo(sub / "pipe.py")  # reading it would block
    (sub / "link.py").symlink_to("/etc/passwd")
    read = read_folder(sub)
    assert read.files == {"blocks.py": b"X = 1\n"}
    subprocess.run(["rm", "-rf", str(sub)], check=True)  # shutil.rmtree recurses too


def test_results_with_surrogates_are_still_written(tmp_path):
    write_json(tmp_path / "r.json", {"name": "a\udcf1o"})
    assert read_json(tmp_path / "r.json") == {"name": "a\udcf1o"}
    (tmp_path / "r.json").read_bytes().decode("utf-8")  # valid UTF-8 on disk


# -- error outcome ------------------------------------------------------------------------------
def test_error_results_say_why_in_the_learners_language():
    options = Options(devices=["cpu"], limits=Limits())
    isolation = Isolation(True, "bubblewrap")
    for lang, words in (("en", "the grader failed"), ("es", "el corrector falló")):
        set_language(lang)
        try:
            doc = error_results(
                name="ana\udcff",
                error=OverflowError("cannot convert\nmore"),
                options=options,
                isolation=isolation,
                files={"blocks.py": b""},
                metadata={"submission_hash": "x"},
            )
            html = render_report(doc)
        finally:
            set_language("en")
        assert doc["score"] == 0 and doc["max_score"] == default().max_score()
        assert doc["metadata"]["grader_error"] == "OverflowError: cannot convert"
        assert doc["metadata"]["submission"] == "ana\udcff"  # the folder, as it is
        assert "<h1>ana\ufffd</h1>" in html
        assert all(e["status"] == "error" for e in doc["exercises"])
        message = doc["exercises"][0]["problem"]["message"]
        assert words in message and "OverflowError: cannot convert" in message
        assert len(doc["tests"]) == len(default().catalog())
        assert all(t["status"] == "failed" for t in doc["tests"])
        assert words in html
        html.encode("utf-8")


# -- in the sandbox ----------------------------------------------------------------------------
@pytest.mark.slow
def test_a_helper_file_with_a_latin1_name_is_graded(grader, tmp_path):
    """notas_año.py, unzipped from a Windows zip as the bytes notas_a\\xf1o.py,
    imported by blocks.py as notas_año: graded as if its name were UTF-8."""
    sub = tmp_path / "ana"
    shutil.copytree(SOLUTIONS, sub, ignore=shutil.ignore_patterns("__pycache__"))
    with open(os.path.join(os.fsencode(sub), b"notas_a\xf1o.py"), "wb") as fh:
        fh.write(b"HIDDEN = 256\n")
    blocks = (sub / "blocks.py").read_text()
    (sub / "blocks.py").write_text(
        "from notas_año import HIDDEN\n"
        + blocks.replace("nn.Linear(20, 256)", "nn.Linear(20, HIDDEN)")
    )
    doc = grader(sub)
    assert failing(doc) == set(), [t["output"] for t in doc["tests"] if t["status"] != "passed"]
    assert "notas_año.py" in doc["metadata"]["files"]
    assert any("notas_a\\xf1o.py" in n for n in doc["metadata"]["notes"])
    html = render_report(doc)
    assert "notas_a\\xf1o.py" in html
    json.dumps(doc, ensure_ascii=False).encode("utf-8")


@pytest.mark.slow
def test_grade_or_error_turns_any_failure_into_that_submissions_error(
    grader, tmp_path, monkeypatch
):
    sub = overlay(DATA / "hostile" / "syntax_error", tmp_path)

    def broken(observations, work=None):
        raise RuntimeError("the checks broke\nsecond line")

    monkeypatch.setattr(grading, "run_checks", broken)
    set_language("en")
    old = grader.zygote.proc.pid
    doc = grade_or_error(sub, grader.zygote, grader.options, grader.isolation)
    assert doc["metadata"]["grader_error"] == "RuntimeError: the checks broke"
    assert doc["score"] == 0 and all(e["status"] == "error" for e in doc["exercises"])
    assert doc["metadata"]["files"] == sorted(p.name for p in sub.iterdir())
    assert grader.zygote.proc.pid != old  # a fresh sandbox for the next one
    monkeypatch.undo()
    doc = grade_or_error(SOLUTIONS, grader.zygote, grader.options, grader.isolation)
    assert doc["score"] == doc["max_score"] and "grader_error" not in doc["metadata"]


_MEASURE = textwrap.dedent("""
    import json, resource, sys
    from pathlib import Path
    from grader.atomic import write_atomic, write_json
    from grader.grading import Options, grade
    from grader.limits import Limits
    from grader.report import render_index, render_report
    from grader.sandbox import Zygote, detect_isolation
    sub, out = Path(sys.argv[1]), Path(sys.argv[2])
    isolation = detect_isolation(not detect_isolation().filesystem)
    limits = Limits(time=20.0)
    with Zygote(limits, isolation) as zygote:
        doc = grade(sub, zygote, Options(devices=["cpu"], limits=limits), isolation)
    write_atomic(out / "report.html", render_report(doc))
    write_json(out / "results.json", doc)
    print(json.dumps({"maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
""")


@pytest.mark.slow
def test_huge_observations_keep_the_grader_small(tmp_path):
    """Three runs each send 40 MiB of '[],' (parsed: over 1 GB each), one
    declares 200,000 tensors, param_shapes returns a 60,000-character key:
    the grader process stays under 1 GiB, results.json under 2 MB, and only
    the exercises concerned are lost."""
    case = DATA / "hostile" / "huge_observations"
    sub = overlay(case, tmp_path)
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(sub), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rss = json.loads(proc.stdout.strip().splitlines()[-1])["maxrss"]
    size = (out / "results.json").stat().st_size
    doc = json.loads((out / "results.json").read_text())
    assert_outcome(doc, json.loads((case / "expect.json").read_text()))
    assert max(len(t["output"]) for t in doc["tests"]) <= MAX_MESSAGE
    assert rss < 1 * GiB, f"grader peak RSS {rss / GiB:.2f} GiB"
    assert size < 2_000_000, size
    assert (out / "report.html").stat().st_size < 2_000_000


@pytest.mark.slow
def test_a_class_run_survives_what_stopped_it_before(tmp_path):
    """`grade class/` over an exception text with lone surrogates, forged
    frames (size 1e999, invalid safetensors, a header nested 20,000 deep), a
    helper file and a learner folder whose names are not UTF-8: exit 0,
    results for everyone, each losing only what it broke; the same on a rerun."""
    klass = tmp_path / "class"
    klass.mkdir()
    overlay(DATA / "hostile" / "surrogate_exception", klass)
    overlay(DATA / "hostile" / "forged_frames", klass)
    jose = os.path.join(os.fsencode(klass), b"jos\xe9")
    shutil.copytree(SOLUTIONS, os.fsdecode(jose), ignore=shutil.ignore_patterns("__pycache__"))
    with open(os.path.join(jose, b"notas_a\xf1o.py"), "wb") as fh:
        fh.write(b"HIDDEN = 256\n")
    blocks = os.path.join(jose, b"blocks.py")
    with open(blocks, "rb") as fh:
        source = fh.read()
    with open(blocks, "wb") as fh:
        fh.write("from notas_año import HIDDEN\n".encode() + source)
    for _run in range(2):
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                "from grader.cli import run; run()",
                str(klass),
                "--out",
                "reports",
                "--jobs",
                "2",
            ],
            cwd=tmp_path,
            capture_output=True,
            timeout=600,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-3000:].decode(errors="replace")
        out = tmp_path / "reports"
        docs = {
            name: read_json(out / name / "results.json")
            for name in ("surrogate_exception", "forged_frames", "josé")
        }
        # a folder name that is not UTF-8 (a Windows zip) is read as Latin-1
        assert failing(docs["josé"]) == set() and docs["josé"]["metadata"]["submission"] == "josé"
        assert failing(docs["forged_frames"]) == {"mlp", "my_sequential", "fixed_hidden_mlp"}
        assert failing(docs["surrogate_exception"]) == {"centered_layer", "my_linear"}
        book = (out / "gradebook.csv").read_bytes().decode("utf-8").splitlines()
        assert len(book) == 4, book
