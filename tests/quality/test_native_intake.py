"""The native CSV path (`sources.native_csv`, `ingest.native_intake`) decides exactly what the
Python path decides: the same raw rows in the same stored order, the same quarantine records
(reasons, check names, line numbers) in the same order, the same manifest.

Files are generated with valid rows of every domain in the site's own formats, and cells
replaced by bad ones of every kind (parse errors, control characters, formulas, identifiers,
subject ids beyond printable ASCII or the site's pattern, dates before 1900, unknown tests and
units, another site, row-check failures, duplicate keys, short, long and blank rows). Each file
is loaded twice through `ingest.intake.ingest_inbox`, natively and the Python way.
Cost: about 15 s (hypothesis, 60 examples of two loads each)."""
from __future__ import annotations

import csv
import io
import tempfile
from datetime import date, datetime
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ingest import intake
from sources import native_csv
from sources.domains import DATE, DOMAINS, FLAG, INTEGER, NUMBER
from sources.inbox import discover
from sources.naming import parse_file_name
from sources.registry import SiteConfig, SiteRegistry
from sources.units import accepted_test_codes, accepted_units
from tests.hostile.test_properties import text_cells

SITE = "BJH"
FORMATS = ["%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y"]
EXPORT_DATE = date(2021, 4, 1)

sites = st.builds(SiteConfig, code=st.just(SITE), name=st.just("test"),
                  encoding=st.sampled_from(["utf-8", "gb18030"]), delimiter=st.sampled_from([",", ";", "\t"]),
                  decimal=st.sampled_from([".", ","]), date_format=st.sampled_from(FORMATS),
                  subject_id_pattern=st.sampled_from([None, r"BJH-[0-9]{3}"]))

SUBJECTS = ["BJH-001", "BJH-002", "BJH-003", "BJH-004"]


def _number(value: float, decimals: int, site: SiteConfig) -> str:
    return f"{value:.{decimals}f}".replace(".", site.decimal)


@st.composite
def valid_cell(draw, domain: str, column: str, site: SiteConfig, lab: tuple[str, str]) -> str:
    spec = DOMAINS[domain].column(column)
    if column == "site_id":
        return SITE
    if column == "subject_id":
        return draw(st.sampled_from(SUBJECTS))
    if column == "test_code":
        return lab[0]
    if column == "unit":
        return lab[1]
    if column == "birth_year":
        return str(draw(st.integers(1930, 2010)))
    if spec.allowed:
        return draw(st.sampled_from(list(spec.allowed) + [a.upper() for a in spec.allowed]))
    if spec.kind == DATE:
        return draw(st.dates(date(2019, 1, 1), date(2021, 4, 3))).strftime(site.date_format)
    if spec.kind == NUMBER:
        return _number(draw(st.floats(-5, 500, allow_nan=False)), draw(st.integers(0, 3)), site)
    if spec.kind == INTEGER:
        return str(draw(st.integers(-1, 4)))
    if spec.kind == FLAG:
        return draw(st.sampled_from(["Y", "N", "yes", "no"]))
    return draw(st.sampled_from(["Fatigue", "Rash", "aspirin", "mg", "Prednisone 5mg", "  padded  "]))


def bad_cells(site: SiteConfig) -> st.SearchStrategy[str]:
    """Cells every check refuses (or a row check does), most of them plain for the CSV."""
    early = date(1899, 12, 31).strftime(site.date_format)
    later = date(2021, 6, 1).strftime(site.date_format)
    hostile = st.sampled_from([
        "13912345678", "+86 139 1234 5678", "someone@example.com", "11010519491231002X", "BJH－001", "bjh-001",
        "BJH 001", "SH", early, "0021-01-01", later, "31.02.2021", "1,5", "1.5", "2.5", "<=3", "< 3", ">7", "XYZ",
        "mg/L", "BUN", "=1+1", "@SUM(A1)", "-cmd", "N/A", "", "   ", "\x07bell", "9" * 12, "x" * 40, "1e5",
        "2147483648", "-0", "0", "withdrawn"])
    return st.one_of(hostile, text_cells)


@st.composite
def csv_files(draw) -> tuple[SiteConfig, str, bytes]:
    site = draw(sites)
    domain = draw(st.sampled_from(list(DOMAINS)))
    header = list(DOMAINS[domain].spec_columns)
    if draw(st.booleans()):
        header.insert(draw(st.integers(0, len(header))), "Patient Name")
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        code = draw(st.sampled_from(accepted_test_codes()))
        lab = (code, draw(st.sampled_from(accepted_units(code))))
        row = [draw(valid_cell(domain, c, site, lab)) if c in DOMAINS[domain].spec_columns else "Zhang San"
               for c in header]
        for i in range(len(row)):
            if draw(st.integers(0, 9)) == 0:
                row[i] = draw(bad_cells(site))
        shape = draw(st.integers(0, 19))
        if shape == 0:
            row = row[:draw(st.integers(0, len(row)))]
        elif shape == 1:
            row = row + draw(st.lists(st.sampled_from(["", " ", "extra"]), min_size=1, max_size=2))
        rows.append(row)
        if draw(st.integers(0, 9)) == 0:
            rows.append(list(rows[-1]))   # a key twice in the snapshot
    out = io.StringIO()
    ending = draw(st.sampled_from(["\n", "\r\n", "\r\n", "\n", "\r"]))
    csv.writer(out, delimiter=site.delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator=ending).writerows([header] + rows)
    try:
        content = out.getvalue().encode(site.encoding)
    except UnicodeEncodeError:
        content = out.getvalue().encode(site.encoding, "replace")
    return site, f"{SITE}_{domain}_{EXPORT_DATE:%Y%m%d}.csv", content


