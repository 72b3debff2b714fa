"""Renders the learner report and the class overview (jinja2, autoescaped)."""

from __future__ import annotations

import functools
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .i18n import _, language, ngettext

TEMPLATES = Path(__file__).resolve().parent / "templates"


@functools.lru_cache(maxsize=None)
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_callables(lambda s: _(s), lambda s, p, n: ngettext(s, p, n),
                                  newstyle=True)
    env.globals["css"] = (TEMPLATES / "report.css").read_text()
    return env


def render_report(doc: dict) -> str:
    return _env().get_template("report.html.j2").render(doc=doc, lang=language())


def render_index(docs: list[dict], exercises: list[dict]) -> str:
    return _env().get_template("index.html.j2").render(docs=docs, exercises=exercises,
                                                       lang=language())
