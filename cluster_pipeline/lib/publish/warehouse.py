"""The published tables in a SQL database (SQLite by default, PostgreSQL by URL) for BI
tools: one table each with a year column; a year is replaced in one transaction."""

from __future__ import annotations

import time

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from cluster_pipeline.lib.publish.exports import lists_as_json
from cluster_pipeline.lib.publish.parquet_store import arrow_table


def sql_type(arrow_type: pa.DataType) -> sa.types.TypeEngine:
    if pa.types.is_boolean(arrow_type):
        return sa.Boolean()
    if pa.types.is_integer(arrow_type):  # the width Parquet has (a wider unsigned type one step up)
        bits = arrow_type.bit_width + (1 if pa.types.is_unsigned_integer(arrow_type) else 0)
        return sa.SmallInteger() if bits <= 16 else sa.Integer() if bits <= 32 else sa.BigInteger()
    if pa.types.is_floating(arrow_type):
        return sa.Float()
    if pa.types.is_date(arrow_type):
        return sa.Date()
    if pa.types.is_timestamp(arrow_type):
        return sa.DateTime(timezone=True)
    return sa.Text()  # text, and lists as JSON text


def sql_table(metadata: sa.MetaData, name: str, schema: pa.Schema, yearly: bool = True) -> sa.Table:
    columns = [sa.Column("year", sa.Integer, nullable=False, comment="Reporting year.")] if yearly else []
    for field in schema:
        description = (field.metadata or {}).get(b"description", b"").decode()
        if pa.types.is_list(field.type):
            description += " (JSON list)"
        columns.append(sa.Column(field.name, sql_type(field.type), comment=description))
    return sa.Table(name, metadata, *columns, *([sa.Index(f"ix_{name}_year", "year")] if yearly else []))


def _sql_values(column: pa.ChunkedArray) -> list:
    """A column as Python values a database driver takes: None for missing, lists as JSON text.
    Read from the Arrow table in the published schema, so the warehouse gets Parquet's types."""
    return lists_as_json(column) if pa.types.is_list(column.type) else column.to_pylist()


def _sql_columns(data: pa.Table, year: int | None) -> dict[str, list]:
    columns = {} if year is None else {"year": [year] * data.num_rows}
    return columns | {name: _sql_values(data.column(name)) for name in data.column_names}


def insert_rows(
    connection: sa.Connection, table: sa.Table, frame: pd.DataFrame, schema: pa.Schema, year: int | None
) -> int:
    """The rows, in the schema's types, in one executemany straight to the driver: SQLAlchemy's
    per-row parameter processing cost more than the database's own work (seconds at scale 10)."""
    if frame.empty:
        return 0
    columns = _sql_columns(arrow_table(frame, schema), year)
    if connection.dialect.driver == "psycopg":
        return _copy_rows(connection, table, columns)
    statement = table.insert().compile(dialect=connection.dialect, column_keys=list(columns))
    parameters: list
    if statement.positional:
        order = [columns[key] for key in statement.positiontup or []]
        parameters = list(zip(*order))
    else:
        parameters = [dict(zip(columns, row)) for row in zip(*columns.values())]
    connection.exec_driver_sql(str(statement), parameters)
    return len(frame)


def _copy_rows(connection: sa.Connection, table: sa.Table, columns: dict[str, list]) -> int:
    """PostgreSQL's COPY, on the connection's own transaction (psycopg 3 adapts the values)."""
    quote = connection.dialect.identifier_preparer
    names = ", ".join(quote.quote(name) for name in columns)
    statement = f"COPY {quote.format_table(table)} ({names}) FROM STDIN"
    count = 0
    try:
        driver = connection.connection.driver_connection
        assert driver is not None  # an open connection has its driver's
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in zip(*columns.values()):
                copy.write_row(row)
                count += 1
    except Exception as exc:  # the same error type as an INSERT's, for callers of either path
        raise sa.exc.StatementError(str(exc), statement, None, exc) from exc
    return count


def replace_year(engine: sa.Engine, year: int, tables: dict[str, tuple[pd.DataFrame, pa.Schema]]) -> dict[str, int]:
    """Replace the year in every given table, all in one transaction."""
    metadata = sa.MetaData()
    defined = {name: sql_table(metadata, name, schema) for name, (_, schema) in tables.items()}
    written = {}
    with engine.begin() as connection:
        metadata.create_all(connection, checkfirst=True)
        for name, (frame, schema) in tables.items():
            table = defined[name]
            connection.execute(table.delete().where(table.c.year == year))
            written[name] = insert_rows(connection, table, frame, schema, year)
    return written


def replace_table(engine: sa.Engine, name: str, frame: pd.DataFrame, schema: pa.Schema) -> int:
    """Replace a table that spans all years (no year column) in one transaction."""
    table = sql_table(sa.MetaData(), name, schema, yearly=False)
    with engine.begin() as connection:
        table.create(connection, checkfirst=True)
        connection.execute(table.delete())
        return insert_rows(connection, table, frame, schema, None)


CONNECT_TIMEOUT_SECONDS = 5  # one attempt to reach PostgreSQL (libpq's connect_timeout)


def reachable(engine: sa.Engine, seconds: float) -> None:
    """Connect once, retrying a refused or unanswered connection (a warehouse restarting, a network
    blip) for up to `seconds`; then the last error, for the run's diagnosis."""
    deadline, delay = time.monotonic() + seconds, 0.5
    while True:
        try:
            with engine.connect():
                return
        except sa.exc.OperationalError:
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(2 * delay, 5.0)


def replace_tables(engine: sa.Engine, tables: dict[str, tuple[pd.DataFrame, pa.Schema]]) -> dict[str, int]:
    """Replace several tables that span all years in one transaction."""
    written = {}
    with engine.begin() as connection:
        for name, (frame, schema) in tables.items():
            table = sql_table(sa.MetaData(), name, schema, yearly=False)
            table.drop(connection, checkfirst=True)  # a table's columns may have changed since the last run
            table.create(connection)
            written[name] = insert_rows(connection, table, frame, schema, None)
    return written
