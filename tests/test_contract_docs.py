"""The learner-facing contract (EXERCISES.md, EXERCISES.es.md) says what the
grader does: the same exercises, files, devices and points, and under
"Checked" exactly the hidden checks' titles (translated in the Spanish one).
Also: README and the stubs point to the contract."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.assignment import default
from grader.i18n import set_language, translations

ROOT = Path(__file__).resolve().parent.parent
WORK = default()
EXERCISES, FILES, checks_of = WORK.exercises, WORK.file_names, WORK.checks_of

# per language: the file, the words of the line under each heading, the "Checked" line
DOCS = {
    "en": ("EXERCISES.md", "every device", "points", "Checked (one point each):"),
    "es": (
        "EXERCISES.es.md",
        "todos los dispositivos",
        "puntos",
        "Se comprueba (un punto cada una):",
    ),
}
HEADING = re.compile(r"^### `([a-z0-9_]+)` — .*$", re.M)
LAYOUT_ROW = re.compile(r"^\| `([a-z_]+\.py)` \| (.+) \|$", re.M)


def _sections(text: str) -> dict[str, str]:
    """Exercise id -> its section (up to the next heading of any level <= 3)."""
    found = {}
    for match in HEADING.finditer(text):
        rest = text[match.end() :]
        end = re.search(r"^#{1,3} ", rest, re.M)
        found[match.group(1)] = rest[: end.start() if end else len(rest)]
    return found


def _checked(section: str, checked_line: str) -> list[str]:
    lines = section.split(checked_line, 1)[1].strip().splitlines()
    items = []
    for line in lines:
        if not line.startswith("- "):
            break
        items.append(line[2:])
    return items


@pytest.mark.parametrize("lang", sorted(DOCS))
def test_contract_lists_every_exercise_with_its_file_devices_points_and_checks(lang):
    name, every_device, points_word, checked_line = DOCS[lang]
    text = (ROOT / name).read_text(encoding="utf-8")
    sections = _sections(text)
    assert list(sections) == [ex.id for ex in EXERCISES], name
    tr = translations(lang)
    for ex in EXERCISES:
        checks = checks_of(ex.id)
        points = sum(c.points for c in checks)
        where = every_device if ex.model else "CPU"
        meta = f"`{ex.file}` · {where} · {points:g} {points_word}"
        section = sections[ex.id]
        assert section.strip().splitlines()[0] == meta, (name, ex.id)
        assert _checked(section, checked_line) == [tr.gettext(c.title) for c in checks], (
            name,
            ex.id,
        )
    total = sum(c.points for ex in EXERCISES for c in checks_of(ex.id))
    assert f"({total:g} " in text, f"{name} does not give the total, {total:g} points"


@pytest.mark.parametrize("lang", sorted(DOCS))
def test_contract_layout_table_matches_the_exercise_files(lang):
    text = (ROOT / DOCS[lang][0]).read_text(encoding="utf-8")
    rows = {f: re.findall(r"`([a-z0-9_]+)`", ids) for f, ids in LAYOUT_ROW.findall(text)}
    assert rows == {f: [ex.id for ex in EXERCISES if ex.file == f] for f in FILES}


def test_readme_and_every_stub_point_to_the_contract():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "EXERCISES.md" in readme and "EXERCISES.es.md" in readme
    for f in FILES:
        doc = (ROOT / "exercises" / f).read_text(encoding="utf-8")
        assert "EXERCISES.md" in doc and "EXERCISES.es.md" in doc, f
    for name, *_ in DOCS.values():
        assert (ROOT / name).is_file()


def test_the_translations_used_above_are_the_graders():
    """The Spanish check titles compared above are the ones the reports show."""
    set_language("es")
    try:
        from grader.i18n import _

        title = checks_of("mlp")[0].title
        assert _(title) == translations("es").gettext(title) != title
    finally:
        set_language("en")
