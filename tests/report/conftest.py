"""One real demo load per session (`itp-warehouse demo`: generator, checks, dbt, publish), and
the report built from it once without and once with small-cell suppression.

ITP_REPORT_TEST_HOME=<dir> reuses a HOME already loaded by `itp-warehouse demo --home <dir>`
(saves the demo run while iterating on the report; the tests never write into it).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from orchestration.report import build_report
from tests.conftest import cli
from tests.report.html_cells import ParsedReport, parse_report

# Small-cell threshold of the suppression tests: the demo has endpoint counts on both sides of
# it (e.g. withdrawals for adverse events: 0; treated subjects: dozens).
SUPPRESS_BELOW = 5


@dataclass(frozen=True)
class BuiltReport:
    html_path: Path
    pdf_path: Path
    parsed: ParsedReport

    @classmethod
    def read(cls, html_path: Path, pdf_path: Path) -> "BuiltReport":
        return cls(html_path, pdf_path, parse_report(html_path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class DemoWarehouse:
    path: Path
    sha256: str    # of the file before any report was built from it


@pytest.fixture(scope="session")
def demo(request) -> DemoWarehouse:
    reuse = os.environ.get("ITP_REPORT_TEST_HOME")
    if reuse:
        published = Path(reuse) / "warehouse.duckdb"
        assert published.is_file(), f"ITP_REPORT_TEST_HOME={reuse} has no warehouse.duckdb"
    else:
        # The session's one demo load, shared with the end-to-end tests (tests/conftest.py).
        published = request.getfixturevalue("demo_home") / "warehouse.duckdb"
    return DemoWarehouse(published, hashlib.sha256(published.read_bytes()).hexdigest())


@pytest.fixture(scope="session")
def demo_warehouse(demo) -> Path:
    return demo.path


@pytest.fixture(scope="session")
def mart(demo_warehouse):
    """Run SQL on the published warehouse, read-only (the expected values of the tests)."""
    def query(sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(demo_warehouse), read_only=True) as conn:
            return conn.execute(sql, params or []).fetchall()
    return query


@pytest.fixture(scope="session")
def full_report(demo_warehouse, tmp_path_factory) -> BuiltReport:
    """Through the Python API, as a schedule or notebook would call it."""
    return BuiltReport.read(*build_report(demo_warehouse, tmp_path_factory.mktemp("report_full")))


@pytest.fixture(scope="session")
def cli_report_run(demo_warehouse, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """Through the command line, as the study team runs it: `itp-warehouse report`."""
    out = tmp_path_factory.mktemp("report_suppressed")
    proc = cli("report", "--home", str(demo_warehouse.parent), "--out", str(out),
               "--suppress-below", str(SUPPRESS_BELOW))
    return out, proc


@pytest.fixture(scope="session")
def suppressed_report(cli_report_run) -> BuiltReport:
    out, proc = cli_report_run
    assert proc.returncode == 0, proc.stderr
    html_path, pdf_path = (Path(line) for line in proc.stdout.split())
    return BuiltReport.read(html_path, pdf_path)
