"""The learner report and the class overview: content, escaping, goldens, a
real browser.

Goldens: ``pytest tests/test_report.py --update-goldens`` (the option comes
from tests/conftest_report_plugin.py) or ``UPDATE_GOLDENS=1 pytest
tests/test_report.py`` rewrites tests/golden/report.*.html from the current
output; review the diff before committing it.
"""

from __future__ import annotations

import copy
import difflib
import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader.report import (
    OUTPUT_CHARS,
    band,
    check_failures,
    histogram,
    render_index,
    render_report,
    trim_output,
)

from conftest import ROOT, SOLUTIONS, overlay
from conftest_report_plugin import update_goldens_requested

GOLDEN = Path(__file__).resolve().parent / "golden"
CASE = GOLDEN / "buggy_learner"  # the graded submission of the goldens
SCREENSHOTS = ROOT / "reports" / "screenshots"


# -- helpers ---------------------------------------------------------------------------
class Elements(HTMLParser):
    """Start tags with their attributes, in document order."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def count(self, tag: str) -> int:
        return sum(1 for t, _ in self.tags if t == tag)


def text_of(page: str) -> str:
    """Visible text, roughly: no tags, no style or script bodies."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.DOTALL)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def exercises_of(doc: dict) -> list[dict]:
    return [{"id": e["id"], "title": e["title"]} for e in doc["exercises"]]


def details_open(page: str, exercise: str) -> bool:
    m = re.search(
        rf'<section [^>]*id="ex-{re.escape(exercise)}"[^>]*>\s*'
        r'<details class="exercise-details"( open)?>',
        page,
    )
    assert m, f"no section for {exercise}"
    return m.group(1) is not None


def synthetic_doc(**changes) -> dict:
    """A small results.json: one passing exercise, one failing with learner text."""
    evil = "<script>alert(1)</script>"
    doc = {
        "score": 1.0,
        "max_score": 3.0,
        "execution_time": 1.25,
        "output": "",
        "tests": [
            {
                "name": "a: ok",
                "score": 1.0,
                "max_score": 1.0,
                "status": "passed",
                "output": "",
                "exercise": "a",
                "check": "a.ok",
                "title": "First check",
                "hint": "hint a",
                "devices": {"cpu": {"status": "passed", "message": ""}},
            },
            {
                "name": "b: shape",
                "score": 0.0,
                "max_score": 1.0,
                "status": "failed",
                "output": f"forward raised ValueError: {evil}",
                "exercise": "b",
                "check": "b.shape",
                "title": "Shape check",
                "hint": "Use <b>reshape</b>",
                "devices": {
                    "cpu": {"status": "failed", "message": "x"},
                    "cuda": {"status": "passed", "message": ""},
                },
            },
            {
                "name": "b: values",
                "score": 0.0,
                "max_score": 1.0,
                "status": "failed",
                "output": "values differ",
                "exercise": "b",
                "check": "b.values",
                "title": "Values check",
                "hint": "",
                "devices": {},
            },
        ],
        "exercises": [
            {
                "id": "a",
                "title": "Exercise A",
                "file": "a.py",
                "score": 1.0,
                "max_score": 1.0,
                "status": "passed",
                "problem": None,
                "output": "",
                "output_truncated": False,
                "devices": ["cpu"],
                "errors": [
                    {
                        "step": "load_tensors(pickled code)",
                        "device": "cpu",
                        "type": "UnpicklingError",
                        "message": "expected by the check",
                        "kind": "exception",
                        "frames": [],
                    }
                ],
            },
            {
                "id": "b",
                "title": "Exercise B",
                "file": "b.py",
                "score": 0.0,
                "max_score": 2.0,
                "status": "failed",
                "problem": None,
                "output": evil + "\n" + "x" * (3 * OUTPUT_CHARS),
                "output_truncated": True,
                "devices": ["cpu", "cuda"],
                "errors": [
                    {
                        "step": "forward",
                        "device": "cpu",
                        "type": "ValueError",
                        "message": evil,
                        "kind": "exception",
                        "frames": [
                            {
                                "file": "b.py",
                                "line": 3,
                                "function": "helper",
                                "code": "return helper2(X)",
                            },
                            {
                                "file": "b.py",
                                "line": 9,
                                "function": "helper2",
                                "code": f"raise ValueError('{evil}')",
                            },
                        ],
                    }
                ],
            },
        ],
        "metadata": {
            "submission": "ana<b>",
            "language": "en",
            "graded_at": "2024-05-06T07:08:09+00:00",
            "grader_version": "9.9.9",
            "torch_version": "2.13.0",
            "devices": ["cpu", "cuda"],
            "devices_unavailable": [],
            "limits": {
                "time_s": 10.0,
                "memory": "2 GiB",
                "output": "1 MiB",
                "processes": 64,
                "file_size": "64 MiB",
            },
            "isolation": {"filesystem": False, "method": "none", "reason": "bwrap <missing>"},
        },
    }
    doc.update(changes)
    return doc


