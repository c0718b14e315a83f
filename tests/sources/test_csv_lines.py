"""The CSV line reader decodes a block of lines at a time; the reference decodes one line at a
time. For any bytes, both must give the same lines, then the same refusal at the same point."""
from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sources import csv_lines
from sources.model import FileRefused

PIECES = [b"a", b"1", b";", b",", b'"', b"\n", b"\r", b"\r\n", b"\x00", b"\xef\xbb\xbf", b"\xff",
          b"\xfe\xff", b"\x81", "头痛".encode(), "头痛".encode("gb18030"), "é".encode(), b"  "]


def outcome(lines) -> tuple[list[str], str | None]:
    got: list[str] = []
    try:
        for line in lines:
            got.append(line)
    except FileRefused as refused:
        return got, refused.reason
    return got, None


def both(data: bytes, encoding: str, block_bytes: int):
    fast = outcome(csv_lines._decoded_lines(io.BytesIO(data), encoding, block_bytes=block_bytes))
    reference = outcome(csv_lines._decoded_lines_one_by_one(io.BytesIO(data), encoding))
    return fast, reference


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.sampled_from(PIECES), max_size=60), encoding=st.sampled_from(["utf-8", "gb18030"]),
       block_bytes=st.integers(1, 24), max_line=st.sampled_from([8, 40, 1 << 20]))
def test_block_reader_equals_line_reader(monkeypatch, pieces, encoding, block_bytes, max_line):
    monkeypatch.setattr(csv_lines, "MAX_LINE_BYTES", max_line)
    fast, reference = both(b"".join(pieces), encoding, block_bytes)
    assert fast == reference


@pytest.mark.parametrize("data, expect", [
    (b"h;x\r\n1;2\r\n3;4", None),                                       # CRLF, last line unterminated
    (b"h;x\n1;\x002\n", "NUL character (line 2)"),
    (b"h;x\n1;2\n\xef\xbb\xbfh;x\n", "byte-order mark"),
    (b"h;x\n1;2\n3;\xff\n", "line 3"),
    (b"h;x\r1;2\r", None),                                               # CR-only: the reference path
    (b"h;x\r1\n2;3\r", "line 2 has a line-break character (LF) inside a value that is not in quotes"),
    (b'h;x\r"1\n2";3\r', None),                                          # a quoted LF is text
])
def test_examples_with_the_default_block(data, expect):
    fast, reference = both(data, "utf-8", csv_lines.BLOCK_BYTES)
    assert fast == reference
    assert (fast[1] is None) if expect is None else (expect in fast[1])


def test_a_line_longer_than_the_limit_is_refused_after_the_lines_before_it(monkeypatch):
    monkeypatch.setattr(csv_lines, "MAX_LINE_BYTES", 64)
    data = b"h;x\n1;2\n" + b"9" * 200 + b"\n3;4\n"
    fast, reference = both(data, "utf-8", 16)
    assert fast == reference == (["h;x\n", "1;2\n"], csv_lines._too_long())


@pytest.mark.parametrize("data, refused", [
    ("h;x\n华法林片;1\n".encode(), True),             # 12 bytes of UTF-8 Chinese are enough
    ("h;x\n华法林片;1\n".encode("gb18030"), False),
    (b"h;x\n1;2\n", False),                          # ASCII is both encodings: nothing to tell
    ("h;x\n皮疹;1\n".encode("gb18030") + "头痛;1\n".encode(), False),   # not all of it UTF-8
])
def test_a_gb18030_file_that_is_utf8_text_is_refused_before_reading(data, refused):
    fh = io.BytesIO(data)
    if not refused:
        csv_lines._check_declared_gb18030(fh)
        assert fh.tell() == 0
        return
    with pytest.raises(FileRefused, match="UTF-8 text, but the site's declared encoding is GB18030"):
        csv_lines._check_declared_gb18030(fh)


def test_a_long_line_that_ends_in_the_next_block_is_refused(monkeypatch):
    """The line begins in one block (still under the limit) and ends in the next, over it."""
    monkeypatch.setattr(csv_lines, "MAX_LINE_BYTES", 64)
    data = b"h;x\n" + b"9" * 70 + b"\n3;4\n"
    fast, reference = both(data, "utf-8", 48)
    assert fast == reference == (["h;x\n"], csv_lines._too_long())
