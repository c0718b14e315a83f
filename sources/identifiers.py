"""Direct identifiers in site cells: how they are recognised and how they are masked
(site-exports.md §5, v1.2: no direct identifier is stored anywhere, quarantine included).

Sites add identifier columns, which are dropped by name at the header; but a row missing one
cell shifts the others left, and an identifier then arrives in a coded column (a resident ID
number in subject_id). So every cell is looked at by its content, whatever its column:

- a cell that looks like an identifier makes its row a row error (`identifier.direct`,
  `sources.parsing`): the row never reaches `raw`;
- every stored copy of a refused row (quarantine subject_id, reason and raw_record, the site
  query built from it, a refused file's reason) goes through `mask`, the one function that
  replaces identifiers by a label saying what was there.

The patterns, each with its source (this is the one place they are written):

- Resident ID number (公民身份号码), GB 11643-1999: 17 digits and a check character (a digit or
  X) computed with ISO 7064 MOD 11-2 over the 17 digits. A match must have the valid check
  character (python-stdnum's `stdnum.cn.ric.calc_check_digit`, which implements the standard),
  so an 18-digit number that is not an ID (a barcode) is left alone.
- Mobile number: the numbering plan of the Ministry of Industry and Information Technology gives
  mobile numbers 11 digits starting 13 to 19; written with or without +86 / 0086 in front and
  with spaces or hyphens between groups (139 0111 2345, 138-1234-5678).
- E-mail address: the "valid e-mail address" of the HTML Living Standard (WHATWG, §4.10.5.1.5),
  with a domain ending in a top-level domain of letters (an export's address is never a bare
  host name; `bootstrap-table@1.19.1`, a package version in a web page, is not an address).

Masking over-reaches rather than under-reaches: a number that matches is masked even if no
such ID or phone was ever issued. A coordinator finds the row by its file and row number.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from stdnum.cn import ric

CHECK_IDENTIFIER = "identifier.direct"

RESIDENT_ID = "resident ID number"
MOBILE = "mobile phone number"
EMAIL = "e-mail address"

_RESIDENT_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
_MOBILE = re.compile(r"(?<![0-9])(?:(?:\+|00)86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]){8}(?![0-9])")
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
_EMAIL = re.compile(r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:" + _LABEL + r"\.)+[A-Za-z]{2,63}(?![A-Za-z0-9-])")
# Cheap test first: every pattern needs 11 digits or an "@".
_DIGITS_OR_AT = re.compile(r"@|(?:[0-9][^0-9]{0,4}){11}")


@dataclass(frozen=True)
class Found:
    kind: str
    start: int
    end: int


def _valid_resident_id(text: str) -> bool:
    return ric.calc_check_digit(text) == text[-1].upper()


def find(text: str) -> list[Found]:
    """Every identifier in `text`, left to right, not overlapping."""
    if not _DIGITS_OR_AT.search(text):
        return []
    found = [Found(RESIDENT_ID, m.start(), m.end()) for m in _RESIDENT_ID.finditer(text)
             if _valid_resident_id(m.group())]
    found += [Found(MOBILE, m.start(), m.end()) for m in _MOBILE.finditer(text)]
    found += [Found(EMAIL, m.start(), m.end()) for m in _EMAIL.finditer(text)]
    out: list[Found] = []
    for f in sorted(found, key=lambda f: (f.start, -f.end)):
        if not out or f.start >= out[-1].end:
            out.append(f)
    return out


def kind_of(text: str) -> str | None:
    """What identifier `text` holds (the first one), or None."""
    found = find(text)
    return found[0].kind if found else None


def label(kind: str) -> str:
    return f"[masked {kind}]"


def mask(text: str | None) -> str | None:
    """`text` with every identifier replaced by `[masked <kind>]`."""
    if not text:
        return text
    found = find(text)
    if not found:
        return text
    parts, at = [], 0
    for f in found:
        parts += [text[at:f.start], label(f.kind)]
        at = f.end
    parts.append(text[at:])
    return "".join(parts)


def mask_record(record: Mapping[str, str | None]) -> dict[str, str | None]:
    """A raw_record (column -> cell as written) with every cell masked."""
    return {column: mask(value) if isinstance(value, str) else value for column, value in record.items()}
