"""Spellings whose meaning is unambiguous, read as meant, each with a note for the file's
record: an id written in another case or with stray spaces, and a date that Excel saved as
its serial number. Runs once the part's contract is chosen (it knows which columns are
patterns and dates)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pandas as pd

from cluster_pipeline.lib.survey.model import Contract

EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 is 1900-01-01 in Excel's (Lotus-compatible) count
# a serial is read as a date only in a plausible span for this survey: 1990-01-01 to 2100-12-31
PLAUSIBLE_SERIALS = ((date(1990, 1, 1) - EXCEL_EPOCH).days, (date(2100, 12, 31) - EXCEL_EPOCH).days)
_SERIAL = re.compile(r"\d{5}(?:[.,]0+)?")
SHOWN = 5  # cells named in a note before "and N more"


def _where(cells: pd.DataFrame, rows: pd.Series) -> str:
    sheet = cells["source_sheet"].iloc[0]
    numbers = cells.loc[rows, "source_row"].tolist()
    shown = ", ".join(map(str, numbers[:SHOWN])) + (f" and {len(numbers) - SHOWN} more" if len(numbers) > SHOWN else "")
    return f"{f'sheet {sheet!r} ' if isinstance(sheet, str) else ''}row{'s' if len(numbers) > 1 else ''} {shown}"


def ids_in_any_case(cells: pd.DataFrame, contract: Contract) -> list[str]:
    """A pattern column's cells (cluster_id) that match once upper-cased and without spaces."""
    notes = []
    for column in (c for c in contract.columns if c.pattern):
        text = cells[column.name]
        written = text.dropna()
        fits = written.str.fullmatch(column.pattern)
        candidate = written[~fits].str.replace(r"\s+", "", regex=True).str.upper()
        fixed = candidate[candidate.str.fullmatch(column.pattern)]
        if fixed.empty:
            continue
        rows = text.index.isin(fixed.index)
        examples = ", ".join(repr(v) for v in written[fixed.index].unique()[:3])
        cells.loc[fixed.index, column.name] = fixed
        notes.append(
            f"{column.name} written {examples} (another case or stray spaces) in {_where(cells, rows)}: "
            f"read as {', '.join(fixed.unique()[:3])}"
        )
    return notes


def excel_date_serials(cells: pd.DataFrame, contract: Contract) -> list[str]:
    """A date column's whole numbers in the plausible span read as the dates Excel counts them as."""
    notes = []
    for column in (c for c in contract.columns if c.logical_type == "date"):
        text = cells[column.name]
        serial = text.dropna()
        serial = serial[serial.str.fullmatch(_SERIAL)]
        days = serial.str.extract(r"^(\d+)", expand=False).astype("int64")
        days = days[days.between(*PLAUSIBLE_SERIALS)]
        if days.empty:
            continue
        iso = days.map(lambda n: (EXCEL_EPOCH + timedelta(days=int(n))).isoformat())
        rows = text.index.isin(iso.index)
        examples = ", ".join(f"{serial[i]} as {iso[i]}" for i in iso.index[:3])
        cells.loc[iso.index, column.name] = iso
        notes.append(
            f"{column.name} holds Excel date serial numbers in {_where(cells, rows)} ({examples}): read as those "
            "dates (format the column as a date in Excel)"
        )
    return notes
