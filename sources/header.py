"""The header row of an export -> where each specification column is (site-exports.md §3):
case and surrounding spaces ignored, the site's registry aliases applied, columns outside the
specification dropped (never read), and the whole-file refusals a header can cause (empty,
duplicate or missing required columns, another delimiter than the site's declared one).
"""
from __future__ import annotations

from dataclasses import dataclass

from sources import reason_codes as rc
from sources.domains import Domain
from sources.model import FileRefused
from sources.parsing import Cell, cell_text, printable
from sources.registry import DELIMITERS, SiteConfig, header_key


def blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


@dataclass(frozen=True)
class Layout:
    """Where each spec column is in the file, and what is dropped."""
    positions: dict[str, int]       # canonical column -> 0-based cell index
    header_map: dict[str, str]      # the file's header -> canonical column
    dropped_columns: list[str]      # headers outside the spec (never read)
    width: int                      # header cells up to the last non-blank one


def _other_delimiter(texts: list[str], lookup: dict[str, str], delimiter: str) -> tuple[str, list[str]] | None:
    """The delimiter that would split this header into more known columns than the site's
    declared one does, and those columns (a ";" file at a "," site reads as one cell)."""
    line = delimiter.join(texts)
    now = sum(header_key(t) in lookup for t in texts)
    best = None
    for other in DELIMITERS:
        if other == delimiter or other not in line:
            continue
        found = [lookup[header_key(t)] for t in line.split(other) if header_key(t) in lookup]
        if len(found) > now and (best is None or len(found) > len(best[1])):
            best = other, found
    return best


def delimiter_name(delimiter: str) -> str:
    return {"\t": "tab"}.get(delimiter, f'"{delimiter}"')


def read_header(cells: list[Cell], domain: Domain, site: SiteConfig, delimiter: str | None = None) -> Layout:
    """Match the header row to the domain's columns: case and surrounding spaces ignored,
    the site's aliases applied; the canonical name is always accepted too. `delimiter`: the
    CSV delimiter the row was split at (None for a workbook), to name a file's other one."""
    texts = ["" if blank(c) else str(cell_text(c)).replace("\ufeff", "").strip() for c in cells]
    width = max((i + 1 for i, t in enumerate(texts) if t), default=0)
    if width == 0:
        raise FileRefused("the first row is empty: the first row must be the header (column names)",
                          code=rc.FILE_HEADER_EMPTY)
    aliases = site.aliases.get(domain.name, {})
    lookup = {header_key(c): c for c in domain.spec_columns}
    lookup.update({header_key(h): c for c, h in aliases.items()})
    positions: dict[str, int] = {}
    header_map: dict[str, str] = {}
    dropped: list[str] = []
    duplicates: list[str] = []
    for i, text in enumerate(texts[:width]):
        column = lookup.get(header_key(text)) if text else None
        if column is None:
            label = printable(text) if text else f"(column {i + 1}, no header)"
            if label not in dropped:
                dropped.append(label)
        elif column in positions:
            first = texts[positions[column]]
            duplicates.append(f"{first!r} (column {positions[column] + 1}) and {text!r} (column {i + 1}) "
                              f"are both {column}")
        else:
            positions[column] = i
            header_map[text] = column
    if duplicates:
        raise FileRefused(f"duplicate columns: {'; '.join(duplicates)}", code=rc.FILE_HEADER_DUPLICATE)
    other = _other_delimiter(texts[:width], lookup, delimiter) if delimiter is not None else None
    if other is not None and (not positions or any(c not in positions for c in domain.required_columns)):
        raise FileRefused(
            f"the header row names {len(positions)} column(s) of {domain.name} when split at "
            f"{delimiter_name(delimiter)}, the site's declared delimiter, but {len(other[1])} when split at "
            f"{delimiter_name(other[0])} ({', '.join(other[1])}): the file uses {delimiter_name(other[0])} "
            f"as its delimiter; export it with {delimiter_name(delimiter)}, or correct the site's "
            "delimiter in the site registry", code=rc.FILE_DELIMITER_MISMATCH)
    if not positions:
        # Not a header at all (data in row 1?): do not echo its cells, they may identify someone.
        raise FileRefused(f"no header row: the first row names none of the columns of {domain.name} "
                          f"(expected {', '.join(domain.spec_columns)})", code=rc.FILE_NO_HEADER)
    missing = [c for c in domain.required_columns if c not in positions]
    if missing:
        seen = ", ".join(printable(t) if t else "(blank)" for t in texts[:width])
        hint = ", ".join(f"{c} = {h!r}" for c, h in aliases.items())
        raise FileRefused(
            f"required column(s) missing for {domain.name}: {', '.join(missing)}; headers found: {seen}"
            + (f" (the site's declared aliases: {hint})" if hint else ""), code=rc.FILE_MISSING_COLUMNS)
    return Layout(positions, header_map, dropped, width)