# -- graded fixtures -----------------------------------------------------------------------
@pytest.fixture
def update_goldens(request) -> bool:
    """--update-goldens (tests/conftest_report_plugin.py) or UPDATE_GOLDENS=1."""
    return update_goldens_requested(request.config)


@pytest.fixture(scope="module")
def graded(grader, tmp_path_factory) -> dict:
    """The golden case graded in each language, plus where it was built."""
    where = tmp_path_factory.mktemp("golden")
    sub = overlay(CASE, where)
    return {"en": grader(sub, lang="en"), "es": grader(sub, lang="es"), "tmp": str(where)}


@pytest.fixture(scope="module")
def graded_solutions(grader) -> dict:
    return grader(SOLUTIONS, lang="en")


# -- pure helpers ------------------------------------------------------------------------------
def test_histogram_puts_each_score_in_one_bin_and_full_marks_in_the_last():
    bins = histogram([0.0, 0.05, 0.5, 0.99, 1.0])
    assert [b["count"] for b in bins] == [2, 0, 0, 0, 0, 1, 0, 0, 0, 2]
    assert bins[0]["low"] == 0.0 and bins[-1]["high"] == 1.0


def test_band_names_score_ranges():
    assert [band(s, 10) for s in (10, 8, 5, 1, 0)] == ["full", "high", "mid", "low", "zero"]
    assert band(0, 0) == "zero"


def test_trim_output_keeps_the_start_and_says_how_much_was_cut():
    out = trim_output("a\n" * 1000, chars=100, lines=10)
    assert out["text"] == "a\n" * 9 + "a" and out["cut"] and out["total"] == 2000
    assert not trim_output("short")["cut"]


def test_check_failures_counts_the_share_of_submissions_failing_each_check():
    docs = [synthetic_doc(), synthetic_doc()]
    docs[1]["tests"][1]["status"] = "passed"
    rows = {r["check"]: r for r in check_failures(docs)}
    assert (rows["a.ok"]["failed"], rows["b.shape"]["failed"], rows["b.values"]["failed"]) == (
        0,
        1,
        2,
    )
    assert rows["b.shape"]["share"] == 0.5 and rows["b.shape"]["total"] == 2


# -- learner report: synthetic results ------------------------------------------------------------
def test_report_escapes_everything_the_learner_wrote():
    page = render_report(synthetic_doc())
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "ana&lt;b&gt;" in page and "bwrap &lt;missing&gt;" in page
    assert Elements(page).count("script") == 1  # the report's own script only
    assert Elements(page).count("b") == 0


