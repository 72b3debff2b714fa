"""Bounds and cleans data that came from learner code or a learner's files.

Text: no lone surrogates (they cannot be written as UTF-8, so one in an
exception message or a file name would stop results.json and the report from
being written), and a length cap where learner values are quoted.  JSON: a cap
on bytes, on nodes (checked before parsing, so a flood of ``[],`` costs
nothing) and on nesting (checked without recursion).  File names: bytes that
are not UTF-8 (a zip made on Windows) are read as Windows-1252.
"""

from __future__ import annotations

import json
import re

_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"
ELLIPSIS = "…"


class TooLarge(ValueError):
    """Untrusted data over one of its caps."""


def clean_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD."""
    if text.isascii():
        return text
    return _SURROGATE.sub(REPLACEMENT, text)


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters, marked with an ellipsis when cut."""
    if len(text) > limit:
        text = text[: max(limit - 1, 0)] + ELLIPSIS
    return clean_text(text)


def load_json(raw: bytes | memoryview, *, max_bytes: int, max_nodes: int, max_depth: int):
    """Parse ``raw`` as JSON within the caps; strings come back clean.

    Raises ``TooLarge`` (a ``ValueError``) over a cap, ``ValueError`` for
    anything that is not JSON."""
    if len(raw) > max_bytes:
        raise TooLarge(f"{len(raw)} bytes of JSON (at most {max_bytes})")
    raw = bytes(raw)
    # every value but the first follows a ',' or opens a container: an upper
    # bound on the values, counted in C before anything is allocated
    nodes = raw.count(b",") + raw.count(b"[") + raw.count(b"{") + 1
    if nodes > max_nodes:
        raise TooLarge(f"about {nodes} JSON values (at most {max_nodes})")
    try:
        doc = json.loads(raw)
    except RecursionError:
        raise TooLarge("JSON nested too deeply") from None
    return clean_tree(doc, max_depth=max_depth)


def clean_tree(doc, max_depth: int = 1 << 30):
    """Clean every string (keys too) of a parsed JSON document, in place
    where it can, without recursion; returns the cleaned document.  Raises
    ``TooLarge`` if containers nest deeper than ``max_depth``."""
    if isinstance(doc, str):
        return clean_text(doc)
    todo = [(doc, 1)] if isinstance(doc, (list, dict)) else []
    while todo:
        node, depth = todo.pop()
        if depth > max_depth:
            raise TooLarge(f"JSON nested more than {max_depth} levels deep")
        if isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, str):
                    if not item.isascii():
                        node[i] = clean_text(item)
                elif isinstance(item, (list, dict)):
                    todo.append((item, depth + 1))
        else:
            for key in [k for k in node if not k.isascii() and _SURROGATE.search(k)]:
                node[clean_text(key)] = node.pop(key)
            for key, item in node.items():
                if isinstance(item, str):
                    if not item.isascii():
                        node[key] = clean_text(item)
                elif isinstance(item, (list, dict)):
                    todo.append((item, depth + 1))
    return doc


def file_name(raw: bytes) -> str:
    """A file name from the disk as text: UTF-8, or else Windows-1252 (what
    zips made on Windows hold), or else Latin-1 (which reads any byte)."""
    for encoding in ("utf-8", "cp1252", "latin-1"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def shown_name(raw: bytes) -> str:
    """A file name as the learner can read it, non-UTF-8 bytes escaped
    (``notas_a\\xf1o.py``)."""
    return raw.decode("utf-8", "backslashreplace")


def terminal_safe(text: str) -> str:
    """``text`` fit for a terminal: control and format characters (escape
    sequences such as OSC 52, which writes the clipboard; newlines that would
    forge table rows; bidirectional overrides) shown as ``\\x1b``-style escapes,
    lone surrogates as U+FFFD."""
    text = clean_text(text)
    if text.isprintable():
        return text
    return "".join(
        c
        if c.isprintable() or c == " "
        else (
            c.encode("unicode_escape").decode("ascii") if ord(c) < 0x10000 else f"\\U{ord(c):08x}"
        )
        for c in text
    )


def spreadsheet_cell(value: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula (OWASP's
    advice for CSV injection: quote cells that start with = + - @ tab or CR)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
