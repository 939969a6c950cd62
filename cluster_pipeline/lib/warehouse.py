"""The published tables in a SQL database (SQLite by default, PostgreSQL by URL) for BI
tools: one table each with a year column; a year is replaced in one transaction."""

from __future__ import annotations

import json
import math

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


def _cell(value):
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return json.dumps(list(value.tolist() if hasattr(value, "tolist") else value), ensure_ascii=False)
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def rows_for_sql(frame: pd.DataFrame, year: int | None) -> list[dict]:
    records = frame.astype(object).to_dict("records")
    stamp = {} if year is None else {"year": year}
    return [{**stamp, **{k: _cell(v) for k, v in record.items()}} for record in records]


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