def _tables(conn: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """Every table a load writes, as stored (insertion order), load times aside."""
    out = {d: conn.execute(f"SELECT * FROM raw.{d}").fetchall() for d in DOMAINS}
    out["quarantine"] = conn.execute("SELECT * FROM quality.quarantine").fetchall()
    out["manifest"] = conn.execute("SELECT * EXCLUDE (loaded_at) FROM quality.file_manifest").fetchall()
    return out


def _load(inbox: Path, site: SiteConfig, native: bool, workers: int = 0) -> dict[str, list]:
    conn = duckdb.connect()
    intake.prepare_warehouse(conn)
    intake.ingest_inbox(conn, inbox, SiteRegistry({SITE: site}), "L1", datetime(2021, 4, 2), workers=workers,
                        native=native)
    try:
        return _tables(conn)
    finally:
        conn.close()


def _went_native(inbox: Path, site: SiteConfig) -> bool:
    [file], _ = discover(inbox)
    conn = duckdb.connect()
    intake.prepare_warehouse(conn)
    staged = native_csv.stage(conn, file, parse_file_name(file.name, SiteRegistry({SITE: site})), site)
    if staged is not None:
        staged.close()
    conn.close()
    return staged is not None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(generated=csv_files())
def test_native_and_python_paths_store_and_quarantine_alike(generated):
    site, file_name, content = generated
    with tempfile.TemporaryDirectory() as tmp:
        inbox = Path(tmp)
        (inbox / file_name).write_bytes(content)
        event("read natively" if _went_native(inbox, site) else "left to the Python reader")
        assert _load(inbox, site, native=True) == _load(inbox, site, native=False)


def test_a_plain_file_with_bad_cells_goes_native_and_agrees(tmp_path):
    """The property above holds trivially if nothing goes native: this file (bad cells of many
    kinds, a short, a long and a blank row, CRLF) must."""
    site = SiteConfig(SITE, "test", encoding="gb18030", delimiter=";", decimal=",", date_format="%d.%m.%Y",
                      subject_id_pattern=r"BJH-[0-9]{3}")
    header = ["subject_id", "site_id", "sample_date", "test_code", "value", "unit", "ref_low", "ref_high", "患者"]
    rows = [
        ["BJH-001", "BJH", "01.03.2021", "PLT", "27", "10^9/L", "125", "350", "张三"],
        ["BJH-001", "BJH", "01.03.2021", "HGB", "<5,5", "g/dL", "11,5", "15", ""],
        ["BJH-002", "BJH", "31.02.2021", "PLT", "1.5", "10^9/L", "", "", ""],          # date, number
        ["BJH-003", "BJH", "02.03.2021", "XYZ", "=1+1", "mg/L", "", "", ""],            # test, formula
        ["13912345678", "BJH", "01.01.1899", "ALT", "30", "U/L", "50", "9", ""],         # identifier, 1899
        ["bjh-004", "SH", "05.05.2021", "CREAT", "0,7", "mg/dL", "0,6", "1,2", ""],      # pattern, site, future
        ["BJH-005", "BJH", "03.03.2021", "WBC", "5", "10^9/L", "9", "3", ""],            # ref range order
        ["BJH-006", "BJH"],                                                               # short
        ["BJH-007", "BJH", "03.03.2021", "WBC", "5", "10^9/L", "", "", "", "extra"],     # beyond the header
        [],                                                                               # blank
        ["BJH-001", "BJH", "01.03.2021", "PLT", "28", "10^9/L", "125", "350", ""],      # key twice
    ]
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows([header] + rows)
    (tmp_path / f"{SITE}_labs_20210401.csv").write_bytes(out.getvalue().encode("gb18030"))
    assert _went_native(tmp_path, site)
    native, python = _load(tmp_path, site, native=True), _load(tmp_path, site, native=False)
    assert native == python
    # read natively by a worker (its own DuckDB, rows handed back as Parquet): the same again
    assert _load(tmp_path, site, native=True, workers=1) == python
    assert len(python["labs"]) == 1 and {r[2] for r in python["quarantine"]} == {2, 4, 5, 6, 7, 8, 9, 10, 12}


def test_files_the_native_path_leaves_to_python(tmp_path):
    """Quotes, a lone CR, a missing last line break, UTF-8 text at a GB18030 site, a byte-order
    mark mid-file: the Python reader reads (or refuses) them."""
    plain = "site_id,subject_id\nBJH,BJH-001\n"
    assert native_csv.plain_text(plain.encode(), "utf-8") == plain
    assert native_csv.plain_text(b"\xef\xbb\xbf" + plain.encode(), "utf-8") == plain
    for content, encoding in [('site_id,subject_id\nBJH,"BJH-001"\n', "utf-8"),
                              ("site_id,subject_id\rBJH,BJH-001\r", "utf-8"),
                              ("site_id,subject_id\nBJH,BJH\r-001\n", "utf-8"),
                              ("site_id,subject_id\nBJH,BJH-001", "utf-8"),
                              ("site_id,subject_id\nBJH,华法林片\n", "gb18030-as-utf8"),
                              ("site_id,subject_id\n\ufeffBJH,BJH-001\n", "utf-8")]:
        data = content.encode("utf-8")
        assert native_csv.plain_text(data, encoding.removesuffix("-as-utf8")) is None, content
