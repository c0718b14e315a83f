"""`marts.endpoint_summary` as the report uses it: look-ups by (endpoint, timepoint), report
labels, and the cells that print one endpoint row.

Every endpoint cell carries data-endpoint / data-timepoint / data-field so a reader can check
the report against the mart row by row. The index remembers which rows a section printed; the
rest (an endpoint added to the mart after this report was written) still get printed, in a
last table, rather than silently left out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from orchestration.report.cells import Cell, Suppression
from orchestration.report.stats import Interval, proportion_ci
from orchestration.report.warehouse import EndpointRow
from sources.study_parameters import endpoints, term_label

# Labels of endpoints and withdrawal reasons live in the seeds (endpoints.csv,
# controlled_terms.csv); only the withdrawn rows' two grouping timepoints are named here.
ENDPOINT_LABELS = {e.endpoint: e.label for e in endpoints()}
WITHDRAWAL_GROUP_LABELS = {"all": "all reasons", "other": "other reasons"}


def reason_label(timepoint: str) -> str:
    """The label of a `withdrawn` timepoint: a group, or a withdrawal reason of the seed."""
    return WITHDRAWAL_GROUP_LABELS.get(timepoint) or term_label("disposition", "reason", timepoint)


MONTH = re.compile(r"^month_(\d+)$")
CLASS_SUFFIX = "_month_3_to_6"


def month_number(timepoint: str) -> int | None:
    match = MONTH.match(timepoint)
    return int(match.group(1)) if match else None


def timepoint_label(timepoint: str) -> str:
    k = month_number(timepoint)
    if k is not None:
        return f"Month {k}"
    return {"all": "all", "day14": "Day 14", "baseline": "Baseline (month 0)",
            "month_3_to_6": "Months 3 to 6"}.get(timepoint, timepoint)


def endpoint_label(endpoint: str) -> str:
    return ENDPOINT_LABELS.get(endpoint, endpoint)


@dataclass
class EndpointIndex:
    rows: list[EndpointRow]
    _used: set[tuple[str, str]] = field(default_factory=set)

    def get(self, endpoint: str, timepoint: str) -> EndpointRow | None:
        """The row, marked as printed by the caller."""
        for row in self.rows:
            if row.endpoint == endpoint and row.timepoint == timepoint:
                self._used.add((endpoint, timepoint))
                return row
        return None

    def timepoints(self, endpoint: str) -> list[str]:
        return [r.timepoint for r in self.rows if r.endpoint == endpoint]

    def months(self, endpoint: str) -> list[int]:
        """The treatment months the mart reports for an endpoint, in order."""
        return sorted(k for k in map(month_number, self.timepoints(endpoint)) if k is not None)

    def unused(self) -> list[EndpointRow]:
        return sorted((r for r in self.rows if (r.endpoint, r.timepoint) not in self._used),
                      key=lambda r: (r.endpoint, r.timepoint))


def endpoint_ci(row: EndpointRow | None) -> Interval | None:
    """The exact 95% interval of an endpoint's proportion n/denominator (tables and charts)."""
    return None if row is None else proportion_ci(row.n, row.denominator)


def endpoint_cells(fmt: Suppression, row: EndpointRow | None, *, endpoint: str, timepoint: str,
                   fields: tuple[str, ...] = ("n", "denominator", "pct", "ci")) -> list[Cell]:
    """The cells of one endpoint row; a row missing from the mart prints as 'not reported'.
    Every percentage comes with its 95% interval ("ci"), suppressed with it."""
    if row is None:
        return [Cell("not reported", "text") for _ in fields]
    ids = {"endpoint": endpoint, "timepoint": timepoint}
    cells = {
        "n": lambda: fmt.count(row.n, **ids, field="n"),
        "denominator": lambda: fmt.count(row.denominator, **ids, field="denominator"),
        "pct": lambda: fmt.pct(row.pct, row.n, row.denominator, **ids, field="pct"),
        "ci": lambda: fmt.pct_interval(endpoint_ci(row), row.n, row.denominator, **ids, field="ci"),
        "n_not_determinable": lambda: fmt.count(row.n_not_determinable, **ids, field="n_not_determinable"),
    }
    return [cells[f]() for f in fields]
