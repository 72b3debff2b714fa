"""What an upload may hold, checked before anything is stored (no server)."""

from __future__ import annotations

import io
import zipfile

import pytest

from grader.service.refusals import Refused
from grader.service.settings import CourseSettings
from grader.service.uploads import from_parts, from_zip

LIMITS = CourseSettings()


def _zip(entries) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(name, data)
    return buf.getvalue()


def test_a_folder_upload_loses_its_single_top_folder():
    up = from_parts([("tarea/blocks.py", b"a"), ("tarea/helpers/x.py", b"b")], LIMITS)
    assert set(up.files) == {b"blocks.py", b"helpers/x.py"}


def test_a_zipped_folder_too_and_macos_clutter_is_dropped():
    up = from_parts(
        [
            (
                "work.zip",
                _zip(
                    [
                        ("tarea/", b""),
                        ("tarea/devices.py", b"x"),
                        ("__MACOSX/tarea/._devices.py", b"junk"),
                    ]
                ),
            )
        ],
        LIMITS,
    )
    assert set(up.files) == {b"devices.py"}


def test_a_windows_zip_name_keeps_its_bytes():
    blob = _zip([("notas_aXo.py", b"x"), ("blocks.py", b"y")]).replace(
        b"notas_aXo.py", "notas_año.py".encode("cp1252")
    )
    assert "notas_año.py".encode("cp1252") in from_zip(blob, LIMITS).files


@pytest.mark.parametrize(
    "entries, status, key",
    [
        ([("a/../../x.py", b""), ("blocks.py", b"")], 400, "outside"),
        ([("C:/x.py", b""), ("blocks.py", b"")], 400, "outside"),
        ([("..\\x.py", b""), ("blocks.py", b"")], 400, "outside"),
        ([("blocks.py", b"a"), ("blocks.py", b"b")], 400, "duplicate"),
        (
            [
                ("blocks.py", b"0" * (LIMITS.max_upload // 2)),
                ("layers.py", b"1" * (LIMITS.max_upload // 2 + 1)),
            ],
            413,
            "expands",
        ),
    ],
)
def test_bad_archives(entries, status, key):
    with pytest.raises(Refused) as refused:
        from_zip(_zip(entries), LIMITS)
    assert (refused.value.status, refused.value.key) == (status, key)


def test_sizes_are_counted_not_read_from_the_central_directory():
    """A zip whose directory claims a tiny size for a large member."""
    blob = bytearray(_zip([("blocks.py", b"\0" * (3 * LIMITS.max_upload))]))
    # patch the uncompressed size in the central directory and the local header
    real = (3 * LIMITS.max_upload).to_bytes(4, "little")
    blob = bytes(blob).replace(real, (10).to_bytes(4, "little"))
    with pytest.raises(Refused) as refused:
        from_zip(blob, LIMITS)
    assert refused.value.status in (400, 413)  # refused either way, never read past the limit


def test_a_file_upload_over_the_limit_and_one_without_exercise_files():
    with pytest.raises(Refused) as refused:
        from_parts([("blocks.py", b"x" * (LIMITS.max_upload + 1))], LIMITS)
    assert refused.value.status == 413
    with pytest.raises(Refused) as refused:
        from_parts([("tarea/notes.md", b"x")], LIMITS)
    assert (refused.value.status, refused.value.key) == (422, "no_exercise")
