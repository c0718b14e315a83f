"""What the report does with a file that is not a complete published warehouse, with hostile
text from site exports, and through the command line."""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pypdf import PdfReader

from orchestration.report import ReportError, build_report
from orchestration.report.warehouse import REQUIRED_TABLES
from tests.conftest import cli
from tests.report.conftest import SUPPRESS_BELOW
from tests.report.html_cells import ParsedReport, parse_report


def test_missing_warehouse_is_refused_with_the_path(tmp_path):
    missing = tmp_path / "warehouse.duckdb"
    with pytest.raises(ReportError, match="no published warehouse at .*warehouse.duckdb"):
        build_report(missing, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_warehouse_without_the_marts_names_the_missing_tables(tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(ReportError, match=r"missing marts\.endpoint_summary, .*quality\.load_log"):
        build_report(empty, tmp_path / "out")


def test_a_file_that_is_not_duckdb_is_refused(tmp_path):
    bogus = tmp_path / "warehouse.duckdb"
    bogus.write_text("site,subject\nA,1\n")
    with pytest.raises(ReportError, match="not a readable DuckDB warehouse"):
        build_report(bogus, tmp_path / "out")


def test_negative_threshold_is_refused(demo_warehouse, tmp_path):
    with pytest.raises(ValueError, match="suppress_below"):
        build_report(demo_warehouse, tmp_path, suppress_below=-1)


HOSTILE_NAME = '<script>alert("x")</script>_labs_20220101.csv'
HOSTILE_REASON = 'unknown site code "<b>ZZ</b>"'


@pytest.fixture(scope="module")
def altered_report(demo_warehouse, tmp_path_factory) -> tuple[str, ParsedReport]:
    """The demo warehouse plus what a later version could hold: a refused file whose name and
    reason carry markup (text from the inbox), and an endpoint this report does not know."""
    work = tmp_path_factory.mktemp("altered")
    copy = work / "warehouse.duckdb"
    shutil.copyfile(demo_warehouse, copy)
    with duckdb.connect(str(copy)) as conn:
        conn.execute("""INSERT INTO quality.file_manifest (file_name, file_path, sha256, site_id, domain,
                          export_date, status, reason, is_current, load_id, loaded_at)
                        VALUES (?, ?, 'f00', NULL, NULL, NULL, 'refused', ?, false, 'x', now())""",
                     [HOSTILE_NAME, HOSTILE_NAME, HOSTILE_REASON])
        conn.execute("INSERT INTO marts.endpoint_summary (endpoint, timepoint, n, denominator, pct) "
                     "VALUES ('platelet_transfusion', 'all', 7, 76, 9.2)")
    html_path, _ = build_report(copy, work / "out")
    html = html_path.read_text(encoding="utf-8")
    return html, parse_report(html)


def test_text_from_site_files_is_escaped(altered_report):
    """A refused file's name and reason come from the inbox; they print as text, not markup."""
    html, parsed = altered_report
    assert "<script" not in html and "<b>ZZ" not in html
    texts = {c.text for c in parsed.cells}
    assert HOSTILE_NAME in texts and HOSTILE_REASON in texts


def test_an_endpoint_unknown_to_the_report_is_still_printed(altered_report):
    _, parsed = altered_report
    assert parsed.one(endpoint="platelet_transfusion", timepoint="all", field="n").text == "7"
    assert parsed.one(endpoint="platelet_transfusion", timepoint="all", field="pct").text == "9.2"


def test_a_warehouse_with_empty_marts_still_gives_a_report(demo_warehouse, tmp_path):
    """First load of a new study: nothing treated yet, no file problems. The report says so
    instead of failing."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo_warehouse, copy)
    with duckdb.connect(str(copy)) as conn:
        for schema, tables in REQUIRED_TABLES.items():
            for table in tables:
                if table != "load_log":
                    conn.execute(f"DELETE FROM {schema}.{table}")
    html_path, pdf_path = build_report(copy, tmp_path / "out", suppress_below=5)
    parsed = parse_report(html_path.read_text(encoding="utf-8"))
    assert parsed.one(site="All sites", field="treated").text == "<5"
    assert "none" in {c.text for c in parsed.cells}
    assert len(PdfReader(pdf_path).pages) >= 1


def test_cli_report_writes_html_and_pdf(cli_report_run):
    out, proc = cli_report_run
    assert proc.returncode == 0, proc.stderr
    paths = [Path(line) for line in proc.stdout.split()]
    assert [p.suffix for p in paths] == [".html", ".pdf"]
    assert all(p.is_file() and p.parent == out.resolve() for p in paths)
    assert f"suppressed-below-{SUPPRESS_BELOW}" in paths[0].name


def test_cli_report_without_a_published_warehouse_says_so(tmp_path):
    proc = cli("report", "--home", str(tmp_path))
    assert proc.returncode != 0
    assert f"no published warehouse at {tmp_path.resolve() / 'warehouse.duckdb'}" in proc.stderr
