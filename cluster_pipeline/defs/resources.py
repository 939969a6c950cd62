"""Where the pipeline reads and writes: small resources, configured from the command line or
the environment (cluster_pipeline/settings.py holds the variables and defaults)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from cluster_pipeline import settings
from cluster_pipeline.lib import seeds, tables
from cluster_pipeline.lib.publish import parquet_store
from cluster_pipeline.lib.publish.warehouse import CONNECT_TIMEOUT_SECONDS, reachable

WORK = "_work"  # intermediate tables; the leading underscore hides them from Hive readers


class LandingFolder(dg.ConfigurableResource):
    """The folder the clusters' files arrive in: <path>/<year>/<files>."""

    path: str = settings.LANDING.default

    @property
    def root(self) -> Path:
        return Path(self.path)

    def year_dir(self, year: int) -> Path:
        folder = Path(self.path) / str(year)
        if not folder.is_dir():
            raise dg.Failure(
                description=f"No landing folder for {year}: {folder.resolve()} does not exist. "
                f"Put the year's files there (or run `cluster-pipeline sample-data`) before materialising {year}."
            )
        return folder


class RegisterFolder(dg.ConfigurableResource):
    """The firm register extract: <path>/firms_<year>.csv (confidential; outside the landing folder)."""

    path: str = settings.REGISTER.default

    @property
    def root(self) -> Path:
        return Path(self.path)


class OutputFolder(dg.ConfigurableResource):
    """The tables, found by name: published ones (lib/tables.py, written with their
    schema) at the top, Hive-partitioned by year or one file over all years; every other table
    is intermediate, under _work/ (not for analysts). A year given: that year's partition."""

    path: str = settings.OUTPUT.default

    @property
    def root(self) -> Path:
        return Path(self.path)

    def _folder(self, table: str) -> Path:
        return self.root if tables.is_published(table) else self.root / WORK

    def file(self, table: str, year: int | None = None) -> Path:
        folder = self._folder(table)
        return (
            parquet_store.table_path(folder, table)
            if year is None
            else parquet_store.partition_path(folder, table, year)
        )

    def write(self, table: str, frame, year: int | None = None) -> Path:
        schema = tables.schema(table) if tables.is_published(table) else None
        if year is None:
            return parquet_store.write_table(self._folder(table), table, frame, schema)
        return parquet_store.write_partition(self._folder(table), table, year, frame, schema)

    @contextmanager
    def writing_together(self, frames: dict):
        """Tables that span all years staged as Parquet and moved into place only when the block
        ends without error (after the warehouse's transaction committed), discarded otherwise:
        a failed publication leaves the Parquet files and the warehouse as they were, together."""
        staged = {}
        try:
            for name, frame in frames.items():
                schema = tables.schema(name) if tables.is_published(name) else None
                staged[name] = parquet_store.stage_table(self._folder(name), name, frame, schema)
            yield {name: s.target for name, s in staged.items()}
            for s in staged.values():
                s.commit()
        finally:
            for s in staged.values():
                s.discard()

    def read(self, table: str, year: int | None = None, columns: list[str] | None = None):
        """A year's partition (an error when missing; only the columns given, if any), or the
        all-years table (None before its first run)."""
        if year is None:
            return parquet_store.read_table(self._folder(table), table)
        return parquet_store.read_partition(self._folder(table), table, year, columns)

    def years_with(self, table: str) -> list[int]:
        """The years for which the table has been written."""
        return parquet_store.years_written(self._folder(table), table)


class Warehouse(dg.ConfigurableResource):
    """The SQL database the published tables are copied to. An empty url means a SQLite
    file beside the Parquet output (<output>/warehouse.sqlite)."""

    url: str = ""

    @contextmanager
    def connect(self, output: OutputFolder):
        """An engine for the database, disposed of when the block ends."""
        import sqlalchemy as sa

        url = self.url or f"sqlite:///{(output.root / 'warehouse.sqlite').resolve()}"
        limits = seeds.thresholds()
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            # a file another program holds is waited for (SQLite's busy timeout), up to the seed's bound
            engine = sa.create_engine(url, connect_args={"timeout": limits["warehouse_busy_seconds"]})
        else:
            engine = sa.create_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
            reachable(engine, limits["warehouse_connect_seconds"])
        try:
            yield engine
        finally:
            engine.dispose()


def _warehouse_url(given: str | None) -> str:
    """The URL as given; from the environment as dg.EnvVar, resolved by Dagster when a run starts, so
    a password in it is never part of the definitions the UI shows (the folders are read by the CLI
    outside a run too, and hold no secret: plain values)."""
    if given:
        return given
    if os.environ.get(settings.WAREHOUSE.variable):
        return dg.EnvVar(settings.WAREHOUSE.variable)
    return settings.WAREHOUSE.default


def resources_from_env(
    landing: str | None = None, output: str | None = None, warehouse: str | None = None, register: str | None = None
) -> dict:
    return {
        "landing": LandingFolder(path=settings.LANDING.value(landing)),
        "output": OutputFolder(path=settings.OUTPUT.value(output)),
        "warehouse": Warehouse(url=_warehouse_url(warehouse)),
        "register": RegisterFolder(path=settings.REGISTER.value(register)),
    }
