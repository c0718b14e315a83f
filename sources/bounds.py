"""Bounded work per file (site-exports.md §5, v1.2): a load never hangs on one file.

Two limits, both settings with defaults (`ReadLimits`, filled from ITP_* variables by the
orchestration):
- time: reading a file (from opening it to its last row, the storing of its chunks included)
  may take at most `seconds`; the row sources check the clock as they go (`Watch.check_time`),
  so a file is stopped while it is read, never after;
- expansion: an xlsx is a zip of XML parts; its parts may expand to at most
  `xlsx_max_expansion` times the workbook's size (any workbook may expand to
  `XLSX_ALWAYS_ALLOWED_BYTES`: a small workbook holding one long repeated value compresses
  hundreds of times and costs nothing to read). The check reads the zip's directory only
  (the declared sizes), before any part is inflated; Python's zipfile never inflates a part
  beyond its declared size (a lying header ends in a CRC error), so the declared sizes bound the
  work.

`Watch` also records what the CSV row source sees at the end of the file (a last line without
its line break, the length of the line being read), which the reader needs for its reasons.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from sources import reason_codes as rc
from sources.model import FileRefused

DEFAULT_SECONDS = 600.0
# Exports written by Excel, LibreOffice and openpyxl expand 5 to 20 times; a sheet padded with
# formatted empty rows (the "zip bomb" of an export tool) hundreds of times.
DEFAULT_XLSX_MAX_EXPANSION = 100.0
XLSX_ALWAYS_ALLOWED_BYTES = 64 << 20
TIME_CHECK_EVERY = 1024   # rows (or lines) between two looks at the clock


@dataclass(frozen=True)
class ReadLimits:
    seconds: float = DEFAULT_SECONDS
    xlsx_max_expansion: float = DEFAULT_XLSX_MAX_EXPANSION


def _size(n: float) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 1e6 else f"{n / 1e3:,.1f} kB"


class Watch:
    """The limits of one file's reading, and what its row source saw."""

    def __init__(self, limits: ReadLimits | None = None):
        self.limits = limits or ReadLimits()
        self.started = time.monotonic()
        self.unterminated = False     # CSV: the last line has no line break
        self.last_line = ""           # CSV: the line the csv module is reading

    def check_time(self) -> None:
        elapsed = time.monotonic() - self.started
        if elapsed > self.limits.seconds:
            raise FileRefused(
                f"reading the file took longer than {self.limits.seconds:g} s, the limit per file "
                f"(ITP_FILE_READ_SECONDS), and was stopped after {elapsed:.1f} s: nothing of it was loaded; "
                "a file this slow to read is not a normal export (a sheet of millions of empty or "
                "formatted rows?): export only the data, or ask the warehouse team to raise the limit",
                code=rc.FILE_READ_TIMEOUT)

    def check_expansion(self, expanded: int, size: int) -> None:
        ratio = expanded / max(size, 1)
        if ratio > self.limits.xlsx_max_expansion and expanded > XLSX_ALWAYS_ALLOWED_BYTES:
            raise FileRefused(
                f"the workbook's parts expand to {_size(expanded)}, {ratio:,.0f} times its {_size(size)} "
                f"(a workbook may expand at most {self.limits.xlsx_max_expansion:g} times, "
                "ITP_XLSX_MAX_EXPANSION): not read; the sheet is most likely padded with up to a million "
                "empty or formatted rows or columns: delete them below and beside the data (or export "
                "the data as CSV) and send it again", code=rc.FILE_XLSX_EXPANSION)
