"""Micro-benchmark of the row checks: pandera `schemas.check_rows` (per 50,000-row chunk, as
`ingest.intake` calls it), `check_snapshot`, `check_cross_domain` and the Great Expectations
lab suite `expectations.run_lab_expectations`.

Rows are generated here with the dtypes `sources.readers` produces (object text and dates,
Int64, Float64, boolean), with a small share of every kind of bad row (missing values,
controlled terms in odd case or unknown, integer grades off the scale, reversed dates and
reference ranges, implausible lab values, NEUT above WBC, unknown test codes, NULL values).

    .venv/bin/python -m bench.checks_micro --lab-rows 1000000 --other-rows 200000
    .venv/bin/python -m bench.checks_micro --compare /tmp/ref   # also run reference copies

`--compare DIR` imports DIR/ref_schemas.py and DIR/ref_expectations.py (e.g. the committed
versions: `git show HEAD:quality/schemas.py > DIR/ref_schemas.py`), runs them on the same data
and fails unless accepted rows, row errors, quarantine failures and check results are identical.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from quality import expectations, schemas  # noqa: E402
from ingest.intake import prepare_warehouse  # noqa: E402
from sources.domains import DOMAINS  # noqa: E402
from sources.study_parameters import lab_tests  # noqa: E402

EXPORT = date(2021, 6, 30)
CHUNK = 50_000
PANDAS_DTYPES = {"VARCHAR": object, "DATE": object, "INTEGER": "Int64", "DOUBLE": "Float64", "BOOLEAN": "boolean"}


def _dates(rng: np.random.Generator, n: int, start: str = "2019-01-01", days: int = 900) -> np.ndarray:
    base = np.datetime64(start)
    return (base + rng.integers(0, days, n).astype("timedelta64[D]")).astype(object)  # datetime.date


def _sprinkle(rng: np.random.Generator, values: np.ndarray, share: float, choices: list) -> np.ndarray:
    values = values.astype(object)
    hit = rng.random(len(values)) < share
    values[hit] = rng.choice(np.array(choices, dtype=object), hit.sum())
    return values


def _frame(domain: str, site: str, path: str, sha: str, cols: dict[str, object], n: int) -> pd.DataFrame:
    raw = DOMAINS[domain].raw_columns()
    base = {"source_file": [path] * n, "source_sha256": [sha] * n, "source_row": np.arange(2, n + 2),
            "export_date": [EXPORT] * n, "site_id": [site] * n}
    data = {**base, **cols}
    return pd.DataFrame({c: pd.Series(data.get(c, [None] * n), dtype=PANDAS_DTYPES[t]) for c, t in raw.items()})


def lab_frame(n: int, site: str, path: str, sha: str, seed: int, dirty: bool = False) -> pd.DataFrame:
    """Panels of every seed test per subject and sample date (so NEUT/LYMPH have a WBC)."""
    rng = np.random.default_rng(seed)
    tests = list(lab_tests().values())
    panels = -(-n // len(tests))
    subject = np.repeat([f"{site}-{i:05d}" for i in rng.integers(0, max(panels // 6, 1), panels)], len(tests))[:n]
    day = np.repeat(_dates(rng, panels), len(tests))[:n]
    code = np.array([t.test_code for t in tests] * panels, dtype=object)[:n]
    low = np.array([t.plausible_low for t in tests] * panels)[:n]
    high = np.array([t.plausible_high for t in tests] * panels)[:n]
    value = np.round(low + (high - low) * rng.random(n) * 0.05, 2)
    wbc_slot = np.repeat(np.arange(panels) * len(tests) + 1, len(tests))[:n]  # WBC is 2nd in the seed
    differential = np.isin(code, ["NEUT", "LYMPH"])
    value[differential] = np.round(value[np.minimum(wbc_slot, n - 1)][differential] * rng.uniform(0.1, 1.002, differential.sum()), 2)
    bad = rng.random(n)
    value = np.where(bad < 0.001, high + 1, np.where(bad > 0.999, low - 0.5, value))
    value = value.astype(object)
    value[rng.random(n) < 0.0005] = None                     # missing value (required)
    ref_low = np.array([t.default_ref_low for t in tests] * panels)[:n].astype(object)
    ref_high = np.array([t.default_ref_high for t in tests] * panels)[:n].astype(object)
    flip = rng.random(n) < 0.0005
    ref_low[flip], ref_high[flip] = ref_high[flip], ref_low[flip]
    if dirty:  # rows the readers never store, but raw.labs may hold for GE: unknown codes, NULLs
        code = _sprinkle(rng, code, 0.0005, ["XYZ", None])
    unit = np.array([t.canonical_unit for t in tests] * panels, dtype=object)[:n]
    original = np.array([None if v is None else f"{v:g}" for v in value], dtype=object)
    return _frame("labs", site, path, sha, {
        "subject_id": subject, "sample_date": day, "test_code": code, "value": value, "unit": unit,
        "ref_low": ref_low, "ref_high": ref_high, "original_test_code": code, "original_value": original,
        "original_unit": unit, "conversion_factor": np.ones(n)}, n)


def other_frames(n: int, site: str, seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    subjects = np.array([f"{site}-{i:05d}" for i in range(n)], dtype=object)
    sid = _sprinkle(rng, subjects, 0.0005, [None, "  "])
    start = _dates(rng, n)
    end = np.array([d + timedelta(days=int(k)) for d, k in zip(start, rng.integers(0, 90, n))], dtype=object)
    end = _sprinkle(rng, end, 0.001, [date(2018, 12, 31)])  # before its start
    out = {
        "subjects": _frame("subjects", site, "s.csv", "s1", {
            "subject_id": sid, "sex": _sprinkle(rng, rng.choice(np.array(["M", "F"], dtype=object), n), 0.01,
                                                ["m", " f ", "X", None, "", "  ", "female"]),
            "birth_year": _sprinkle(rng, rng.integers(1930, 2005, n), 0.001, [1899, 2022, None]),
            "diagnosis_date": _dates(rng, n, "2018-01-01"), "enrollment_date": _dates(rng, n)}, n),
        "dosing": _frame("dosing", site, "d.csv", "d1", {
            "subject_id": sid, "start_date": start, "end_date": _sprinkle(rng, end, 0.2, [None]),
            "dose_mg": _sprinkle(rng, rng.choice([25.0, 50.0, 75.0], n), 0.001, [0.0, -5.0, None]),
            "doses_per_day": _sprinkle(rng, rng.integers(1, 3, n), 0.001, [0, None])}, n),
        "bleeding": _frame("bleeding", site, "b.csv", "b1", {
            "subject_id": sid, "assessment_date": _sprinkle(rng, start, 0.001, [date(2021, 7, 2)]),
            "who_grade": _sprinkle(rng, rng.integers(0, 5, n), 0.002, [5, -1])}, n),  # no NA: readers refuse empty grades
        "adverse_events": _frame("adverse_events", site, "a.csv", "a1", {
            "subject_id": sid, "ae_term": rng.choice(np.array(["rash", "fever", "headache"], dtype=object), n),
            "onset_date": start, "resolution_date": _sprinkle(rng, end, 0.3, [None]),
            "ctcae_grade": _sprinkle(rng, rng.integers(1, 6, n), 0.002, [0, 6]),
            "serious": rng.random(n) < 0.1, "related": _sprinkle(rng, rng.random(n) < 0.5, 0.1, [None])}, n),
        "disposition": _frame("disposition", site, "p.csv", "p1", {
            "subject_id": sid, "status": _sprinkle(rng, rng.choice(np.array(["on_treatment", "completed"], dtype=object), n),
                                                   0.05, ["withdrawn", "Withdrawn ", "WITHDRAWN", "dead", None]),
            "status_date": _dates(rng, n),
            "reason": _sprinkle(rng, np.array([None] * n, dtype=object), 0.04,
                                ["epidemic", "Other", " lost_to_follow_up", "bored", "", "  "])}, n),
    }
    return out


def _chunks(frame: pd.DataFrame):
    for i in range(0, len(frame), CHUNK):
        yield frame.iloc[i:i + CHUNK].reset_index(drop=True)


def run_check_rows(module, frames: dict[str, pd.DataFrame]) -> tuple[float, dict]:
    out = {}
    started = time.perf_counter()
    for domain, frame in frames.items():
        for k, chunk in enumerate(_chunks(frame)):
            out[(domain, k)] = module.check_rows(domain, chunk, EXPORT)
    return time.perf_counter() - started, out


def build_warehouse(path: Path, lab_files: list[pd.DataFrame]) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(path))
    prepare_warehouse(conn)
    cols = DOMAINS["labs"].raw_columns()
    select = ", ".join(f"CAST(chunk.{c} AS {t})" for c, t in cols.items())
    for frame in lab_files:
        conn.register("chunk", frame)
        conn.execute(f"INSERT INTO raw.labs ({', '.join(cols)}) SELECT {select} FROM chunk")
        conn.unregister("chunk")
        conn.execute(
            """INSERT INTO quality.file_manifest (file_name, file_path, sha256, site_id, domain, export_date,
                 status, is_current, load_id, loaded_at) VALUES (?, ?, ?, ?, 'labs', ?, 'loaded', true, 'B1', ?)""",
            [frame["source_file"].iloc[0], frame["source_file"].iloc[0], frame["source_sha256"].iloc[0],
             frame["site_id"].iloc[0], EXPORT, datetime(2030, 1, 1)])
    return conn


def _load_ref(directory: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, directory / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _same_rows(a: dict, b: dict) -> list[str]:
    problems = []
    for key in a:
        (acc_a, err_a), (acc_b, err_b) = a[key], b[key]
        try:
            pd.testing.assert_frame_equal(acc_a, acc_b)
        except AssertionError as exc:
            problems.append(f"{key}: accepted rows differ: {str(exc)[:300]}")
        if err_a != err_b:
            problems.append(f"{key}: row errors differ ({len(err_a)} vs {len(err_b)})")
    return problems


def _canon(outcome) -> tuple:
    failures = outcome.failures.reset_index(drop=True)
    results = [(r.check_name, r.tool, r.target, r.severity, r.rows_checked, r.rows_failed, r.passed, r.details)
               for r in outcome.check_results]
    return failures, results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lab-rows", type=int, default=1_000_000)
    p.add_argument("--other-rows", type=int, default=200_000)
    p.add_argument("--lab-files", type=int, default=20)
    p.add_argument("--skip-ge", action="store_true")
    p.add_argument("--skip-pandera", action="store_true")
    p.add_argument("--compare", type=Path, help="directory with ref_schemas.py and ref_expectations.py")
    args = p.parse_args(argv)
    ok = True
    ref_schemas = _load_ref(args.compare, "ref_schemas") if args.compare else None
    ref_expectations = _load_ref(args.compare, "ref_expectations") if args.compare else None

    started = time.perf_counter()
    per_file = args.lab_rows // args.lab_files
    sites = ["AAA", "BBB", "CCC", "DDD"]
    lab_files = [lab_frame(per_file, sites[i % 4], f"in/{sites[i % 4]}_labs_{i:02d}.csv", f"{i:02d}" + "f" * 62,
                           seed=i, dirty=False) for i in range(args.lab_files)]
    others = other_frames(args.other_rows, "AAA", seed=99)
    print(f"generated {args.lab_rows:,} lab rows in {args.lab_files} files and "
          f"{args.other_rows:,} rows x {len(others)} domains in {time.perf_counter() - started:.1f} s")

    if not args.skip_pandera:
        frames = {"labs": pd.concat(lab_files, ignore_index=True), **others}
        n = sum(len(f) for f in frames.values())
        schemas.check_rows("labs", frames["labs"].iloc[:10].reset_index(drop=True), EXPORT)  # warm-up
        seconds, got = run_check_rows(schemas, frames)
        errors = sum(len(e) for _, e in got.values())
        print(f"pandera check_rows: {n:,} rows in {seconds:.2f} s = {n / seconds:,.0f} rows/s "
              f"({errors:,} row errors)")
        for domain, frame in frames.items():
            t0 = time.perf_counter()
            run_check_rows(schemas, {domain: frame})
            print(f"  {domain:15s} {len(frame):>9,} rows {time.perf_counter() - t0:6.2f} s")
        if ref_schemas is not None:
            seconds_ref, want = run_check_rows(ref_schemas, frames)
            print(f"reference check_rows: {seconds_ref:.2f} s = {n / seconds_ref:,.0f} rows/s")
            problems = _same_rows(got, want)
            for problem in problems[:20]:
                print("  DIFFERENT:", problem)
            ok &= not problems
            print("check_rows identical to the reference" if not problems else "check_rows DIFFER")

    if not args.skip_ge:
        with tempfile.TemporaryDirectory(prefix="checks-micro-") as tmp:
            # GE sees what raw.labs may hold: also unknown test codes and NULL values
            dirty = [lab_frame(per_file, sites[i % 4], f"in/{sites[i % 4]}_labs_{i:02d}.csv", f"{i:02d}" + "f" * 62,
                               seed=i, dirty=True) for i in range(args.lab_files)]
            conn = build_warehouse(Path(tmp) / "w.duckdb", dirty)
            shas = [f["source_sha256"].iloc[0] for f in dirty]
            import great_expectations  # noqa: F401 - imported once per load process: not timed
            t0 = time.perf_counter()
            snap = [schemas.check_snapshot(conn, "labs", s) for s in shas]
            print(f"check_snapshot: {args.lab_rows:,} rows in {time.perf_counter() - t0:.2f} s "
                  f"({sum(len(s) for s in snap):,} duplicate-key rows)")
            if ref_schemas is not None:
                t0 = time.perf_counter()
                want_snap = [ref_schemas.check_snapshot(conn, "labs", s) for s in shas]
                print(f"reference check_snapshot: {time.perf_counter() - t0:.2f} s")
                same = all(a.reset_index(drop=True).equals(b.reset_index(drop=True)) for a, b in zip(snap, want_snap))
                ok &= same
                print("check_snapshot identical to the reference" if same else "check_snapshot DIFFERS")
            t0 = time.perf_counter()
            got = expectations.run_lab_expectations(conn, load_id="B1", sha256s=shas, docs_dir=Path(tmp) / "docs")
            seconds = time.perf_counter() - t0
            print(f"GE run_lab_expectations: {args.lab_rows:,} lab rows in {seconds:.2f} s = "
                  f"{args.lab_rows / seconds:,.0f} rows/s ({len(got.failures):,} failures, "
                  f"docs {'written' if got.data_docs_index else 'NOT written'})")
            if ref_expectations is not None:
                t0 = time.perf_counter()
                want = ref_expectations.run_lab_expectations(conn, load_id="B1", sha256s=shas,
                                                             docs_dir=Path(tmp) / "docs_ref")
                seconds_ref = time.perf_counter() - t0
                print(f"reference run_lab_expectations: {seconds_ref:.2f} s = {args.lab_rows / seconds_ref:,.0f} rows/s")
                (fa, ra), (fb, rb) = _canon(got), _canon(want)
                same = True
                try:
                    pd.testing.assert_frame_equal(fa, fb)
                except AssertionError as exc:
                    same = False
                    print("  DIFFERENT failures:", str(exc)[:500])
                if ra != rb:
                    same = False
                    for x, y in zip(ra, rb):
                        if x != y:
                            print("  DIFFERENT check_result:", x, "vs", y)
                    if len(ra) != len(rb):
                        print(f"  DIFFERENT number of check_results: {len(ra)} vs {len(rb)}")
                ok &= same
                print("GE outcome identical to the reference" if same else "GE outcome DIFFERS")
            conn.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
