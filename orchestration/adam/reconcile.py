"""adam.md §4's last rule: the counts behind endpoints.md §9 (and every other row of
marts.endpoint_summary), counted again from the ADaM datasets alone, equal the mart.

This is a second count on purpose: it reads only the flags and values the ADaM datasets carry
(SAFFL, EXPxxFL, EOSSTT, ANL01FL, CRIT1FL, BLITPFL, CMREDFL, TRTEMFL, ONTRTFL, ATOXGR ...),
so a dataset that lost or changed a record no longer adds up. Thresholds come from the dbt
project's vars (sources.study_parameters), as the marts' do.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass

import pandas as pd

from sources.study_parameters import SEEDS_DIR, study_vars


def ctcae_tests() -> set[str]:
    """The tests with a CTCAE v5 term (reference.ctcae_v5_grades): the lab endpoints' tests."""
    with open(SEEDS_DIR / "ctcae_v5_grades.csv", encoding="utf-8", newline="") as fh:
        return {row["test_code"] for row in csv.DictReader(fh)}


@dataclass(frozen=True)
class Count:
    endpoint: str
    timepoint: str
    n: int
    denominator: int
    datasets: tuple[str, ...]   # the dataset it counts (ADSL gives denominators too): blamed when it disagrees


def _subjects(frame: pd.DataFrame, mask: pd.Series) -> set[str]:
    return set(frame.loc[mask.fillna(False).astype(bool), "USUBJID"].dropna())


