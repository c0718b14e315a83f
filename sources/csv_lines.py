"""CSV bytes -> text lines -> rows of cells: encodings, byte-order marks, line endings, NUL
bytes and broken quoting (site-exports.md §2; the decisions on hostile files are listed in
`sources.readers`). Every problem here concerns the whole file and raises `FileRefused` with
the line (and byte offset) a person can look at.

Two readers give the same lines: `_decoded_lines_one_by_one`, the reference (one readline and
one decode per line), and `_decoded_lines`, a block at a time (tests/sources/test_csv_lines.py
proves them equal).
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from sources.bounds import TIME_CHECK_EVERY, Watch
from sources.inbox import open_inbox_file
from sources import reason_codes as rc
from sources.model import FileRefused, InboxFile
from sources.parsing import Cell
from sources.registry import SiteConfig

Rows = Iterator[tuple[int, list[Cell]]]   # (row number as a person sees it, cells); header = 1


MAX_LINE_BYTES = 32 << 20   # longer without a line break: not an export (a binary file?)
_LONE_CR = re.compile(rb"(?<=\r)(?!\n)")
_LINE_END = re.compile(rb"\r\n|\r|\n")


def _too_long() -> str:
    return (f"the file has more than {MAX_LINE_BYTES >> 20} MiB without a line break: it is not a CSV "
            "export (a binary file?)")


def _line_too_long() -> FileRefused:
    return FileRefused(_too_long(), code=rc.FILE_LINE_TOO_LONG)


def _is_cr_only(first_line: bytes) -> bool:
    """Whether the file's first line ends in a lone \\r: then every line does."""
    first_end = _LINE_END.search(first_line)
    return first_end is not None and first_end.group() == b"\r"


def _raw_lines(fh: BinaryIO) -> Iterator[bytes]:
    """The file's lines as bytes, each with its ending. Lines end in \\n (or \\r\\n), unless the
    first line ends in a lone \\r: then the file is CR-only (Excel for Mac's "CSV (Macintosh)")
    and lines end in \\r. Deciding once per file keeps a stray \\r inside a value of an ordinary
    file an error (the csv module refuses it) instead of a silent extra row. Safe for both
    encodings: neither byte occurs inside a UTF-8 or GB18030 character. A line is read whole,
    so a file without line breaks is refused past a limit."""
    cr_only: bool | None = None
    number, quoted = 0, False
    while raw := fh.readline(MAX_LINE_BYTES + 1):
        if len(raw) > MAX_LINE_BYTES:
            raise _line_too_long()
        if cr_only is None:
            cr_only = _is_cr_only(raw)
        if cr_only:
            for part in _LONE_CR.split(raw):
                if part:
                    number += 1
                    quoted = _check_cr_only_line(part, number, quoted)
                    yield part
        else:
            yield raw


def _check_cr_only_line(part: bytes, number: int, quoted: bool) -> bool:
    """In a CR-only file a LF is no line break, but the csv module ends a row at it: a LF outside
    quotes would silently split a row in two (the mirror of a stray CR in an ordinary file).
    Returns whether a quoted value is still open at the end of the line."""
    if b"\n" not in part:
        return quoted ^ (part.count(b'"') % 2 == 1)
    for byte in part:
        if byte == 0x22:
            quoted = not quoted
        elif byte == 0x0A and not quoted:
            raise FileRefused(f"line {number} has a line-break character (LF) inside a value that is not in quotes "
                              "(the file's lines end in CR only): remove it, or put the value in quotes",
                              code=rc.FILE_LF_UNQUOTED)
    return quoted


