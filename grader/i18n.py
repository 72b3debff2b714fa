"""Learner-facing language: gettext catalogs compiled with Babel.

``_`` translates now, in the current language; ``N_`` only marks a string for
extraction, to be translated when it is shown (titles and hints defined at
import time).  ``translations(lang)`` gives the catalog of any language without
changing the current one (the report renders in the language of its results).

The catalogs live in ``grader/locale/<lang>/LC_MESSAGES/messages.{po,mo}``;
README.md, section "Translations", has the one-line update procedure.
"""

from __future__ import annotations

import functools
import gettext
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
LANGUAGES = ("en", "es")

_current: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog of ``lang`` (English, the source language, needs none)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[lang])


def set_language(lang: str) -> None:
    global _current, _language
    _current = translations(lang)
    _language = lang


def language() -> str:
    return _language


def _(message: str) -> str:
    return _current.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current.ngettext(singular, plural, n)


def N_(message: str) -> str:
    return message
