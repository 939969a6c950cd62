"""The published tables in a SQL database (SQLite by default, PostgreSQL by URL) for BI
tools: one table each with a year column; a year is replaced in one transaction."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa


def sql_type(arrow_type: pa.DataType) -> sa.types.TypeEngine:
    if pa.types.is_boolean(arrow_type):
        return sa.Boolean()
    if pa.types.is_integer(arrow_type):
        return sa.BigInteger()
    if pa.types.is_floating(arrow_type):
        return sa.Float()
    if pa.types.is_date(arrow_type):
        return sa.Date()
    return sa.Text()  # text, and lists as JSON text


def sql_table(metadata: sa.MetaData, name: str, schema: pa.Schema, yearly: bool = True) -> sa.Table:
    columns = [sa.Column("year", sa.Integer, nullable=False, comment="Reporting year.")] if yearly else []
    for field in schema:
        description = (field.metadata or {}).get(b"description", b"").decode()
        if pa.types.is_list(field.type):
            description += " (JSON list)"
        columns.append(sa.Column(field.name, sql_type(field.type), comment=description))
    return sa.Table(name, metadata, *columns, *([sa.Index(f"ix_{name}_year", "year")] if yearly else []))


def _sql_values(series: pd.Series) -> np.ndarray:
    """A column as Python values a database driver takes: None for missing, lists as JSON text."""
    values = series.astype(object).to_numpy(copy=True)  # pandas boxes numpy scalars as Python ones
    missing = pd.isna(values)  # a list cell counts as present
    present = values[~missing]
    if len(present) and isinstance(present[0], (list, tuple, np.ndarray)):
        values[~missing] = [json.dumps(list(v.tolist() if hasattr(v, "tolist") else v), ensure_ascii=False) for v in present]
    values[missing] = None
    return values


def rows_for_sql(frame: pd.DataFrame, year: int | None) -> list[dict]:
    keys = ([] if year is None else ["year"]) + list(frame.columns)
    columns = ([np.full(len(frame), year, dtype=object)] if year is not None else []) + [_sql_values(frame[c]) for c in frame.columns]
    return [dict(zip(keys, row)) for row in zip(*columns)]


def replace_year(engine: sa.Engine, year: int, tables: dict[str, tuple[pd.DataFrame, pa.Schema]]) -> dict[str, int]:
    """Replace the year in every given table, all in one transaction."""
    metadata = sa.MetaData()
    defined = {name: sql_table(metadata, name, schema) for name, (_, schema) in tables.items()}
    written = {}
    with engine.begin() as connection:
        metadata.create_all(connection, checkfirst=True)
        for name, (frame, _) in tables.items():
            table = defined[name]
            connection.execute(table.delete().where(table.c.year == year))
            rows = rows_for_sql(frame, year)
            if rows:
                connection.execute(table.insert(), rows)
            written[name] = len(rows)
    return written


def replace_table(engine: sa.Engine, name: str, frame: pd.DataFrame, schema: pa.Schema) -> int:
    """Replace a table that spans all years (no year column) in one transaction."""
    table = sql_table(sa.MetaData(), name, schema, yearly=False)
    rows = rows_for_sql(frame, None)
    with engine.begin() as connection:
        table.create(connection, checkfirst=True)
        connection.execute(table.delete())
        if rows:
            connection.execute(table.insert(), rows)
    return len(rows)
