"""Year partitions of Parquet tables: <root>/<table>/year=<YYYY>/data.parquet, and tables
that span all years in one file: <root>/<table>/data.parquet.

One file per year, written to a staging folder outside the table and moved into place
with os.replace (atomic on one filesystem): a reader sees the old year or the new one,
never half of either, and a crash mid-write leaves the old year readable. The year
lives in the path only (Hive partitioning), so readers never meet two year columns.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

DATA_FILE = "data.parquet"
STAGING = "_staging"


YEAR_FOLDER = "year="  # Hive partitioning: <table>/year=<YYYY>/


def partition_path(root: Path, table: str, year: int) -> Path:
    return Path(root) / table / f"{YEAR_FOLDER}{year}" / DATA_FILE


def years_written(root: Path, table: str) -> list[int]:
    """The years a yearly table has a file for: the one place the folder layout is read."""
    found = (Path(root) / table).glob(f"{YEAR_FOLDER}*/{DATA_FILE}")
    return sorted(int(path.parent.name.removeprefix(YEAR_FOLDER)) for path in found)


def table_path(root: Path, table: str) -> Path:
    return Path(root) / table / DATA_FILE


def arrow_table(frame: pd.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    """The frame in the published schema's types, whatever its dtypes were on the way (a count
    blanked by a disclosure rule arrives as float and leaves as a nullable int64): the one
    conversion behind both the Parquet files and the SQL warehouse."""
    if frame.empty and schema is not None:
        return schema.empty_table()  # an empty frame's columns carry no types worth converting
    if schema is not None:
        frame = frame[schema.names]
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


@dataclass(frozen=True)
class Staged:
    """A table's new file written beside its place, not yet in it."""

    staging: Path
    target: Path

    def commit(self) -> Path:
        os.replace(self.staging, self.target)
        return self.target

    def discard(self) -> None:
        self.staging.unlink(missing_ok=True)


def stage(target: Path, staging_root: Path, stem: str, frame: pd.DataFrame, schema: pa.Schema | None) -> Staged:
    """Write to a staging file outside the table (synced to disk); commit() moves it into place."""
    data = arrow_table(frame, schema)
    staging = Path(staging_root) / STAGING / f"{stem}-{uuid.uuid4().hex}.parquet"
    staging.parent.mkdir(parents=True, exist_ok=True)
    for stray in staging.parent.glob(f"{stem}-*.parquet"):  # left by a killed writer
        stray.unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        pq.write_table(data, staging, compression="zstd")
        with staging.open("rb") as handle:
            os.fsync(handle.fileno())
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return Staged(staging, target)


def _replace(target: Path, staging_root: Path, stem: str, frame: pd.DataFrame, schema: pa.Schema | None) -> Path:
    staged = stage(target, staging_root, stem, frame, schema)
    try:
        return staged.commit()
    finally:
        staged.discard()


def stage_table(root: Path, table: str, frame: pd.DataFrame, schema: pa.Schema | None = None) -> Staged:
    """A table that spans all years staged for replacement (see Staged.commit)."""
    return stage(table_path(root, table), root, f"{table}-all", frame, schema)


def write_partition(root: Path, table: str, year: int, frame: pd.DataFrame, schema: pa.Schema | None = None) -> Path:
    """Replace one year of a table atomically; returns the published file."""
    return _replace(partition_path(root, table, year), root, f"{table}-{year}", frame, schema)


def write_table(root: Path, table: str, frame: pd.DataFrame, schema: pa.Schema | None = None) -> Path:
    """Replace a table that spans all years (one file) atomically."""
    return _replace(table_path(root, table), root, f"{table}-all", frame, schema)


def read_table(root: Path, table: str) -> pd.DataFrame | None:
    """A table that spans all years, or None when it has not been written yet."""
    path = table_path(root, table)
    return pq.read_table(path).to_pandas() if path.exists() else None


def read_partition(root: Path, table: str, year: int, columns: list[str] | None = None) -> pd.DataFrame:
    path = partition_path(root, table, year)
    if not path.exists():
        raise FileNotFoundError(f"{table} has no data for {year}: {path} is missing (materialise it first)")
    return pq.read_table(path, columns=columns).to_pandas()
