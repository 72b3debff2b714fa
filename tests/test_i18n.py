"""Languages: the Spanish catalog is complete and current, and --lang es gives
reports and a terminal summary with no English left.

Updating the catalog after changing learner-facing strings: README.md,
section "Translations".
"""

from __future__ import annotations

import html
import re
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from rich.console import Console

from grader import i18n
from grader.assignment import default
from grader.report import render_index, render_report

from conftest import DATA, ROOT, SOLUTIONS, cases

LOCALE = ROOT / "grader" / "locale"
PO = LOCALE / "es" / "LC_MESSAGES" / "messages.po"
MO = LOCALE / "es" / "LC_MESSAGES" / "messages.mo"
GOLDEN_CASE = Path(__file__).resolve().parent / "golden" / "buggy_learner"
# the files of the many-bugs submission that get a corpus bug (devices.py gets the golden's)
CONTRACT_FILES = tuple(f for f in default().file_names if f != "devices.py")
UPDATE = 'README.md, section "Translations"'


def forms(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def key(message) -> str:
    return forms(message.id)[0]


@pytest.fixture(scope="module")
def catalog():
    with PO.open("rb") as f:
        return read_po(f, locale="es")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """What `pybabel extract` finds in the sources right now."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-o",
            str(pot),
            "grader",
        ],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    with pot.open("rb") as f:
        return read_po(f)


# -- the catalog -----------------------------------------------------------------------------
def test_every_learner_facing_string_has_a_spanish_translation(catalog, extracted):
    missing = []
    for message in extracted:
        if not message.id:
            continue
        translated = catalog.get(message.id)
        if translated is None or translated.fuzzy or not all(forms(translated.string)):
            missing.append(key(message))
    assert not missing, f"{len(missing)} strings are not translated (see {UPDATE}):\n" + "\n".join(
        missing[:40]
    )


def test_catalog_has_no_stale_entries(catalog, extracted):
    current = {key(m) for m in extracted if m.id}
    stale = [key(m) for m in catalog if m.id and key(m) not in current]
    assert not stale, f"the catalog is out of date (see {UPDATE}): {stale[:20]}"


def test_compiled_catalog_matches_the_po_file(catalog):
    with MO.open("rb") as f:
        compiled = read_mo(f)
    po = {key(m): forms(m.string) for m in catalog if m.id and not m.fuzzy}
    mo = {key(m): forms(m.string) for m in compiled if m.id}
    assert mo == po, f"messages.mo is older than messages.po: run pybabel compile ({UPDATE})"


def fields(text: str) -> list[tuple]:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        return [("unparsable", str(exc))]
    return sorted((name, spec, conv) for _, name, spec, conv in parsed if name is not None)


def test_translations_keep_format_placeholders(catalog):
    broken = []
    for message in catalog:
        if not message.id:
            continue
        expected = {tuple(fields(i)) for i in forms(message.id)}
        for translated in forms(message.string):
            if tuple(fields(translated)) not in expected:
                broken.append(f"{key(message)!r} -> {translated!r}")
    assert not broken, "\n".join(broken)


def test_translations_keep_rich_markup(catalog):
    for message in catalog:
        tags = re.findall(r"\[/?[a-z ]*\]", key(message))
        if tags:
            for translated in forms(message.string):
                assert re.findall(r"\[/?[a-z ]*\]", translated) == tags, key(message)


def test_spanish_plural_forms_cover_every_form(catalog):
    for message in catalog:
        if message.pluralizable:
            assert len(forms(message.string)) == catalog.num_plurals, key(message)


def test_set_language_switches_the_catalog_and_rejects_unknown_languages():
    try:
        i18n.set_language("es")
        assert i18n._("Passed") == "Superado" and i18n.language() == "es"
        i18n.set_language("en")
        assert i18n._("Passed") == "Passed"
    finally:
        i18n.set_language("en")
    with pytest.raises(ValueError, match="unknown language"):
        i18n.set_language("fr")


# -- no English left in Spanish output ------------------------------------------------------------
LEARNER_TEXT = re.compile(
    r'<(pre) class="(?:code|output)">.*?</pre>|<span class="exc-message">.*?</span>'
    r"|<(style|script)\b.*?</\2>",
    re.DOTALL,
)


def english_left(page: str, catalog) -> list[str]:
    """Catalog strings that appear untranslated in a Spanish page.

    Learner text (code lines, exception messages, printed output) is left out.
    A one-word string counts only as a whole element text; a string with
    placeholders counts when its fixed words appear around any values.
    """
    page = LEARNER_TEXT.sub(" ", page)
    nodes = {html.unescape(t).strip().rstrip(":") for t in re.findall(r">([^<>]+)<", page)}
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))
    found = []
    for message in catalog:
        if not message.id:
            continue
        translations = forms(message.string)
        for source in forms(message.id):
            if source in translations:
                continue
            if " " not in source.strip():
                hit = source.strip().rstrip(":") in nodes
            elif "{" in source:
                parts = re.split(r"\{[^{}]*\}", source.replace("{{", "").replace("}}", ""))
                if sum(len(p.strip()) for p in parts) < 12:
                    continue
                pattern = ".{0,400}?".join(re.escape(re.sub(r"\s+", " ", p)) for p in parts)
                hit = re.search(pattern, text) is not None
            else:
                hit = re.sub(r"\s+", " ", source) in text
            if hit:
                found.append(source)
    return found


def many_bugs(dest: Path) -> Path:
    """The reference solutions with one corpus bug per contract file (or the golden case)."""
    sub = dest / "muchos_errores"
    shutil.copytree(SOLUTIONS, sub, ignore=shutil.ignore_patterns("__pycache__"))
    for name in CONTRACT_FILES:
        case = next(
            (c for c in cases("buggy") if sorted(p.name for p in c.glob("*.py")) == [name]), None
        )
        source = case / name if case else GOLDEN_CASE / name
        if source.is_file():
            shutil.copy(source, sub / name)
    shutil.copy(GOLDEN_CASE / "devices.py", sub / "devices.py")  # a SyntaxError
    return sub


@pytest.fixture(scope="module")
def spanish_docs(grader, tmp_path_factory) -> list[dict]:
    where = tmp_path_factory.mktemp("es")
    golden = where / "golden"
    shutil.copytree(
        SOLUTIONS, golden / GOLDEN_CASE.name, ignore=shutil.ignore_patterns("__pycache__")
    )
    for f in GOLDEN_CASE.glob("*.py"):
        shutil.copy(f, golden / GOLDEN_CASE.name / f.name)
    return [grader(many_bugs(where), lang="es"), grader(golden / GOLDEN_CASE.name, lang="es")]


@pytest.mark.slow
def test_spanish_reports_leave_no_catalog_string_in_english(spanish_docs, catalog):
    assert DATA.is_dir()
    for doc in spanish_docs:
        assert doc["score"] < doc["max_score"]
        page = render_report(doc)
        assert 'lang="es"' in page
        assert english_left(page, catalog) == [], doc["metadata"]["submission"]


@pytest.mark.slow
def test_spanish_class_overview_leaves_no_catalog_string_in_english(spanish_docs, catalog):
    translate = i18n.translations("es").gettext
    page = render_index(
        spanish_docs,
        [{"id": e.id, "title": translate(e.title)} for e in default().exercises],
        lang="es",
    )
    assert english_left(page, catalog) == []
    for word in (
        "Resumen de la clase",
        "Puntuación media",
        "Descargar el libro de calificaciones",
        "Distribución de las puntuaciones totales",
    ):
        assert word in page


def test_spanish_report_reads_as_spanish(spanish_docs):
    page = render_report(spanish_docs[1])
    for words in (
        "Puntuación total",
        "Pista:",
        "No superado",
        "Superado en parte",
        "Aún sin implementar",
        "comprobaciones",
        "Tu código lanzó ValueError",
        "el error ocurrió aquí",
        "Mostrar solo los problemas",
        "MLP: un bloque con dos capas",
        "SyntaxError en la línea",
    ):
        assert words in page, words


def test_english_finder_catches_an_untranslated_string(catalog):
    page = "<p>Total score</p><p>1 of 3 exercises passed; 2 of 9 checks passed.</p><p>Hint</p>"
    assert "Total score" in english_left(page, catalog)
    assert english_left("<p>Puntuación total</p>", catalog) == []
    assert any(s.startswith("{passed} of {total} exercises") for s in english_left(page, catalog))


def test_terminal_summary_is_in_spanish(spanish_docs):
    from grader.cli import _summary_table

    console = Console(record=True, width=140, color_system=None)
    try:
        i18n.set_language("es")
        console.print(_summary_table(spanish_docs[:1]))
        console.print(_summary_table(spanish_docs))
    finally:
        i18n.set_language("en")
    out = console.export_text()
    for words in (
        "puntos",
        "Ejercicio",
        "Puntuación",
        "Estado",
        "superado",
        "2 entregas",
        "Ejercicios superados",
        "Entrega",
    ):
        assert words in out, words
    for english in ("points", "Exercise", "Status", "passed", "submissions"):
        assert english not in out, english


def test_every_step_label_in_words_is_a_catalog_message(catalog):
    """Step labels travel from the sandbox as message ids (grader/child/steps.py)
    and are translated in the grader: every ``label(...)`` in the probes names
    its message with ``N_`` (so that extraction, and the tests above, see it) or
    a fixture's name table, whose values are ``N_``-marked."""
    import ast

    probes = sorted((ROOT / "grader").rglob("probe.py")) + [
        ROOT / "grader" / "child" / "probes" / "__init__.py"
    ]
    seen = 0
    for path in probes:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "label":
                first = node.args[0]
                assert isinstance(first, ast.Subscript) or (
                    isinstance(first, ast.Call)
                    and getattr(first.func, "id", "") == "N_"
                    and isinstance(first.args[0], ast.Constant)
                    and first.args[0].value in {key(m) for m in catalog}
                ), f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(first)}"
                seen += 1
    assert seen >= 10


def test_a_forged_step_label_is_shown_as_sent_never_formatted():
    """Labels come from the sandbox: a message id is looked up and its fields
    put in by name only (no attribute access, no padding, no deep nesting)."""
    from grader.steps import label, translate

    assert (
        translate(
            label(
                "{x.__class__} {y:>99999999} {z!r} {w}",
                x="a",
                y="b",
                z="c",
                w=label("{w}", w=label("{w}", w=label("{w}", w="deep"))),
            )
        )
        == "{x.__class__} {y} {z} "
    )
    assert translate({"msgid": 3, "fields": {}}) == translate(["x"]) == ""
    assert len(translate(label("{a}{a}{a}", a="x" * 1000))) <= 300
