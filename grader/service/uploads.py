"""What a learner uploads, checked before anything is stored.

Files (a folder's files keep their relative paths) or one ``.zip``.  Sizes are
counted on the bytes actually read, never taken from an archive's directory;
paths outside the root, links, encrypted members and too many or too large
files are refused.  Names that are not UTF-8 (a zip made on Windows) are kept
as their bytes, so the grader reads them as it reads them on disk (as
Windows-1252, with a note in the report).
"""

from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import dataclass

from ..assignment import default
from .refusals import Refused

CHUNK = 64 * 1024
MAX_DEPTH = 32
MAX_NAME = 255  # bytes in one file or folder name (the file system's limit)
MAX_PATH = 1024  # bytes in a whole relative path
IGNORED_TOP = {b"__MACOSX"}


@dataclass
class Upload:
    files: dict[bytes, bytes]  # relative path (raw bytes, "/"-separated) -> content

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.files.values())


def _parts(raw: bytes) -> list[bytes]:
    """The path's parts, or Refused if it leaves the root."""
    path = raw.replace(b"\\", b"/")
    if path.startswith(b"/") or (len(path) > 1 and path[1:2] == b":"):
        raise Refused(400, "outside", path=_shown(raw))
    parts = [p for p in path.split(b"/") if p not in (b"", b".")]
    if any(p == b".." for p in parts) or any(b"\0" in p for p in parts):
        raise Refused(400, "outside", path=_shown(raw))
    if len(parts) > MAX_DEPTH:
        raise Refused(400, "outside", path=_shown(raw))
    if any(len(p) > MAX_NAME for p in parts) or len(b"/".join(parts)) > MAX_PATH:
        raise Refused(400, "name_too_long", path=_shown(raw)[:80] + "…")
    return parts


def _shown(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")[:200]


def _add(files: dict[bytes, bytes], raw: bytes, data: bytes, limits) -> None:
    parts = _parts(raw)
    if not parts or parts[0] in IGNORED_TOP:
        return
    key = b"/".join(parts)
    if key in files:
        raise Refused(400, "duplicate", path=_shown(key))
    # a file and a folder of the same name cannot both be written
    folders = [b"/".join(parts[:i]) for i in range(1, len(parts))]
    clash = next((f for f in folders if f in files), None)
    if clash is None and any(k.startswith(key + b"/") for k in files):
        clash = key
    if clash is not None:
        raise Refused(400, "duplicate", path=_shown(clash))
    if len(files) >= limits.max_files:
        raise Refused(413, "too_many_files", count=limits.max_files)
    files[key] = data


def from_parts(parts: list[tuple[str, bytes]], limits) -> Upload:
    """Multipart file fields: (file name as sent, content)."""
    if len(parts) == 1 and parts[0][0].lower().endswith(".zip"):
        return from_zip(parts[0][1], limits)
    files: dict[bytes, bytes] = {}
    total = 0
    for name, data in parts:
        if not name and not data:
            continue
        total += len(data)
        if total > limits.max_upload:
            raise Refused(413, "too_large", limit=limits.max_upload)
        _add(files, name.encode("utf-8", "surrogateescape"), data, limits)
    return _checked(Upload(files))


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    if info.flag_bits & 0x800:
        return info.filename.encode("utf-8")
    try:
        return info.filename.encode("cp437")  # what zipfile decoded: the bytes back
    except UnicodeEncodeError:
        return info.filename.encode("utf-8", "surrogateescape")


def from_zip(blob: bytes, limits) -> Upload:
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise Refused(400, "bad_zip", why=str(exc)[:200]) from None
    files: dict[bytes, bytes] = {}
    total = 0
    with archive:
        for info in members:
            raw = _raw_name(info)
            _parts(raw)  # refuses ../ and absolute paths, even for folders
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise Refused(400, "link", path=_shown(raw))
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise Refused(400, "encrypted")
            buf = bytearray()
            try:
                with archive.open(info) as member:
                    while chunk := member.read(CHUNK):
                        total += len(chunk)
                        if total > limits.max_upload:
                            raise Refused(413, "expands", limit=limits.max_upload)
                        buf += chunk
            except Refused:
                raise
            except (
                zipfile.BadZipFile,
                NotImplementedError,
                RuntimeError,
                ValueError,
                OSError,
                EOFError,
            ) as exc:
                raise Refused(400, "bad_zip", why=str(exc)[:200]) from None
            _add(files, raw, bytes(buf), limits)
    return _checked(Upload(files))


def _checked(upload: Upload) -> Upload:
    """Refuses an empty upload and one without any exercise file; a single
    folder around the files (a zipped folder, a folder upload) is removed."""
    files = upload.files
    if not files:
        raise Refused(400, "empty")
    tops = {k.split(b"/", 1)[0] for k in files}
    if len(tops) == 1 and all(b"/" in k for k in files):
        top = next(iter(tops)) + b"/"
        if not _has_exercise(files):
            files = {k[len(top) :]: v for k, v in files.items()}
    if not _has_exercise(files):
        raise Refused(422, "no_exercise", files=", ".join(default().file_names))
    return Upload(files)


def _has_exercise(files: dict[bytes, bytes]) -> bool:
    names = {k.lower() for k in files if b"/" not in k}
    return any(f.encode() in names for f in default().file_names)
