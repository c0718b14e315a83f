"""Benchmark of the xlsx readers against the CSV reader on the same lab rows (#14, #16).

Measures, per row and as peak RSS, on one lab file written as xlsx and as CSV:
- rows.*: the row source alone (what `sources.readers` iterates): the xlsx fast path
  (`sources.xlsx_rows.sheet_rows`), python-calamine (raw: its own values, no conversion; and
  as a candidate row source: a formula scan of the sheet XML, since calamine reads a formula as
  its cached value, plus the conversions the readers rely on), and the CSV reader's rows;
- read.*: the whole reader (`sources.readers.open_export` and every chunk: header, typed
  conversion, row errors), with the xlsx rows from the fast path, from the calamine candidate,
  and the CSV file.

The rows are the lab rows of a generated site whose labs are xlsx (`generate_cohort`, site
S002: dates as date cells), taken in order up to the wanted count and written once with
openpyxl (shared strings, as Excel writes them) and once as that site's CSV. Each measurement
runs in a fresh process (peak RSS is the process's VmHWM, baseline = the same after its
imports), 3 times, the variants in turn; the median is reported, wall and CPU time (on a
shared machine CPU time is the steadier figure).

    .venv/bin/python -m bench.xlsx_readers --rows 10000 100000 --out /tmp/xlsx-bench
    .venv/bin/python -m bench.xlsx_readers --hostile   # a 2-cell workbook spanning the whole sheet
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import subprocess
import sys
import time
import zipfile
from datetime import date, datetime
from pathlib import Path

SITE, DOMAIN, EXPORT = "S002", "labs", "20220630"
VARIANTS = ["rows.fast", "rows.calamine_raw", "rows.calamine", "rows.csv", "read.fast", "read.calamine", "read.csv"]


# --- the files ----------------------------------------------------------------------------

def prepare(out: Path, rows: int) -> Path:
    """out/<rows>/{xlsx,csv}/S002_labs_20220630.* and sites.yaml, the same rows in both."""
    folder = out / str(rows)
    if (folder / "done").exists():
        return folder
    import openpyxl

    from sources import xlsx_rows
    from demo.cohort import generate_cohort

    cohort_dir = out / "cohort"
    if not (cohort_dir / "done").exists():
        # 300 subjects a site from 900 on; 72 months give the xlsx site over 100,000 lab rows
        generate_cohort(cohort_dir, seed=20240611, subjects=900, months=72, snapshots="final")
        (cohort_dir / "done").write_text("")
    source = cohort_dir / "inbox" / SITE / f"{SITE}_{DOMAIN}_{EXPORT}.xlsx"
    with source.open("rb") as fh:
        sheet = [cells for _, cells in xlsx_rows.sheet_rows(fh)]
    header, data = sheet[0], sheet[1:]
    if len(data) < rows:
        raise SystemExit(f"the generated file has {len(data)} rows, fewer than {rows}")
    data = data[:rows]
    site = _site_config(cohort_dir / "sites.yaml")

    for kind in ("xlsx", "csv"):
        (folder / kind).mkdir(parents=True, exist_ok=True)
    workbook = openpyxl.Workbook(write_only=True)
    ws = workbook.create_sheet(DOMAIN)
    for row in [header, *data]:
        ws.append([v.date() if isinstance(v, datetime) and v.time() == datetime.min.time() else v for v in row])
    workbook.save(folder / "xlsx" / f"{SITE}_{DOMAIN}_{EXPORT}.xlsx")
    with open(folder / "csv" / f"{SITE}_{DOMAIN}_{EXPORT}.csv", "w", newline="", encoding=site["encoding"]) as fh:
        writer = csv.writer(fh, delimiter=site["delimiter"], lineterminator="\n")
        writer.writerow(header)
        for row in data:
            writer.writerow([_csv_text(v, site) for v in row])
    (folder / "sites.yaml").write_text((cohort_dir / "sites.yaml").read_text())
    (folder / "done").write_text("")
    return folder


def _site_config(path: Path) -> dict:
    import yaml
    return yaml.safe_load(path.read_text())["sites"][SITE]


def _csv_text(value: object, site: dict) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.strftime(site["date_format"])
    if isinstance(value, float):
        return repr(value).replace(".", site["decimal"])
    return str(value)


# --- python-calamine as a row source --------------------------------------------------------

_FORMULA = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?f[ \t\r\n/>]")


def _has_formula(fh) -> bool:
    """Any formula element in a worksheet part (streamed; a match across two reads is kept
    by carrying the last bytes over). calamine has no formula API: it reads a formula cell as
    its cached value, or as empty when the writer stored none."""
    with zipfile.ZipFile(fh) as archive:
        for name in archive.namelist():
            if not name.startswith("xl/worksheets/") or not name.endswith(".xml"):
                continue
            previous = b""
            with archive.open(name) as part:
                while data := part.read(1 << 20):
                    if _FORMULA.search(previous + data):
                        return True
                    previous = data[-32:]
    return False


def calamine_rows(fh, watch=None):
    """The first sheet's rows as `sources.xlsx_rows.sheet_rows` yields them, as nearly as
    calamine allows: numbered as in Excel, empty cells None, rows as wide as their last value,
    whole floats as int, dates as datetime. What it cannot give back: whether the XML held
    "3" or "3.0" (openpyxl: int or float), an empty string cell vs no cell, a formula's text."""
    from python_calamine import CalamineWorkbook

    from sources.bounds import Watch
    from sources.xlsx_rows import check_expansion

    watch = watch or Watch()
    check_expansion(fh, watch)
    fh.seek(0)
    if _has_formula(fh):
        raise RuntimeError("a formula: the candidate would hand the file to openpyxl (not measured here)")
    fh.seek(0)
    workbook = CalamineWorkbook.from_filelike(fh)
    try:
        sheet = workbook.get_sheet_by_index(0)
        if sheet.start is None:
            return
        for number, values in enumerate(sheet.iter_rows(), 1):   # from A1, leading empty area included
            row = [_cell(v) for v in values]
            while row and row[-1] is None:
                row.pop()
            yield number, row
    finally:
        workbook.close()


