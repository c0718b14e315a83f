"""The targets of the issue "Registry scale", judged on the measured sizes, and a linear
extrapolation to the sizes not run (clearly labelled: an estimate is never a PASS).

Targets: a full load of 100,000 subjects within 10 minutes; peak RSS of a load (whole process
tree) within 4 GB; checks within 3x the DuckDB read floor; a nightly delta costing in
proportion to its new files. The last one is judged per new row: the delta's whole-load time
per new row may be at most DELTA_MAX_COST_RATIO times the full load's.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from bench.results import LoadResult, SizeResult

REGISTRY_SUBJECTS = 100_000
FULL_LOAD_MAX_S = 600.0
PEAK_RSS_MAX_MB = 4096.0
CHECKS_MAX_FLOOR_RATIO = 3.0
DELTA_MAX_COST_RATIO = 2.0

PASS, FAIL, NOT_MEASURED = "PASS", "FAIL", "NOT MEASURED"


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
    """Full-load (and delta) figures at `subjects`, from a straight line through the measured
    sizes (least squares in the number of subjects)."""
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


def _metrics(size: SizeResult) -> dict[str, float]:
    out: dict[str, float] = {}
    for ld in size.loads:
        out[f"{ld.kind} load wall s"] = ld.process_wall_s
        out[f"{ld.kind} load peak RSS MB"] = ld.peak_rss_mb
        for s in ld.stages:
            if s.stage != "load":
                out[f"{ld.kind} {s.stage} wall s"] = s.wall_s
    out["full load rows"] = float(size.load("full").rows_read) if size.load("full") else 0.0
    return out


def extrapolate(sizes: list[SizeResult], subjects: int = REGISTRY_SUBJECTS) -> Extrapolation | None:
    if len({s.subjects for s in sizes}) < 2 or any(s.subjects == subjects for s in sizes):
        return None
    per_size = [(s.subjects, _metrics(s)) for s in sizes]
    keys = sorted(set.intersection(*(set(m) for _, m in per_size)))
    values = {k: round(max(0.0, _line([(x, m[k]) for x, m in per_size], subjects)), 1) for k in keys}
    return Extrapolation(subjects, sorted(s.subjects for s in sizes), values)


def _verdict(ok: bool) -> str:
    return PASS if ok else FAIL


def _checks_stage(full: LoadResult):
    return full.stage("checks") or full.stage("ingest+checks")


def evaluate(sizes: list[SizeResult], estimate: Extrapolation | None) -> list[TargetResult]:
    out: list[TargetResult] = []
    measured = {s.subjects: s for s in sizes}
    big = measured.get(REGISTRY_SUBJECTS)
    limit_s = f"<= {FULL_LOAD_MAX_S:.0f} s"
    if big and big.load("full"):
        wall = big.load("full").process_wall_s
        out.append(TargetResult("full load within 10 min", REGISTRY_SUBJECTS, f"{wall:.0f} s", limit_s,
                                _verdict(wall <= FULL_LOAD_MAX_S)))
    else:
        out.append(_estimated("full load within 10 min", estimate, "full load wall s", "s", FULL_LOAD_MAX_S, limit_s))

    for s in sizes:
        peak = max(ld.peak_rss_mb for ld in s.loads)
        out.append(TargetResult("peak RSS within 4 GB", s.subjects, f"{peak:.0f} MB", f"<= {PEAK_RSS_MAX_MB:.0f} MB",
                                _verdict(peak <= PEAK_RSS_MAX_MB), "largest of the full and delta loads, process tree"))
    if not big:
        out.append(_estimated("peak RSS within 4 GB", estimate, "full load peak RSS MB", "MB", PEAK_RSS_MAX_MB,
                              f"<= {PEAK_RSS_MAX_MB:.0f} MB"))

    for s in sizes:
        full = s.load("full")
        stage = _checks_stage(full) if full else None
        if stage is None or stage.ratio_to_floor is None:
            continue
        note = ("ingest and checks together: the event log does not separate them, so this is an "
                "upper bound for checks" if stage.stage == "ingest+checks" else "")
        out.append(TargetResult("checks within 3x the DuckDB floor", s.subjects, f"{stage.ratio_to_floor:.1f}x",
                                f"<= {CHECKS_MAX_FLOOR_RATIO:.0f}x",
                                _verdict(stage.ratio_to_floor <= CHECKS_MAX_FLOOR_RATIO), note))

    for s in sizes:
        full, delta = s.load("full"), s.load("delta")
        if not (full and delta and full.rows_read and delta.rows_read):
            continue
        ratio = (delta.process_wall_s / delta.rows_read) / (full.process_wall_s / full.rows_read)
        out.append(TargetResult(
            "delta in proportion to its new files", s.subjects, f"{ratio:.1f}x the full load's time per new row",
            f"<= {DELTA_MAX_COST_RATIO:.0f}x", _verdict(ratio <= DELTA_MAX_COST_RATIO),
            f"delta: {delta.rows_read:,} new rows in {delta.process_wall_s:.0f} s; "
            f"full: {full.rows_read:,} rows in {full.process_wall_s:.0f} s"))
    return out


def _estimated(target: str, estimate: Extrapolation | None, key: str, unit: str, limit: float,
               limit_text: str) -> TargetResult:
    if estimate is None or key not in estimate.values:
        return TargetResult(target, REGISTRY_SUBJECTS, "-", limit_text, NOT_MEASURED)
    value = estimate.values[key]
    would = "would pass" if value <= limit else "would fail"
    return TargetResult(target, REGISTRY_SUBJECTS, f"~{value:.0f} {unit} (extrapolated)", limit_text, NOT_MEASURED,
                        f"{would} by a linear extrapolation from {', '.join(f'{b:,}' for b in estimate.basis)} subjects")
