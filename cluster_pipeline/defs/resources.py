"""Where the pipeline reads and writes: small resources, configured from the command line or
the environment (cluster_pipeline/settings.py holds the variables and defaults)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from cluster_pipeline import settings
from cluster_pipeline.lib.publish import parquet_store

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
    """The published tables (Hive-partitioned Parquet) and the intermediate ones under _work/."""

    path: str = settings.OUTPUT.default

    @property
    def root(self) -> Path:
        return Path(self.path)

    def publish(self, table: str, year: int, frame, schema=None) -> Path:
        return parquet_store.write_partition(self.root, table, year, frame, schema)

    def read(self, table: str, year: int):
        return parquet_store.read_partition(self.root, table, year)

    def publish_all_years(self, table: str, frame, schema=None) -> Path:
        """A published table that spans all years: <output>/<table>/data.parquet."""
        return parquet_store.write_table(self.root, table, frame, schema)

    def read_all_years(self, table: str):
        """A published table that spans all years, or None before its first run."""
        return parquet_store.read_table(self.root, table)

    def years_with(self, table: str) -> list[int]:
        """The years for which an intermediate table has been written."""
        folder = self.root / WORK / table
        return sorted(
            int(p.name.removeprefix("year=")) for p in folder.glob("year=*") if (p / parquet_store.DATA_FILE).exists()
        )

    def table_file(self, table: str, year: int) -> Path:
        """Where a table's year lives: published tables at the top, intermediate ones under _work/."""
        from cluster_pipeline.lib.publish.tables import TABLES

        root = self.root if table in TABLES else self.root / WORK
        return parquet_store.partition_path(root, table, year)

    def work_file(self, table: str, year: int) -> Path:
        return parquet_store.partition_path(self.root / WORK, table, year)

    def write_work(self, table: str, year: int, frame) -> Path:
        return parquet_store.write_partition(self.root / WORK, table, year, frame)

    def read_work(self, table: str, year: int):
        return parquet_store.read_partition(self.root / WORK, table, year)

    def write_work_all_years(self, table: str, frame) -> Path:
        return parquet_store.write_table(self.root / WORK, table, frame)

    def read_work_all_years(self, table: str):
        return parquet_store.read_table(self.root / WORK, table)


class Warehouse(dg.ConfigurableResource):
    """The SQL database the published tables are copied to. An empty url means a SQLite
    file beside the Parquet output (<output>/warehouse.sqlite)."""

    url: str = ""

    @contextmanager
    def connect(self, output: OutputFolder):
        """An engine for the database, disposed of when the block ends."""
        import sqlalchemy as sa

        url = self.url or f"sqlite:///{(output.root / 'warehouse.sqlite').resolve()}"
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def resources_from_env(
    landing: str | None = None, output: str | None = None, warehouse: str | None = None, register: str | None = None
) -> dict:
    return {
        "landing": LandingFolder(path=settings.LANDING.value(landing)),
        "output": OutputFolder(path=settings.OUTPUT.value(output)),
        "warehouse": Warehouse(url=settings.WAREHOUSE.value(warehouse)),
        "register": RegisterFolder(path=settings.REGISTER.value(register)),
    }