def _cell(value: object) -> object:
    if value == "":
        return None
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is date:
        return datetime(value.year, value.month, value.day)
    return value


# --- one measurement (in its own process) ----------------------------------------------------

def _peak_kb() -> int:
    """The process's peak RSS (VmHWM). Not getrusage's ru_maxrss: on Linux a child started by
    fork and exec reports the parent's peak at the fork if that was higher."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure(folder: Path, variant: str) -> dict:
    from sources import csv_lines, readers, xlsx_rows
    from sources.inbox import discover, open_inbox_file
    from sources.naming import parse_file_name
    from sources.registry import load_registry
    import python_calamine  # noqa: F401 - imported before the baseline, as the readers are

    kind = "csv" if variant.endswith(".csv") else "xlsx"
    path = folder / kind / f"{SITE}_{DOMAIN}_{EXPORT}.{kind}"
    baseline = _peak_kb()
    started, cpu_started = time.perf_counter(), time.process_time()
    rows = 0
    if variant.startswith("rows."):
        if variant == "rows.csv":
            registry = load_registry(folder / "sites.yaml")
            files, _ = discover(folder / "csv")
            source = csv_lines.csv_rows(files[0], registry.get(SITE))
        else:
            fh = path.open("rb")
            if variant == "rows.fast":
                source = xlsx_rows.sheet_rows(fh)
            elif variant == "rows.calamine":
                source = calamine_rows(fh)
            else:
                from python_calamine import CalamineWorkbook
                source = enumerate(CalamineWorkbook.from_filelike(fh).get_sheet_by_index(0).iter_rows(), 1)
        for _ in source:
            rows += 1
    else:
        if variant == "read.calamine":
            def _calamine_source(file, site, watch=None):
                with open_inbox_file(file) as fh:
                    yield from calamine_rows(fh, watch)
            readers.ROW_SOURCES["xlsx"] = _calamine_source
        registry = load_registry(folder / "sites.yaml")
        files, _ = discover(folder / kind)
        name = parse_file_name(files[0].name, registry)
        reader = readers.open_export(files[0], name, registry.get(SITE))
        for chunk in reader:
            rows += len(chunk.rows) + len(chunk.errors)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = _peak_kb()
    return {"variant": variant, "rows": rows, "seconds": seconds, "cpu_s": cpu, "peak_kb": peak, "baseline_kb": baseline}


# --- a small hostile workbook: one cell at A1, one at XFD1048576 ------------------------------

def sparse_corners(out: Path) -> Path:
    """Two cells, about 5 KB: within the expansion bound (its parts expand a few times)."""
    import openpyxl

    path = out / "sparse_corners.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "subject_id"
    workbook.active["XFD1048576"] = 1
    workbook.save(path)
    return path


def read_sparse(path: Path, reader: str) -> dict:
    """Read it in this process (started with a 2 GiB address-space limit by `hostile`)."""
    from sources import xlsx_rows
    source = xlsx_rows.sheet_rows if reader == "fast" else calamine_rows
    started = time.perf_counter()
    with path.open("rb") as fh:
        rows = sum(1 for _ in source(fh))
    return {"reader": reader, "rows": rows, "seconds": round(time.perf_counter() - started, 2),
            "peak_mb": round(_peak_kb() / 1024, 1)}


def hostile(out: Path) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    path = sparse_corners(out)
    lines = [f"sparse_corners.xlsx ({path.stat().st_size:,} bytes), read with a 2 GiB address-space limit:"]
    for reader in ("fast", "calamine"):
        code = ("import resource, json, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
                "from pathlib import Path; from bench.xlsx_readers import read_sparse; "
                f"print(json.dumps(read_sparse(Path({str(path)!r}), {reader!r})))")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        last = (done.stdout.strip().splitlines() or [""])[-1]
        first_error = next((line for line in done.stderr.splitlines() if line.strip()), "")
        lines.append(f"- {reader}: exit {done.returncode}; {last or first_error}")
    return lines


# --- driver -------------------------------------------------------------------------------

def run(out: Path, sizes: list[int], repeats: int, variants: list[str]) -> list[dict]:
    results = []
    for size in sizes:
        folder = prepare(out, size)
        measured: dict[str, list[dict]] = {variant: [] for variant in variants}
        for _ in range(repeats):   # round-robin: a busy spell of a shared machine hits every variant
            for variant in variants:
                done = subprocess.run([sys.executable, "-m", "bench.xlsx_readers", "--one", str(folder), variant],
                                      capture_output=True, text=True, check=True)
                measured[variant].append(json.loads(done.stdout.strip().splitlines()[-1]))
        for variant, runs in measured.items():
            seconds = statistics.median(r["seconds"] for r in runs)
            cpu = statistics.median(r["cpu_s"] for r in runs)
            rows = runs[0]["rows"]
            results.append({
                "size": size, "variant": variant, "rows": rows, "median_s": round(seconds, 3),
                "us_per_row": round(seconds / rows * 1e6, 2), "cpu_us_per_row": round(cpu / rows * 1e6, 2),
                "peak_mb": round(statistics.median(r["peak_kb"] for r in runs) / 1024, 1),
                "above_baseline_mb": round(statistics.median(r["peak_kb"] - r["baseline_kb"] for r in runs) / 1024, 1),
                "runs_s": [round(r["seconds"], 3) for r in runs],
            })
            print(json.dumps(results[-1]), flush=True)
    return results


def table(results: list[dict]) -> str:
    lines = ["| rows | variant | median s | µs/row | CPU µs/row | vs CSV (CPU, same level) | peak RSS MB | "
             "above baseline MB |", "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        level = r["variant"].split(".")[0]
        csv_row = next((c for c in results if c["size"] == r["size"] and c["variant"] == f"{level}.csv"), None)
        ratio = f"{r['cpu_us_per_row'] / csv_row['cpu_us_per_row']:.2f}x" if csv_row else ""
        lines.append(f"| {r['size']:,} | {r['variant']} | {r['median_s']} | {r['us_per_row']} | {r['cpu_us_per_row']} | {ratio} | "
                     f"{r['peak_mb']} | {r['above_baseline_mb']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS)
    parser.add_argument("--out", type=Path, default=Path("/tmp/itp-xlsx-bench"))
    parser.add_argument("--hostile", action="store_true",
                        help="only read a two-cell workbook spanning A1:XFD1048576 with both readers")
    parser.add_argument("--one", nargs=2, metavar=("FOLDER", "VARIANT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(Path(args.one[0]), args.one[1])))
        return
    if args.hostile:
        print("\n".join(hostile(args.out)))
        return
    results = run(args.out, args.rows, args.repeats, args.variants)
    print(table(results))


if __name__ == "__main__":
    main()
