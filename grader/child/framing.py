"""Length-prefixed frames: a JSON header and a binary payload.

Used on both sides of the sandbox boundary.  The reader never trusts the
lengths it is given: every read is capped.
"""

from __future__ import annotations

import json
import os
import struct

HEAD = struct.Struct(">IQ")  # header length, payload length

MAX_HEADER = 4 * 1024 * 1024


class FrameError(Exception):
    """A frame was truncated, too large or not valid JSON."""


def encode(header: dict, payload: bytes = b"") -> bytes:
    raw = json.dumps(header, separators=(",", ":")).encode()
    return HEAD.pack(len(raw), len(payload)) + raw + payload


def write_frame(fd: int, header: dict, payload: bytes = b"") -> None:
    data = memoryview(encode(header, payload))
    while data:
        n = os.write(fd, data)
        data = data[n:]


def read_exact(fd: int, n: int) -> bytes:
    """Exactly ``n`` bytes from ``fd``; EOFError if the stream ends first."""
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError("stream closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def parse_header(raw: bytes) -> dict:
    """A frame header: a JSON object, or FrameError."""
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise FrameError(f"frame header is not JSON: {type(exc).__name__}: {exc}"[:300]) from None
    if not isinstance(header, dict):
        raise FrameError("frame header is not an object")
    return header


def iter_frames(data: bytes | memoryview, max_header: int = MAX_HEADER):
    """Parse a complete byte string of frames one at a time; raise FrameError
    on damage (after the frames before it).  Payloads are slices of ``data``
    (no copies, for a memoryview)."""
    pos = 0
    while pos < len(data):
        if len(data) - pos < HEAD.size:
            raise FrameError("truncated frame head")
        hlen, plen = HEAD.unpack_from(data, pos)
        pos += HEAD.size
        if hlen > max_header or pos + hlen + plen > len(data):
            raise FrameError("truncated or oversized frame")
        header = parse_header(bytes(data[pos:pos + hlen]))
        pos += hlen
        yield header, data[pos:pos + plen]
        pos += plen


def split_frames(data: bytes, max_header: int = MAX_HEADER) -> list[tuple[dict, bytes]]:
    """Parse a complete byte string of frames; raise FrameError on damage."""
    return list(iter_frames(data, max_header))


# used by zygote.py until the lead updates it
_HEAD = HEAD
_read_exact = read_exact
