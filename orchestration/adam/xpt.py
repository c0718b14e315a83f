"""SAS Transport version 5 files with pyreadstat. Its writer does not enforce the v5 limits
(names <= 8, labels <= 40, character values <= 200 bytes, ASCII): conformance.py checks them
before a file is written, and this module writes only datasets that passed."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyreadstat

from orchestration.adam.metadata import Dataset


SAS_EPOCH = pd.Timestamp("1960-01-01")


def sas_dates(column: pd.Series) -> pd.Series:
    """SAS numeric dates (days since 1960-01-01, adam.md §1), written as numbers: pyreadstat
    would type a column of only missing dates as text."""
    return ((pd.to_datetime(column) - SAS_EPOCH).dt.days).astype("float64")


def xpt_frame(ds: Dataset, frame: pd.DataFrame) -> pd.DataFrame:
    """The dataset in the metadata's variable order, as XPT holds it: dates as SAS numeric
    dates (shown DATE9.), other numbers as doubles, text as str ('' for missing: XPT has no
    missing character value)."""
    out = pd.DataFrame(index=frame.index)
    for v in ds.variables:
        if v.name not in frame.columns:
            continue
        column = frame[v.name]
        if v.type == "Char":
            out[v.name] = column.map(lambda x: "" if x is None or (not isinstance(x, str) and pd.isna(x)) else str(x))
        elif v.is_date:
            out[v.name] = sas_dates(column)
        else:
            out[v.name] = pd.to_numeric(column).astype("float64")
    return out.reset_index(drop=True)


def write_xpt(ds: Dataset, frame: pd.DataFrame, path: Path) -> None:
    data = xpt_frame(ds, frame)
    variables = [v for v in ds.variables if v.name in data.columns]
    pyreadstat.write_xport(
        data, str(path),
        file_format_version=5,          # the FDA's SAS Transport v5, not v8
        table_name=ds.name,
        file_label=ds.label,
        column_labels={v.name: v.label for v in variables},
        variable_format={v.name: v.format for v in variables if v.format},
    )
