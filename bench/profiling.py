"""Where the ingest step spends its time: one extra full load under cProfile (never one of
the measured loads: the profiler slows pure-Python code most, and it would distort the
table). Its shares split `site_exports` into reading, row checks, inserts and the post-intake
checks, which the event log cannot. A share is rough: the profiler inflates the many small
Python calls of reading more than the pandas/DuckDB work of the checks."""
from __future__ import annotations

import io
import pstats
from dataclasses import dataclass, field
from pathlib import Path

# label -> (file path suffix, function name): the parts of site_exports, in call order.
STEP = "site_exports step"
PANDERA = "ingest: pandera row checks (schemas.check_rows)"
DUPLICATES = "ingest: duplicate keys (schemas.check_snapshot)"
POST_INTAKE = "checks: intake.run_post_intake_checks"
FOCUS = {
    STEP: ("orchestration/assets/ingest.py", "site_exports"),
    "ingest: intake.ingest_inbox": ("ingest/intake.py", "ingest_inbox"),
    "ingest: read + parse rows (ExportReader)": ("sources/readers.py", "__iter__"),
    "ingest: of which xlsx sheets (openpyxl)": ("sources/readers.py", "_xlsx_rows"),
    "ingest: of which cell conversion (ExportReader._convert)": ("sources/readers.py", "_convert"),
    PANDERA: ("quality/schemas.py", "check_rows"),
    "ingest: insert into raw (intake._insert_rows)": ("ingest/intake.py", "_insert_rows"),
    "ingest: quarantine writes": ("quality/quarantine.py", "write_errors"),
    DUPLICATES: ("quality/schemas.py", "check_snapshot"),
    POST_INTAKE: ("ingest/intake.py", "run_post_intake_checks"),
    "checks: Great Expectations lab suite": ("quality/expectations.py", "run_lab_expectations"),
    "checks: cross-domain (schemas.check_cross_domain)": ("quality/schemas.py", "check_cross_domain"),
}
# What the issue calls "checks": every check, wherever it runs in the step.
CHECK_PARTS = (PANDERA, DUPLICATES, POST_INTAKE)
TOP = 25


@dataclass
class ProfileSummary:
    subjects: int
    rows_read: int
    text_file: str                               # full pstats listing, next to the results
    focus_cumulative_s: dict[str, float] = field(default_factory=dict)
    top_own_time: list[str] = field(default_factory=list)   # "seconds  function" lines
    checks_share: float | None = None    # checks / site_exports, under the profiler



def _find(stats: pstats.Stats, suffix: str, function: str) -> float | None:
    found = [value[3] for (path, _, name), value in stats.stats.items()   # [3]: cumulative time
             if name == function and path.replace("\\", "/").endswith(suffix)]
    return max(found) if found else None


def _label(key: tuple[str, int, str]) -> str:
    path, line, name = key
    parts = Path(path).parts
    short = "/".join(parts[-3:]) if len(parts) >= 3 else path
    return f"{short}:{line}({name})"


def summarise(profile_file: Path, text_file: Path, subjects: int, rows_read: int) -> ProfileSummary:
    stats = pstats.Stats(str(profile_file))
    buffer = io.StringIO()
    listing = pstats.Stats(str(profile_file), stream=buffer)
    listing.sort_stats("cumulative").print_stats(60)
    listing.sort_stats("tottime").print_stats(40)
    text_file.write_text(buffer.getvalue(), encoding="utf-8")

    focus = {}
    for label, (suffix, function) in FOCUS.items():
        seconds = _find(stats, suffix, function)
        if seconds is not None:
            focus[label] = round(seconds, 2)
    by_own = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:TOP]   # [2]: own time
    top = [f"{value[2]:8.2f} s  {_label(key)}" for key, value in by_own]
    share = (round(sum(focus.get(c, 0.0) for c in CHECK_PARTS) / focus[STEP], 3)
             if focus.get(STEP) else None)
    return ProfileSummary(subjects, rows_read, text_file.name, focus, top, share)