def test_report_is_self_contained():
    page = render_report(synthetic_doc())
    tags = Elements(page).tags
    assert not [a for t, a in tags if t in ("link", "img", "iframe", "object", "embed")]
    assert not [a for t, a in tags if a.get("src")]
    assert not re.search(r"""(href|src)=["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page


def test_report_header_has_score_versions_devices_limits_and_isolation():
    text = text_of(render_report(synthetic_doc()))
    assert "1 / 3 points" in text and "(33%)" in text
    assert "grader 9.9.9, torch 2.13.0" in text
    assert "checks ran on: cpu, cuda" in text
    assert "10 s per run, 2 GiB of memory, 1 MiB of printed output, 64 processes" in text
    assert "File-system isolation was OFF for this run: bwrap <missing>" in text
    assert "May 6, 2024" in text


def test_report_shows_status_as_symbol_and_word():
    page = render_report(synthetic_doc())
    assert '<span class="sym" aria-hidden="true">✔</span> Passed' in page
    assert '<span class="sym" aria-hidden="true">✘</span> Failed' in page


def test_report_opens_failing_exercises_and_collapses_passing_ones():
    page = render_report(synthetic_doc())
    assert not details_open(page, "a")
    assert details_open(page, "b")


def test_report_shows_message_hint_points_and_per_device_outcomes():
    text = text_of(render_report(synthetic_doc()))
    assert "Shape check" in text and "Hint: Use <b>reshape</b>" in text
    assert "cpu ✘ failed" in text and "cuda ✔ passed" in text
    assert "0 / 2 points" in text


def test_report_traceback_lists_learner_frames_and_marks_the_failing_line():
    page = render_report(synthetic_doc())
    text = text_of(page)
    assert "b.py, line 3, in helper" in text
    assert "b.py, line 9, in helper2 ← the error happened here" in text
    assert re.search(r'class="frame is-failing">.*?raise ValueError', page, re.DOTALL)


def test_report_hides_exceptions_the_checks_expected():
    text = text_of(render_report(synthetic_doc()))
    assert "UnpicklingError" not in text  # exercise a passed: the exception was expected


def test_report_caps_printed_output_in_a_collapsed_block():
    page = render_report(synthetic_doc())
    out = re.search(r'<details class="printed">.*?<pre class="output">(.*?)</pre>', page, re.DOTALL)
    assert out and len(html.unescape(out.group(1))) <= OUTPUT_CHARS
    text = text_of(page)
    assert (
        f"Only the first 4,000 of {len(synthetic_doc()['exercises'][1]['output']):,} "
        "characters are shown here." in text
    )
    assert "more than the output limit allows" in text


def test_report_works_without_javascript_and_prints_everything():
    page = render_report(synthetic_doc())
    assert re.search(r'<div class="toolbar" hidden>', page)  # the switch needs JS
    assert "@media print" in page and "::details-content" in page
    assert "beforeprint" in page
    assert Elements(page).count("details") >= 3


def test_report_says_so_when_everything_passed():
    doc = synthetic_doc()
    doc["exercises"] = doc["exercises"][:1]
    doc["tests"] = doc["tests"][:1]
    assert "No problems: every check passed." in text_of(render_report(doc))


def test_report_language_follows_the_results_unless_asked():
    doc = synthetic_doc()
    assert 'lang="en"' in render_report(doc)
    page = render_report(doc, lang="es")
    assert 'lang="es"' in page and "Puntuación total" in page and "6 may 2024" in page


# -- class overview ----------------------------------------------------------------------------
def test_index_links_each_row_to_its_report_and_offers_the_gradebook():
    docs = [synthetic_doc(), synthetic_doc()]
    docs[1]["metadata"] = {**docs[1]["metadata"], "submission": "luis garcía"}
    page = render_index(docs, exercises_of(docs[0]))
    assert 'href="ana%3Cb%3E/report.html">ana&lt;b&gt;</a>' in page
    assert 'href="luis%20garc%C3%ADa/report.html"' in page
    assert 'href="gradebook.csv"' in page
    assert '<table class="grades" data-sortable>' in page


def test_index_cells_carry_score_text_and_colour_band():
    page = render_index([synthetic_doc()], exercises_of(synthetic_doc()))
    assert re.search(r'<td class="num band-full" data-sort="1.0"[^>]*>1<span class="of">/1', page)
    assert re.search(r'<td class="num band-zero" data-sort="0.0"[^>]*>0<span class="of">/2', page)


def test_index_draws_histogram_and_check_failures_as_inline_svg():
    docs = [synthetic_doc(), synthetic_doc()]
    docs[1]["tests"][1]["status"] = "passed"
    page = render_index(docs, exercises_of(docs[0]))
    assert Elements(page).count("svg") >= 3
    text = text_of(page)
    assert "30% to 40%: 2" in text  # both totals are 1 / 3
    assert "Values check 100% (2 of 2)" in text
    assert "Shape check 50% (1 of 2)" in text
    assert text.index("Values check") < text.index("Shape check")  # most failed first
    assert "1 check was passed by everyone" in text


# -- graded submissions: escaping, goldens -------------------------------------------------
def test_graded_report_shows_printed_html_and_html_exceptions_as_text(graded):
    page = render_report(graded["en"])
    assert "<script>alert(1)" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;empty&lt;/b&gt; &amp; &lt;img src=x onerror=alert(2)&gt;" in page
    parsed = Elements(page)
    assert parsed.count("script") == 1 and parsed.count("img") == 0 and parsed.count("b") == 0


def normalised(doc: dict, tmp: str) -> dict:
    """The doc without what changes from run to run or machine to machine."""
    doc = copy.deepcopy(doc)
    meta = doc["metadata"]
    meta.update(
        graded_at="2024-01-02T03:04:05+00:00",
        grader_version="<grader>",
        torch_version="<torch>",
        submission_hash="<hash>",
        isolation={"filesystem": True, "method": "bubblewrap", "reason": ""},
    )
    meta.pop("cache_key", None)
    doc["execution_time"] = 1.0
    for ex in doc["exercises"]:
        ex["wall_time"] = 0.0
    text = json.dumps(doc).replace(json.dumps(tmp)[1:-1], "<tmp>")
    return json.loads(text.replace(json.dumps(str(ROOT))[1:-1], "<root>"))


def normalised_html(page: str) -> str:
    """Inline CSS and JS belong to the templates, not to this submission."""
    page = re.sub(r"<style>.*?</style>", "<style>/* report.css */</style>", page, flags=re.DOTALL)
    return re.sub(
        r"<script>.*?</script>", "<script>/* report.js */</script>", page, flags=re.DOTALL
    )


@pytest.mark.parametrize("lang", ["en", "es"])
def test_report_matches_its_golden_file(graded, lang, update_goldens):
    page = normalised_html(render_report(normalised(graded[lang], graded["tmp"])))
    golden = GOLDEN / f"report.{lang}.html"
    if update_goldens or not golden.exists():
        golden.write_text(page, encoding="utf-8")
        if not update_goldens:
            pytest.fail(f"{golden} did not exist and was written; check it and rerun")
        return
    expected = golden.read_text(encoding="utf-8")
    diff = "".join(
        list(
            difflib.unified_diff(
                expected.splitlines(True), page.splitlines(True), str(golden), "rendered now"
            )
        )[:80]
    )
    assert page == expected, (
        "the report differs from its golden file; if the change is "
        "intended, rerun with --update-goldens\n" + diff
    )


def test_real_report_sections_follow_the_contract_order(graded):
    from grader.assignment import default

    page = render_report(graded["en"])
    positions = [page.index(f'id="ex-{ex.id}"') for ex in default().exercises]
    assert positions == sorted(positions)


# -- a real browser --------------------------------------------------------------------------------
CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)

PROBE = """<script>
(function () {
  var vis = function (el) { return !!el && el.checkVisibility({checkVisibilityCSS: true}); };
  var byId = function (id) { return document.getElementById(id); };
  var msg = byId("check-my_sequential.empty").querySelector(".message");
  var out = {
    score: document.querySelector(".total-score strong").innerText,
    score_visible: vis(document.querySelector(".total-score strong")),
    message: msg.innerText, message_visible: vis(msg),
    toolbar_visible: vis(document.querySelector(".toolbar")),
    passing_body_visible: vis(byId("ex-fixed_hidden_mlp").querySelector(".ex-body")),
    failing_body_visible: vis(byId("ex-mlp").querySelector(".ex-body"))
  };
  document.getElementById("only-problems").click();
  out.passing_hidden_by_switch = !vis(byId("ex-fixed_hidden_mlp"));
  out.failing_kept_by_switch = vis(byId("ex-mlp"));
  document.body.setAttribute("data-probe", JSON.stringify(out));
})();
</script>"""


# Measures a page (or, with frame=ID, the page in that iframe) once it has loaded.
WIDTH_PROBE = """<script>
window.addEventListener("load", function () {{
  var f = "{frame}" ? document.getElementById("{frame}") : null;
  var d = f ? f.contentDocument : document, w = d.defaultView;
  var r = {{win: w.innerWidth, doc_scroll: d.documentElement.scrollWidth}};
  {js}
  document.body.setAttribute("data-probe", JSON.stringify(r));
}});
</script>"""


def probed(dom: str) -> dict:
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, "the probe script did not run"
    return json.loads(html.unescape(found.group(1)))


def chromium(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    args = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1280,2000",
        "--hide-scrollbars",
        "--virtual-time-budget=5000",
        *extra,
        url,
    ]
    return subprocess.run(args, check=False, capture_output=True, text=True, timeout=120)


def screenshot(url: str, profile: Path, name: str, *extra: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    path.unlink(missing_ok=True)
    chromium(url, profile, f"--screenshot={path}", *extra)
    assert path.is_file() and path.stat().st_size > 10_000, f"no screenshot at {path}"
    return path


def dump_dom(url: str, profile: Path, *extra: str) -> str:
    proc = chromium(url, profile, "--dump-dom", *extra)
    assert proc.returncode == 0 and "<html" in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


def pdf_pages(url: str, profile: Path, pdf: Path) -> int:
    chromium(url, profile, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    assert pdf.is_file(), f"no PDF printed from {url}"
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (apt-get install chromium; .ci/run installs it)",
)
def test_reports_render_in_a_real_browser(graded, graded_solutions, tmp_path):
    out = tmp_path / "reports"
    docs = [graded["en"], graded_solutions]
    for doc in docs:
        (out / doc["metadata"]["submission"]).mkdir(parents=True)
        (out / doc["metadata"]["submission"] / "report.html").write_text(render_report(doc))
    (out / "index.html").write_text(render_index(docs, exercises_of(graded["en"])))
    (tmp_path / "es.html").write_text(render_report(graded["es"]))
    report = out / "buggy_learner" / "report.html"
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text().replace("</body>", PROBE + "</body>"))

    screenshot(report.as_uri(), tmp_path / "p1", "report_en.png")
    screenshot((tmp_path / "es.html").as_uri(), tmp_path / "p2", "report_es.png")
    # Without JavaScript: a policy that blocks every script (the page's own included).
    nojs_page = tmp_path / "nojs.html"
    no_scripts = '<meta http-equiv="Content-Security-Policy" content="script-src \'none\'">'
    nojs_page.write_text(report.read_text().replace("<head>", "<head>" + no_scripts))
    screenshot(nojs_page.as_uri(), tmp_path / "p3", "report_nojs.png")
    screenshot((out / "index.html").as_uri(), tmp_path / "p4", "index.png")

    dom = dump_dom(probe.as_uri(), tmp_path / "p5")
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, "the probe script did not run"
    seen = json.loads(html.unescape(found.group(1)))
    score = f"{graded['en']['score']:g}"
    assert seen["score"] == score and seen["score_visible"]
    assert seen["message_visible"] and "raised ValueError: <b>empty</b>" in seen["message"]
    assert seen["toolbar_visible"] and seen["failing_body_visible"]
    assert not seen["passing_body_visible"]
    assert seen["passing_hidden_by_switch"] and seen["failing_kept_by_switch"]

    nojs = dump_dom(nojs_page.as_uri(), tmp_path / "p6")
    assert '<div class="toolbar" hidden="">' in nojs
    assert "MySequential().forward raised ValueError" in text_of(nojs)

    # Printing expands the collapsed (passing) exercises, by CSS alone (scripts blocked):
    # more pages than the same page without its print rules.
    source = (
        (out / "solutions" / "report.html").read_text().replace("<head>", "<head>" + no_scripts)
    )
    printable, unprintable = tmp_path / "printable.html", tmp_path / "unprintable.html"
    printable.write_text(source)
    unprintable.write_text(source.replace("@media print", "@media not all"))
    pages = [
        pdf_pages(page.as_uri(), tmp_path / f"pdf{i}", tmp_path / f"{i}.pdf")
        for i, page in enumerate((printable, unprintable))
    ]
    assert pages[0] > pages[1] >= 1, pages

    # Widths: the overview's Total column is visible at 1280 px without scrolling; the
    # report's header (the metadata table) fits a 400 px phone screen.
    index_probe = tmp_path / "index_probe.html"
    index_probe.write_text(
        (out / "index.html")
        .read_text()
        .replace(
            "</body>",
            WIDTH_PROBE.format(
                js="""var t = document.querySelector("table.grades"),
            th = t.querySelectorAll("thead th");
        r.total_right = th[th.length - 1].getBoundingClientRect().right;
        r.wrap_scroll = t.parentElement.scrollWidth; r.wrap_width = t.parentElement.clientWidth;
        """,
                frame="",
            )
            + "</body>",
        )
    )
    seen = probed(dump_dom(index_probe.as_uri(), tmp_path / "p8"))
    assert seen["win"] == 1280 and seen["total_right"] <= seen["win"], seen
    assert seen["wrap_scroll"] <= seen["wrap_width"], seen
    framed = tmp_path / "framed.html"
    framed.write_text(
        f'<!DOCTYPE html><html><body style="margin:0"><iframe id="f" src="{report.as_uri()}" '
        'style="width:400px;height:1500px;border:0"></iframe>'
        + WIDTH_PROBE.format(
            frame="f",
            js="""var m = d.querySelector("dl.meta");
            r.meta_scroll = m.scrollWidth; r.meta_width = m.clientWidth;
            r.over = [];
            d.querySelectorAll("header *").forEach(function (el) {
              if (el.getBoundingClientRect().right > w.innerWidth + 1) r.over.push(el.tagName);
            });""",
        )
        + "</body></html>"
    )
    seen = probed(dump_dom(framed.as_uri(), tmp_path / "p9", "--allow-file-access-from-files"))
    assert seen["win"] == 400 and seen["doc_scroll"] <= 400, seen
    assert seen["meta_scroll"] <= seen["meta_width"] and not seen["over"], seen

    overview = text_of(dump_dom((out / "index.html").as_uri(), tmp_path / "p7"))
    assert "buggy_learner" in overview and "solutions" in overview
    assert f"{score}/{graded['en']['max_score']:g}" in overview.replace(" ", "")
