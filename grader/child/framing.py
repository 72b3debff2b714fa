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
    return encode_head(header, len(payload)) + payload


def encode_head(header: dict, payload_size: int) -> bytes:
    """A frame without its payload (to be written after it, from the caller's buffer)."""
    raw = json.dumps(header, separators=(",", ":")).encode()
    return HEAD.pack(len(raw), payload_size) + raw


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
        header = parse_header(bytes(data[pos : pos + hlen]))
        pos += hlen
        yield header, data[pos : pos + plen]
        pos += plen


def split_frames(data: bytes, max_header: int = MAX_HEADER) -> list[tuple[dict, bytes]]:
    """Parse a complete byte string of frames; raise FrameError on damage."""
    return list(iter_frames(data, max_header))


# -- without copies of the bytes (the zygote: see memory.py) ------------------------------
_IOV_BATCH = 256


def read_header(fd: int) -> tuple[dict, int]:
    """A frame's header, and the length of the payload still to be read."""
    head = read_exact(fd, HEAD.size)
    hlen, plen = HEAD.unpack(head)
    if hlen > MAX_HEADER:
        raise FrameError("frame header too large")
    return parse_header(read_exact(fd, hlen)), plen


def read_frame(fd: int, max_payload: int) -> tuple[dict, bytes]:
    """One whole frame (a child started ahead reads its request so)."""
    header, plen = read_header(fd)
    if plen > max_payload:
        raise FrameError(f"frame payload too large ({plen} bytes)")
    return header, read_exact(fd, plen)


def read_into(fd: int, buf: bytearray) -> None:
    """Fill ``buf`` from ``fd`` (a payload, into a buffer the caller owns)."""
    view = memoryview(buf)
    pos = 0
    while pos < len(buf):
        n = os.readv(fd, [view[pos:]])
        if not n:
            raise EOFError("stream closed")
        pos += n
    view.release()


def write_frame_parts(fd: int, header: dict, parts: list[memoryview]) -> None:
    """A frame whose payload is ``parts``, one after the other, not joined."""
    raw = json.dumps(header, separators=(",", ":")).encode()
    total = sum(len(p) for p in parts)
    queue = [memoryview(HEAD.pack(len(raw), total)), memoryview(raw)]
    queue += [p for p in parts if len(p)]
    while queue:
        n = os.writev(fd, queue[:_IOV_BATCH])
        while n and queue:
            if n >= len(queue[0]):
                n -= len(queue[0])
                queue.pop(0)
            else:
                queue[0] = queue[0][n:]
                n = 0
