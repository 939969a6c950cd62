"""Files the project writes for people to open in a spreadsheet (CSV exports): text that a
spreadsheet would run as a formula is neutralised, as OWASP's CSV-injection advice says
(a leading '=', '+', '-', '@', tab or carriage return gets a leading apostrophe). The
published Parquet and SQL tables keep the text as written.

Every export is written by Arrow's CSV writer (C++; pandas' writer took 10 of the site's 16 s
at scale 20): UTF-8, a header row, text in double quotes, booleans as true/false, a missing
value as an empty field, a list as JSON text (as in the SQL warehouse)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import IO

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

# the exports' CSV format as written here: a CSV written another way is not reused (the site's downloads)
CSV_FORMAT = "arrow-csv-1: quoted text, true/false, lists as JSON, formulas neutralised"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_STARTS_LIKE_A_FORMULA = "^[" + "".join(re.escape(c) for c in FORMULA_START) + "]"


def lists_as_json(column: pa.ChunkedArray) -> list:
    """A list column as JSON text per value (None stays None): how a list leaves Arrow for a file or
    a database that has no list type."""
    return [None if v is None else json.dumps(v, ensure_ascii=False) for v in column.to_pylist()]


def _for_spreadsheets(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """Text that starts like a formula prefixed with an apostrophe; a list as JSON text."""
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        column = pa.array(lists_as_json(column), type=pa.string())
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return column
    formula = pc.match_substring_regex(column, _STARTS_LIKE_A_FORMULA)
    if not pc.any(formula).as_py():
        return column
    apostrophe, nothing = pa.scalar("'", column.type), pa.scalar("", column.type)
    return pc.if_else(formula, pc.binary_join_element_wise(apostrophe, column, nothing), column)


def write_table_csv(table: pa.Table, target: Path | IO) -> None:
    """The table as CSV, text neutralised, into a file or a text or binary stream."""
    columns = [_for_spreadsheets(table.column(name)) for name in table.column_names]
    safe = pa.table(columns, names=table.column_names)
    if isinstance(target, io.TextIOBase):
        buffer = io.BytesIO()
        pa_csv.write_csv(safe, buffer)
        target.write(buffer.getvalue().decode("utf-8"))
        return
    pa_csv.write_csv(safe, str(target) if isinstance(target, Path) else target)


def write_csv(frame: pd.DataFrame, target: Path | IO) -> None:
    write_table_csv(pa.Table.from_pandas(frame, preserve_index=False), target)
