"""Files the project writes for people to open in a spreadsheet (CSV exports): text that a
spreadsheet would run as a formula is neutralised, as OWASP's CSV-injection advice says
(a leading '=', '+', '-', '@', tab or carriage return gets a leading apostrophe). The
published Parquet and SQL tables keep the text as written."""

from __future__ import annotations

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell that starts like a formula prefixed with an apostrophe."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_object_dtype(out[column]) or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(
                lambda v: f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_START) else v
            )
    return out


def write_csv(frame: pd.DataFrame, target) -> None:
    neutralised(frame).to_csv(target, index=False)