def recount(frames: dict[str, pd.DataFrame]) -> list[Count]:
    """endpoint_summary's rows as the ADaM datasets give them."""
    v = study_vars()
    severe = int(v["severe_min_grade"])
    months = range(1, int(v["report_months"]) + 1)
    out: list[Count] = []
    adsl = frames["ADSL"]
    treated = _subjects(adsl, adsl["SAFFL"] == "Y")
    t = adsl[adsl["USUBJID"].isin(treated)]
    n_treated = len(treated)

    def add(endpoint: str, timepoint: str, n: int | set, d: int | set, *datasets: str) -> None:
        out.append(Count(endpoint, timepoint, len(n) if isinstance(n, set) else int(n),
                         len(d) if isinstance(d, set) else int(d), datasets or ("ADSL",)))

    add("treated", "all", n_treated, n_treated)
    for band, flag in (("exposure_ge_3m", "EXP3MFL"), ("exposure_gt_6m", "EXP6MFL"), ("exposure_ge_12m", "EXP12MFL")):
        add(band, "all", int((t[flag] == "Y").sum()), n_treated)
    gone = t[t["EOSSTT"] == "DISCONTINUED"]
    add("withdrawn", "all", len(gone), n_treated)
    add("withdrawn", "no_response", int((gone["DCSREAS"] == "NO RESPONSE").sum()), n_treated)
    add("withdrawn", "adverse_event", int((gone["DCSREAS"] == "ADVERSE EVENT").sum()), n_treated)
    add("withdrawn", "other", int((~gone["DCSREAS"].isin(["NO RESPONSE", "ADVERSE EVENT"])).sum()), n_treated)
    add("ae_led_to_withdrawal", "all", int((gone["DCSREAS"] == "ADVERSE EVENT").sum()), n_treated)

    if "ADRS" in frames:
        rs = frames["ADRS"]
        ini = rs[(rs["PARAMCD"] == "INIRESP") & (rs["ANL01FL"] == "Y")]
        add("initial_or", "day14", int(ini["AVALC"].isin(["CR", "R"]).sum()), len(ini), "ADRS")
        add("initial_cr", "day14", int((ini["AVALC"] == "CR").sum()), len(ini), "ADRS")
        mo = rs[(rs["PARAMCD"] == "MORESP") & (rs["ANL01FL"] == "Y")]
        for k in months:
            m = mo[mo["AVISITN"] == k]
            add("response_or", f"month_{k}", int(m["AVALC"].isin(["CR", "R"]).sum()), len(m), "ADRS")
            add("response_cr", f"month_{k}", int((m["AVALC"] == "CR").sum()), len(m), "ADRS")

    if "ADBLEED" in frames:
        bl = frames["ADBLEED"]
        worst = bl[(bl["DTYPE"] == "MAXIMUM") & (bl["ANL01FL"] == "Y")]
        for k in (0, *months):
            w = worst[worst["AVISITN"] == k]
            add("bleeding_any", "baseline" if k == 0 else f"month_{k}", int((w["CRIT1FL"] == "Y").sum()),
                len(w), "ADBLEED")

    if "ADCM" in frames:
        cm = frames["ADCM"]
        cm = cm[cm["USUBJID"].isin(treated)]
        users = _subjects(cm, cm["BLITPFL"] == "Y")
        reducers = _subjects(cm, cm["CMREDFL"] == "Y")
        add("conmed_baseline", "all", users, n_treated, "ADCM")
        add("conmed_reduced", "month_3_to_6", users & reducers, users, "ADCM")
        for drug_class in sorted(set(cm.loc[cm["BLITPFL"] == "Y", "CMCLAS"].dropna())):
            class_users = _subjects(cm, (cm["BLITPFL"] == "Y") & (cm["CMCLAS"] == drug_class))
            class_reducers = _subjects(cm, (cm["CMREDFL"] == "Y") & (cm["CMBLCLAS"] == drug_class))
            add("conmed_reduced", f"{drug_class.lower()}_month_3_to_6", class_users & class_reducers,
                class_users, "ADCM")

    if "ADAE" in frames:
        ae = frames["ADAE"]
        te = ae[(ae["TRTEMFL"] == "Y") & ae["USUBJID"].isin(treated)]
        grade = pd.to_numeric(te["AETOXGR"], errors="coerce")
        add("ae_any", "all", set(te["USUBJID"]), n_treated, "ADAE")
        add("ae_grade3plus", "all", _subjects(te, grade >= severe), n_treated, "ADAE")
        add("ae_serious", "all", _subjects(te, te["AESER"] == "Y"), n_treated, "ADAE")
        add("ae_related", "all", _subjects(te, te["AREL"] == "RELATED"), n_treated, "ADAE")

    if "ADLB" in frames:
        lb = frames["ADLB"]
        on = lb[(lb["ONTRTFL"] == "Y") & lb["PARAMCD"].isin(ctcae_tests())].assign(grade=lambda f: pd.to_numeric(f["ATOXGR"], errors="coerce"))
        worst_grade = on.groupby(["PARAMCD", "USUBJID"])["grade"].max()
        for test, per_subject in worst_grade.groupby(level="PARAMCD"):
            add("lab_grade1plus", test, int((per_subject >= 1).sum()), len(per_subject), "ADLB")
            add("lab_grade3plus", test, int((per_subject >= severe).sum()), len(per_subject), "ADLB")
    return out


@dataclass(frozen=True)
class Mismatch:
    endpoint: str
    timepoint: str
    mart: tuple[int, int] | None
    adam: tuple[int, int] | None
    datasets: tuple[str, ...]


def compare(counts: list[Count], summary: pd.DataFrame) -> list[Mismatch]:
    """Rows where the ADaM count and marts.endpoint_summary differ. A mart row the ADaM
    datasets cannot count is a mismatch too, except an empty one (denominator 0: e.g. a lab
    test without any post-baseline result has no ADLB record to count)."""
    mart = {(r.endpoint, r.timepoint): (int(r.n), int(r.denominator)) for r in summary.itertuples()}
    ours = {(c.endpoint, c.timepoint): c for c in counts}
    out = []
    for key in sorted(set(mart) | set(ours)):
        got = ours.get(key)
        want = mart.get(key)
        got_nd = (got.n, got.denominator) if got else None
        if got_nd == want or (got is None and want == (0, 0)) or (want is None and got_nd == (0, 0)):
            continue
        out.append(Mismatch(key[0], key[1], want, got_nd, got.datasets if got else ()))
    return out