def _is_utf8_text(fh: BinaryIO) -> bool:
    """Whether the whole file is valid UTF-8 and holds non-ASCII text. Streams the file; a real
    GB18030 file stops at its first Chinese character that is not UTF-8 (nearly always the
    first one)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    non_ascii = False
    try:
        while block := fh.read(BLOCK_BYTES):
            decoder.decode(block)
            non_ascii = non_ascii or not block.isascii()
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        fh.seek(0)
    return non_ascii


def _check_declared_gb18030(fh: BinaryIO) -> None:
    """A file with a UTF-8 byte-order mark is refused by `_check_start`, naming it."""
    starts_with_bom = fh.read(3) == codecs.BOM_UTF8
    fh.seek(0)
    if not starts_with_bom and _is_utf8_text(fh):
        raise FileRefused("the file is UTF-8 text, but the site's declared encoding is GB18030: read as GB18030 "
                          "its Chinese text would turn into other characters (华法林片 into 鍗庢硶鏋楃墖); "
                          "export it in GB18030 (GBK), or change the site's encoding to utf-8 in the "
                          "site registry if the site now exports UTF-8", code=rc.FILE_ENCODING_MISMATCH)


def _check_start(raw: bytes, encoding: str) -> None:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRefused("the file is UTF-16 text (Excel 'Unicode text'); export it as "
                          f"CSV in {encoding} instead", code=rc.FILE_UTF16)
    if encoding != "utf-8" and raw.startswith(b"\xef\xbb\xbf"):
        raise FileRefused(f"the file starts with a UTF-8 byte-order mark, but the site's "
                          f"declared encoding is {encoding}: export it as {encoding}, or "
                          "correct the site's encoding in the site registry", code=rc.FILE_BOM_MISMATCH)


def _decode(raw: bytes, encoding: str, number: int, offset: int) -> str:
    """One line as text, or FileRefused saying which byte of which line is wrong."""
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise FileRefused(
            f"the file is not valid {encoding} text: byte(s) {raw[exc.start:exc.end].hex(' ')} at "
            f"byte offset {offset + exc.start} (line {number}) cannot be decoded; export the "
            f"file as {encoding}, or correct the site's encoding in the site registry",
            code=rc.FILE_UNDECODABLE) from None
    if "\x00" in text:
        raise FileRefused(f"the file contains a NUL character (line {number}): it is not plain "
                          f"{encoding} text (UTF-16 without byte-order mark, or a binary file?)", code=rc.FILE_NUL)
    if number > 1 and "\ufeff" in text:
        raise FileRefused(f"the file has a byte-order mark (an invisible marker that starts a file) on "
                          f"line {number}: two exports were probably joined into one; send each export "
                          "as its own file", code=rc.FILE_BOM_INSIDE)
    return text


def _decode_lines(raws: Iterable[bytes], encoding: str, number: int, offset: int) -> Iterator[str]:
    """Decode line by line so an undecodable byte is reported with its line and offset.
    `number` and `offset` are those of the line before the first of `raws`."""
    for raw in raws:
        number += 1
        if number == 1:
            _check_start(raw, encoding)
        text = _decode(raw, encoding, number, offset)
        offset += len(raw)
        yield text.removeprefix("\ufeff") if number == 1 else text


def _decoded_lines_one_by_one(fh: BinaryIO, encoding: str) -> Iterator[str]:
    """The reference reader: one readline and one decode per line."""
    yield from _decode_lines(_raw_lines(fh), encoding, 0, 0)


BLOCK_BYTES = 1 << 20
_LINE = re.compile(rb"[^\n]*\n|[^\n]+")


def _checked_lines(whole: bytes) -> Iterator[bytes]:
    """The lines of a block, refused at the first one longer than `_raw_lines` allows."""
    for raw in _LINE.findall(whole):
        if len(raw) > MAX_LINE_BYTES:
            raise _line_too_long()
        yield raw


def _decode_block(whole: bytes, encoding: str, number: int, offset: int) -> Iterator[str]:
    """The lines of `whole` (whole lines, after line `number`), as `_decode_lines` gives them.
    One decode for the block; a block with anything to report (an undecodable byte, a NUL, a
    byte-order mark, a line over the length limit) is decoded again line by line, which finds
    it and words it as always. Neither encoding has a byte 0x0A inside a character, so the
    block decodes exactly when each of its lines does, into the same text."""
    text = None
    if len(whole) <= MAX_LINE_BYTES:   # else it may hold a line too long
        try:
            text = whole.decode(encoding)
        except UnicodeDecodeError:
            pass
    if text is None or "\x00" in text or "\ufeff" in text:
        yield from _decode_lines(_checked_lines(whole), encoding, number, offset)
        return
    yield from io.StringIO(text, newline="\n")   # split after each \n only, as readline does


def _decoded_lines(fh: BinaryIO, encoding: str, block_bytes: int = BLOCK_BYTES) -> Iterator[str]:
    """The file's lines as text, exactly as `_decoded_lines_one_by_one` gives them (the same
    lines, the same FileRefused at the same line), a block of lines at a time: per-line reads
    and decodes cost more than the rest of reading a CSV row. A CR-only file (or a first line
    too long) is read by the reference reader."""
    first = fh.readline(MAX_LINE_BYTES + 1)
    if len(first) > MAX_LINE_BYTES or _is_cr_only(first):
        fh.seek(0)
        yield from _decoded_lines_one_by_one(fh, encoding)
        return
    yield from _decode_lines((first,) if first else (), encoding, 0, 0)
    number, offset, pending = 1, len(first), b""
    while True:
        data = fh.read(block_bytes)
        block = pending + data
        if not block:
            break
        cut = block.rfind(b"\n") + 1 if data else len(block)   # at the end of the file: all of it
        if cut == 0:   # no line ends in this block yet
            if len(block) > MAX_LINE_BYTES:
                raise _line_too_long()
            pending = block
            continue
        whole, pending = block[:cut], block[cut:]
        yield from _decode_block(whole, encoding, number, offset)
        number += whole.count(b"\n")   # only the last block can end without one
        offset += len(whole)


def _csv_problem(message: str, line: int, current: str) -> FileRefused:
    """The csv module's complaint as a site coordinator can act on it (`current`: the line being
    read when it complained)."""
    if "field larger than field limit" in message:
        limit = csv.field_size_limit()
        if len(current) > limit:   # the line itself is that long: a line-length problem
            quotes = "" if '"' in current else ", and it has no quote"
            return FileRefused(f"a value near line {line} is longer than {limit} characters: line {line} alone is "
                               f"{len(current.rstrip(chr(13) + chr(10))):,} characters long without a line break"
                               f"{quotes}; no export line is that long: is the file's content a CSV export of "
                               "this domain (not a binary file, or a text without line breaks)?",
                               code=rc.FILE_LINE_TOO_LONG)
        return FileRefused(f"a value near line {line} is longer than {limit} characters: no export "
                           "value is that long; most likely a quote (\") opens a value and is never closed, "
                           "which makes the rest of the file one value", code=rc.FILE_UNCLOSED_QUOTE)
    if "new-line character seen in unquoted field" in message:
        return FileRefused(f"line {line} has a line-break character (CR) inside a value that is not in quotes: "
                           "remove it, or put the value in quotes", code=rc.FILE_CR_UNQUOTED)
    return FileRefused(f"the file is not well-formed CSV near line {line}: {message} (check the quotes around "
                       "values)", code=rc.FILE_CSV_MALFORMED)


def _watched(lines: Iterator[str], watch: Watch) -> Iterator[str]:
    """The lines, with the clock checked as they go; records the line being read and whether
    the last one ends without a line break."""
    line = ""
    for number, line in enumerate(lines):
        if number % TIME_CHECK_EVERY == 0:
            watch.check_time()
        watch.last_line = line
        yield line
    watch.unterminated = bool(line) and not line.endswith(("\n", "\r"))


def csv_rows(file: InboxFile, site: SiteConfig, watch: Watch | None = None) -> Rows:
    watch = watch or Watch()
    with open_inbox_file(file) as fh:
        if site.encoding == "gb18030":
            _check_declared_gb18030(fh)
        reader = csv.reader(_watched(_decoded_lines(fh, site.encoding), watch), delimiter=site.delimiter,
                            strict=True)
        try:
            yield from enumerate(reader, 1)
        except csv.Error as exc:
            raise _csv_problem(str(exc), reader.line_num, watch.last_line) from None
