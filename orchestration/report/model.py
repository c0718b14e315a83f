"""The report as data: sections of paragraphs, tables and charts.

Both renderers (HTML via Jinja2, PDF via reportlab) walk this one structure, so the two
outputs cannot disagree on a number.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from matplotlib.axes import Axes

from orchestration.report.cells import Cell
from orchestration.report.stats import PROPORTION_CI_METHOD


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Table:
    key: str                 # stable id (HTML id, test hook)
    caption: str
    header: list[str]
    rows: list[list[Cell]]
    note: str = ""


@dataclass(frozen=True)
class Chart:
    """A chart is a drawing function, not an image: HTML rasterises it, the PDF draws it as
    vectors into its page. `aspect` = height / width."""
    key: str
    caption: str
    alt: str
    draw: Callable[[Axes], None]
    aspect: float = 0.42


Block = Paragraph | Table | Chart


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    title: str
    load_id: str
    cutoff: str
    load_finished: str
    generated_at: str
    source: str
    suppression_legend: str
    suppress_below: int
    sections: list[Section]
    notation: str = ("n = subjects meeting the endpoint, N = its denominator; n/a = empty denominator. "
                     f"{PROPORTION_CI_METHOD}.")
    footer: str = ("Built only from the published warehouse (schemas marts and quality), opened read-only; every "
                   "endpoint figure is a row of marts.endpoint_summary as published.")

    @property
    def facts(self) -> list[tuple[str, str, str]]:
        """(key, label, value) of the report's provenance, printed first by both renderers;
        the key names the HTML data attribute."""
        return [("cutoff", "Data cutoff", self.cutoff), ("load-id", "Load id", self.load_id),
                ("load-finished", "Load finished", self.load_finished),
                ("source", "Built from", self.source), ("generated", "Report generated", self.generated_at)]
