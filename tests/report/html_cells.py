"""Reads the report's HTML back as a machine would: table cells with their class and data-*
attributes, and the document's metadata attributes (stdlib html.parser, no extra dependency)."""
from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class ParsedCell:
    kind: str
    attrs: dict[str, str]
    text: str = ""


@dataclass
class ParsedReport:
    cells: list[ParsedCell] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)   # data-* attributes outside tables
    images: int = 0

    def where(self, **attrs: str) -> list[ParsedCell]:
        """Cells whose data-* attributes include these (keyword underscores = dashes)."""
        want = {f"data-{k.replace('_', '-')}": v for k, v in attrs.items()}
        return [c for c in self.cells if all(c.attrs.get(k) == v for k, v in want.items())]

    def one(self, **attrs: str) -> ParsedCell:
        found = self.where(**attrs)
        assert len(found) == 1, f"expected one cell with {attrs}, found {len(found)}"
        return found[0]


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.report = ParsedReport()
        self._cell: ParsedCell | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        data = {k: v for k, v in values.items() if k.startswith("data-")}
        if tag == "td":
            self._cell = ParsedCell(values.get("class", ""), data)
        elif tag == "img" and values.get("src", "").startswith("data:image/png;base64,"):
            self.report.images += 1
        else:
            self.report.meta.update(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self._cell.text = self._cell.text.strip()
            self.report.cells.append(self._cell)
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.text += data


def parse_report(html: str) -> ParsedReport:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.report
