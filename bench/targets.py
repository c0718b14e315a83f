"""The targets of the issue "Registry scale", judged on the measured sizes, and a linear
extrapolation to the sizes not run (clearly labelled: an estimate is never a PASS).

Targets: a full load of 100,000 subjects within 10 minutes; peak RSS of a load (whole process
tree) within 4 GB; checks within 3x the DuckDB read floor; a nightly delta costing in
proportion to its new files. The last one is judged per new row: the delta's whole-load time
per new row may be at most DELTA_MAX_COST_RATIO times the full load's.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from bench.profiling import ProfileSummary
from bench.results import NEW_ROW_STAGES, LoadResult, SizeResult

REGISTRY_SUBJECTS = 100_000
FULL_LOAD_MAX_S = 600.0
PEAK_RSS_MAX_MB = 4096.0
CHECKS_MAX_FLOOR_RATIO = 3.0
DELTA_MAX_COST_RATIO = 2.0

PASS, FAIL, NOT_MEASURED = "PASS", "FAIL", "NOT MEASURED"
RSS_STAGES = (*NEW_ROW_STAGES, "dbt")   # the two processes whose memory grows with the data


@dataclass
class TargetResult:
    target: str
    subjects: int
    measured: str
    limit: str
    verdict: str
    note: str = ""


@dataclass
class Extrapolation:
    """Full-load figures at `subjects`, from a straight line through the measured sizes (least
    squares in the number of subjects). Not the delta's: it reads one site's snapshot whatever
    the number of sites, so its rows do not grow with the registry."""
    subjects: int
    basis: list[int]
    values: dict[str, float] = field(default_factory=dict)


def _line(points: list[tuple[float, float]], x: float) -> float:
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    var = sum((p[0] - mx) ** 2 for p in points)
    slope = sum((p[0] - mx) * (p[1] - my) for p in points) / var
    return my + slope * (x - mx)


def _metrics(full: LoadResult) -> dict[str, float]:
    out = {"full load rows read": float(full.rows_read), "full load wall s": full.process_wall_s}
    out |= {f"full {s.stage} wall s": s.wall_s for s in full.stages if s.stage != "load"}
    out |= {"full load peak RSS MB": full.peak_rss_mb}
    out |= {f"full {s.stage} peak RSS MB": s.peak_rss_mb for s in full.stages if s.stage in RSS_STAGES}
    return out


def extrapolate(sizes: list[SizeResult], subjects: int = REGISTRY_SUBJECTS) -> Extrapolation | None:
    fulls = [(s.subjects, s.load("full")) for s in sizes if s.load("full")]
    if len({x for x, _ in fulls}) < 2 or any(x == subjects for x, _ in fulls):
        return None
    per_size = [(x, _metrics(full)) for x, full in fulls]
    keys = [k for k in per_size[-1][1] if all(k in m for _, m in per_size)]
    values = {k: round(max(0.0, _line([(x, m[k]) for x, m in per_size], subjects)), 1) for k in keys}
    return Extrapolation(subjects, sorted(x for x, _ in fulls), values)


def _verdict(ok: bool) -> str:
    return PASS if ok else FAIL


def evaluate(sizes: list[SizeResult], estimate: Extrapolation | None,
             profile: ProfileSummary | None = None) -> list[TargetResult]:
    big = next((s for s in sizes if s.subjects == REGISTRY_SUBJECTS), None)
    return [_full_load_target(big, estimate), *_rss_targets(sizes, big, estimate),
            *_checks_targets(sizes, profile), *_delta_targets(sizes)]


def _full_load_target(big: SizeResult | None, estimate: Extrapolation | None) -> TargetResult:
    target, limit = "full load within 10 min", f"<= {FULL_LOAD_MAX_S:.0f} s"
    if big is None or big.load("full") is None:
        return _estimated(target, estimate, "full load wall s", "s", FULL_LOAD_MAX_S, limit)
    wall = big.load("full").process_wall_s
    return TargetResult(target, REGISTRY_SUBJECTS, f"{wall:.0f} s", limit, _verdict(wall <= FULL_LOAD_MAX_S))


def _rss_targets(sizes: list[SizeResult], big: SizeResult | None,
                 estimate: Extrapolation | None) -> list[TargetResult]:
    target, limit = "peak RSS within 4 GB", f"<= {PEAK_RSS_MAX_MB:.0f} MB"
    out = []
    for s in sizes:
        peak = max(ld.peak_rss_mb for ld in s.loads)
        out.append(TargetResult(target, s.subjects, f"{peak:.0f} MB", limit, _verdict(peak <= PEAK_RSS_MAX_MB),
                                "largest of the full and delta loads, process tree"))
    if big is None:
        out.append(_estimated(target, estimate, "full load peak RSS MB", "MB", PEAK_RSS_MAX_MB, limit))
    return out


PANDERA_IN_INGEST = ("Great Expectations and cross-domain checks only: pandera runs per chunk inside "
                     "ingest (in the worker processes) and is not separable in the event log; "
                     "bench/checks_micro.py times it alone")


def _checks_targets(sizes: list[SizeResult], profile: ProfileSummary | None) -> list[TargetResult]:
    out = []
    for s in sizes:
        full = s.load("full")
        stage = (full.stage("checks") or full.stage("ingest+checks")) if full else None
        if stage is None or stage.ratio_to_floor is None:
            continue
        note = ("ingest and checks together: the event log does not separate them, so this is an "
                "upper bound for checks" if stage.stage == "ingest+checks" else PANDERA_IN_INGEST)
        if note and profile and profile.subjects == s.subjects and profile.checks_share:
            note += (f"; the profile puts checks at {profile.checks_share:.0%} of the step, i.e. about "
                     f"{stage.ratio_to_floor * profile.checks_share:.1f}x the floor (rough estimate)")
        out.append(TargetResult("checks within 3x the DuckDB floor", s.subjects, f"{stage.ratio_to_floor:.1f}x",
                                f"<= {CHECKS_MAX_FLOOR_RATIO:.0f}x",
                                _verdict(stage.ratio_to_floor <= CHECKS_MAX_FLOOR_RATIO), note))
    return out


def _delta_targets(sizes: list[SizeResult]) -> list[TargetResult]:
    out = []
    for s in sizes:
        full, delta = s.load("full"), s.load("delta")
        if not (full and delta and full.rows_read and delta.rows_read):
            continue
        ratio = _per_row(delta.process_wall_s, delta) / _per_row(full.process_wall_s, full)
        ingest = _ingest_per_row_ratio(full, delta)
        out.append(TargetResult(
            "delta in proportion to its new files", s.subjects, f"{ratio:.2f}x the full load's time per new row",
            f"<= {DELTA_MAX_COST_RATIO:.0f}x", _verdict(ratio <= DELTA_MAX_COST_RATIO),
            f"delta: {delta.rows_read:,} new rows in {delta.process_wall_s:.0f} s; "
            f"full: {full.rows_read:,} rows in {full.process_wall_s:.0f} s"
            + (f"; ingest+checks alone: {ingest:.2f}x per new row" if ingest is not None else "")))
    return out


def _per_row(seconds: float, load: LoadResult) -> float:
    return seconds / load.rows_read


def _site_exports_s(load: LoadResult) -> float:
    """The whole ingest step, whether or not it was split into ingest and checks."""
    return sum(s.wall_s for s in load.stages if s.stage in NEW_ROW_STAGES)


def _ingest_per_row_ratio(full: LoadResult, delta: LoadResult) -> float | None:
    a, b = _site_exports_s(full), _site_exports_s(delta)
    return _per_row(b, delta) / _per_row(a, full) if a and b else None


def _estimated(target: str, estimate: Extrapolation | None, key: str, unit: str, limit: float,
               limit_text: str) -> TargetResult:
    if estimate is None or key not in estimate.values:
        return TargetResult(target, REGISTRY_SUBJECTS, "-", limit_text, NOT_MEASURED)
    value = estimate.values[key]
    would = "would pass" if value <= limit else "would fail"
    return TargetResult(target, REGISTRY_SUBJECTS, f"~{value:.0f} {unit} (extrapolated)", limit_text, NOT_MEASURED,
                        f"{would} by a linear extrapolation from {', '.join(f'{b:,}' for b in estimate.basis)} subjects")
