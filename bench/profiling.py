"""Where the ingest step spends its time: one extra full load under cProfile (never one of
the measured loads: the profiler slows pure-Python code several fold, and it would distort
the table). Its shares split `site_exports` into reading, row checks, inserts and the post-
intake checks, which the event log cannot."""
from __future__ import annotations

import io
import pstats
from dataclasses import dataclass, field
from pathlib import Path

# label -> (file path suffix, function name): the parts of site_exports, in call order.
FOCUS = {
    "site_exports step (all)": ("orchestration/assets/ingest.py", "site_exports"),
    "ingest: intake.ingest_inbox": ("quality/intake.py", "ingest_inbox"),
    "ingest: read + parse rows (ExportReader)": ("sources/readers.py", "__iter__"),
    "ingest: pandera row checks (schemas.check_rows)": ("quality/schemas.py", "check_rows"),
    "ingest: insert into raw (intake._insert_rows)": ("quality/intake.py", "_insert_rows"),
    "ingest: quarantine writes": ("quality/quarantine.py", "write_errors"),
    "ingest: duplicate keys (schemas.check_snapshot)": ("quality/schemas.py", "check_snapshot"),
    "checks: intake.run_post_intake_checks": ("quality/intake.py", "run_post_intake_checks"),
    "checks: Great Expectations lab suite": ("quality/expectations.py", "run_lab_expectations"),
    "checks: cross-domain (schemas.check_cross_domain)": ("quality/schemas.py", "check_cross_domain"),
}
TOP = 25


@dataclass
class ProfileSummary:
    subjects: int
    rows_read: int
    text_file: str                               # full pstats listing, next to the results
    focus_cumulative_s: dict[str, float] = field(default_factory=dict)
    top_own_time: list[str] = field(default_factory=list)   # "seconds  function" lines


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
    return ProfileSummary(subjects, rows_read, text_file.name, focus, top)
