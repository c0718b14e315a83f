"""Regenerate the CDISC pilot fixture of tests/e2e/test_cdisc_pilot.py from the pharmaverse
data files (lb.rda, adlb.rda, dm.csv; see README.md here for their origin and licence).

    .venv/bin/pip install pyreadr==0.5.8       # only this script needs it (pinned in the test extra)
    .venv/bin/python tests/data/cdiscpilot/regenerate.py ../shared/data/cdiscpilot

Writes, beside this script:
  subjects.csv   one row per subject with lab results: id, site, sex, birth year, screening
                 date, first and last dose (SDTM DM)
  labs.csv.gz    the results of the nine tests the study uses, as the pilot reported them
                 (LBORRES/LBORRESU: US units such as THOU/uL, mg/dL, g/dL) and standardised
                 (LBSTRESC/LBSTRESN/LBSTRESU: SI units such as GI/L), with their reference ranges,
                 LBNRIND, and admiral's CTCAE v5 grades from ADLB (ATOXGRL, ATOXGRH) and the
                 baseline flag it graded against (BNRIND)
Only the columns the test reads are kept; rows keep the pilot's order (USUBJID, LBSEQ).
"""
from __future__ import annotations

import gzip
import sys
from pathlib import Path

import pandas as pd
import pyreadr

HERE = Path(__file__).resolve().parent
# The pilot's test codes of the study's tests (site-exports.md §3): PLAT = PLT, LYM = LYMPH,
# BILI = TBIL; the others are the same.
TESTS = ["PLAT", "WBC", "LYM", "HGB", "ALT", "AST", "BILI", "CREAT", "BUN"]
LAB_COLUMNS = ["USUBJID", "LBSEQ", "LBTESTCD", "LBORRES", "LBORRESU", "LBORNRLO", "LBORNRHI",
               "LBSTRESC", "LBSTRESN", "LBSTRESU", "LBSTNRLO", "LBSTNRHI", "LBNRIND", "LBDTC"]
ADLB_COLUMNS = ["ATOXGRL", "ATOXGRH", "BNRIND"]


def labs(source: Path) -> pd.DataFrame:
    lb = pyreadr.read_r(source / "lb.rda")["lb"]
    lb = lb.loc[lb["LBTESTCD"].isin(TESTS), LAB_COLUMNS].copy()
    adlb = pyreadr.read_r(source / "adlb.rda")["adlb"]
    # The analysis rows of the collected results (DTYPE empty: no derived min/max/LOCF rows).
    adlb = adlb.loc[adlb["PARAMCD"].isin(TESTS) & adlb["DTYPE"].isna(), ["USUBJID", "LBSEQ", *ADLB_COLUMNS]]
    adlb = adlb.drop_duplicates(["USUBJID", "LBSEQ"])
    out = lb.merge(adlb, on=["USUBJID", "LBSEQ"], how="left", validate="one_to_one")
    out["LBSEQ"] = out["LBSEQ"].astype(int)
    out["LBDTC"] = out["LBDTC"].str[:10]
    return out.sort_values(["USUBJID", "LBSEQ"], kind="stable").reset_index(drop=True)


def subjects(source: Path, ids: set[str]) -> pd.DataFrame:
    dm = pd.read_csv(source / "dm.csv", dtype=str)
    dm = dm.loc[dm["USUBJID"].isin(ids)]
    return pd.DataFrame({
        "USUBJID": dm["USUBJID"], "SITEID": dm["SITEID"], "SEX": dm["SEX"],
        "BIRTH_YEAR": dm["BRTHDTC"].str[:4], "DMDTC": dm["DMDTC"].str[:10],
        "RFXSTDTC": dm["RFXSTDTC"].str[:10], "RFXENDTC": dm["RFXENDTC"].str[:10],
    }).sort_values("USUBJID").reset_index(drop=True)


def main(source: Path, out: Path = HERE) -> None:
    lab_rows = labs(source)
    subject_rows = subjects(source, set(lab_rows["USUBJID"]))
    subject_rows.to_csv(out / "subjects.csv", index=False, lineterminator="\n")
    # mtime=0 and no file name: the same data give the same bytes (a stable diff in git).
    with open(out / "labs.csv.gz", "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write(lab_rows.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    print(f"{len(subject_rows)} subjects, {len(lab_rows)} lab results -> {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/cdiscpilot"))
