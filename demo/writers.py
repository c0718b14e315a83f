"""Streaming writers of the demo's site exports: each row is fanned out to every snapshot it
belongs to, formatted the way its site writes (CSV in the site's encoding and delimiter; xlsx
through openpyxl's write-only workbook, with real date cells).
"""
from __future__ import annotations

import csv
import shutil
from collections import Counter
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from demo.conventions import Convention, Site
from demo.plants import PlantLog
from demo.rows import OPEN_ENDED, Row
from sources.domains import DOMAINS, INTEGER, NUMBER


def header_text(conv: Convention, domain: str, key: str) -> str:
    alias = conv.aliases.get(domain, {}).get(key)
    if alias:
        return alias
    extra = dict(conv.extra_columns.get(domain, ()))
    text = extra.get(key, key)
    if conv.header_case == "upper":
        return text.upper()
    if conv.header_case == "title":
        return text.title()
    return text


def column_keys(conv: Convention, domain: str) -> list[str]:
    """Spec columns plus the site's extra columns (right after subject_id); WCH puts
    subject_id first, so readers must match by header, not position."""
    keys = list(DOMAINS[domain].spec_columns)
    if conv.kind == "WCH":
        keys[0], keys[1] = keys[1], keys[0]
    at = keys.index("subject_id") + 1
    return keys[:at] + [k for k, _ in conv.extra_columns.get(domain, ())] + keys[at:]


def _kind(domain: str, key: str) -> str | None:
    d = DOMAINS[domain]
    return d.column(key).kind if key in d.spec_columns else None


class CsvExport:
    def __init__(self, path: Path, conv: Convention, header: list[str]):
        self.path = path
        self._fh = open(path, "w", encoding=conv.file_encoding, newline="")
        self._writer = csv.writer(self._fh, delimiter=conv.delimiter, lineterminator="\r\n")
        self._writer.writerow(header)
        self.rows = 1

    def append(self, cells: list[object]) -> int:
        self._writer.writerow(cells)
        self.rows += 1
        return self.rows

    def close(self) -> None:
        self._fh.close()


class _StampedZip(ZipFile):
    """The zip of a demo workbook with every entry dated the export date, not the clock: the
    same seed must give the same bytes (tests/demo), and openpyxl dates what it writes now."""

    def __init__(self, path: Path, stamp: tuple[int, ...]):
        super().__init__(path, "w", ZIP_DEFLATED, allowZip64=True)
        self._stamp = stamp

    def _info(self, name: str) -> ZipInfo:
        info = ZipInfo(name, date_time=self._stamp)
        info.compress_type = ZIP_DEFLATED
        return info

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):  # noqa: ANN001
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):  # noqa: ANN001
        """openpyxl streams a write-only sheet through a temporary file: copied, not read whole."""
        with open(filename, "rb") as src, self.open(self._info(arcname or Path(filename).name), "w") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)


class XlsxExport:
    """A workbook written with openpyxl's write-only mode (rows streamed, memory bounded).
    Dates are real date cells (openpyxl's yyyy-mm-dd number format); a second sheet holds a
    legend, because the contract reads the first sheet only. Every part and the document
    properties carry the export date, so equal input gives equal bytes."""

    def __init__(self, path: Path, header: list[str], domain: str, export_date: date):
        self.path, self.domain = path, domain
        self._stamp = datetime(export_date.year, export_date.month, export_date.day)
        self._book = Workbook(write_only=True)
        self._book.properties.creator = "itp-warehouse demo generator"
        self._sheet = self._book.create_sheet(domain)
        self.rows = 0
        self.append(header)

    def append(self, cells: list[object]) -> int:
        self.rows += 1
        self._sheet.append([str(v) if isinstance(v, bool) else v for v in cells])
        return self.rows

    def close(self) -> None:
        legend = self._book.create_sheet("Legend")
        legend.append(["This workbook is an export of the iguratimod ITP study; the data are on the first sheet."])
        self._book.properties.created = self._book.properties.modified = self._stamp
        ExcelWriter(self._book, _StampedZip(self.path, self._stamp.timetuple()[:6])).save()


class SiteExports:
    """The open export files of one site: one per (domain, export date). Each row is written
    to every snapshot it belongs to, formatted for that snapshot."""

    def __init__(self, inbox: Path, site: Site, export_dates: list[date], log: PlantLog):
        self.site, self.dates, self.log = site, export_dates, log
        self.folder = inbox / site.code
        self.folder.mkdir(parents=True, exist_ok=True)
        conv = site.convention
        self.keys = {d: column_keys(conv, d) for d in DOMAINS}
        self.numeric = {d: {k for k in self.keys[d] if _kind(d, k) in (NUMBER, INTEGER)} for d in DOMAINS}
        self.files: dict[tuple[str, date], CsvExport | XlsxExport] = {}
        self.rows_written: Counter[str] = Counter()
        for domain in DOMAINS:
            header = [header_text(conv, domain, k) for k in self.keys[domain]]
            if conv.kind == "RJH" and domain == "labs":
                header[self.keys[domain].index("value")] = "Value "   # surrounding space: still a match
            for e in export_dates:
                path = self.folder / site.file_name(domain, e)
                self.files[(domain, e)] = (XlsxExport(path, header, domain, e) if site.ext(domain) == "xlsx"
                                           else CsvExport(path, conv, header))

    def write(self, row: Row) -> None:
        xlsx = self.site.ext(row.domain) == "xlsx"
        for e in self.dates:
            if not row.visible(e):
                continue
            cells = self._cells(row, e, xlsx)
            number = self.files[(row.domain, e)].append(cells)
            self.rows_written[row.domain] += 1
            if row.plant:
                self.log.seen(*row.plant, f"{self.site.code}/{self.site.file_name(row.domain, e)}", number)

    def _cells(self, row: Row, export_date: date, xlsx: bool) -> list[object]:
        conv = self.site.convention
        open_col = OPEN_ENDED.get(row.domain)
        numeric = self.numeric[row.domain]
        out: list[object] = []
        for key in self.keys[row.domain]:
            value = row.values.get(key)
            if key == open_col and value is not None and value > export_date:
                value = None
            if row.raw and key in row.raw:
                out.append(row.raw[key])
            elif value is None or value == "":
                out.append(None if xlsx else conv.missing)
            elif isinstance(value, date):
                out.append(value if xlsx else _date_text(value, conv.date_format))
            elif key in numeric:
                out.append(_xlsx_number(value) if xlsx else str(value).replace(".", conv.decimal))
            else:
                out.append(value)
        return out

    def close(self) -> list[Path]:
        for f in self.files.values():
            f.close()
        return [f.path for f in self.files.values()]


@lru_cache(maxsize=4096)
def _date_text(value: date, date_format: str) -> str:
    return value.strftime(date_format)


def _xlsx_number(value: object) -> object:
    if isinstance(value, int):
        return value
    text = str(value)
    try:
        number = float(text)
    except ValueError:
        return text                       # "<3.4": a qualified value stays text
    return int(number) if number.is_integer() and "." not in text else number
