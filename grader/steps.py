"""Step labels in the learner's language.

A probe names each step it takes in the learner's code: code as a plain
string, shown as sent, or words as a catalog message id with fields
(``grader/child/steps.py``), translated here, so that a Spanish report says
"retropropagación a través de MLP".  Labels come from the sandbox: a message id
is only looked up, and its fields are put in by name, never with
``str.format`` (no attribute access, no padding).
"""

from __future__ import annotations

import string

from .child.steps import label  # noqa: F401 - the wire format, for the grader's own steps
from .i18n import _
from .untrusted import shorten

MAX_LABEL = 300
_FORMATTER = string.Formatter()


def translate(value, depth: int = 0) -> str:
    """The label in the current language (see ``grader.i18n``); anything that
    is not a label gives ""."""
    if isinstance(value, str):
        return shorten(value, MAX_LABEL)
    if not isinstance(value, dict) or depth > 2:
        return ""
    msgid, fields = value.get("msgid"), value.get("fields")
    if not isinstance(msgid, str) or len(msgid) > MAX_LABEL:
        return ""
    fields = fields if isinstance(fields, dict) else {}
    return shorten(_fill(_(msgid), fields, depth), MAX_LABEL)


def _fill(text: str, fields: dict, depth: int) -> str:
    try:
        parts = list(_FORMATTER.parse(text))
    except ValueError:
        return text
    out = []
    for literal, name, spec, conversion in parts:
        out.append(literal)
        if name is None:
            continue
        if name in fields and not spec and not conversion:
            out.append(translate(fields[name], depth + 1))
        else:
            out.append("{" + name + "}")
    return "".join(out)
