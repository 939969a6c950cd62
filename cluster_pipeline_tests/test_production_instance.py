"""The production shape: the Dagster instance on PostgreSQL (deploy/dagster.yaml), its runs
and events read back; and the whole pipeline, register included, publishing to a PostgreSQL
warehouse that then holds every table as its Parquet does."""

import json
import shutil
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from cluster_pipeline.defs.resources import resources_from_env
from cluster_pipeline.lib import tables
from cluster_pipeline.sample_data.generate import generate
from cluster_pipeline.sample_data.organisations import build_universe
from cluster_pipeline.year_runs import run_years
from cluster_pipeline_tests.runs import materialise

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "dagster.yaml"


@pytest.fixture
def postgres_dagster_home(tmp_path, monkeypatch, postgres_database):
    """A DAGSTER_HOME holding deploy/dagster.yaml, its storage a new PostgreSQL database."""
    # dagster-postgres speaks psycopg2 (SQLAlchemy 2.1 would pick psycopg 3 for a plain postgresql://)
    url = postgres_database.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
    monkeypatch.setenv("DAGSTER_PG_URL", url)
    shutil.copy(DEPLOY, tmp_path / "dagster.yaml")
    return tmp_path


@pytest.mark.postgres
def test_a_year_materialised_on_postgres_storage_can_be_read_back(sample_run, postgres_dagster_home, tmp_path):
    with dg.DagsterInstance.from_config(str(postgres_dagster_home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = materialise(sample_run.landing, tmp_path / "published", sample_run.year, instance)
        assert result.success
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS and run.tags["dagster/partition"] == str(sample_run.year)
        event = instance.get_latest_materialization_event(dg.AssetKey("indicator_status"))
        assert event.run_id == run.run_id
        assert event.asset_materialization.partition == str(sample_run.year)
        assert event.asset_materialization.metadata["dagster/row_count"].value == 6
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert checks["rows_accounted_for"] and checks["every_indicator_in_the_seed"]


SHAPE_YEARS = [2015, 2016, 2017]
SMALL_YEAR = 2017  # its register keeps three member firms: the year's link counts are suppressed


def keep_only_three_members_in_the_register(landing: Path, register: Path, seed: int, scale: float) -> None:
    """The small year's register file cut to three of its member companies, as the generator wrote them."""
    universe = build_universe(np.random.default_rng(seed), scale, SHAPE_YEARS)
    cvr = universe.entities.set_index("entity")["cvr"]
    rows = pd.read_csv(landing / "_truth" / f"{SMALL_YEAR}_rows.csv")
    members = rows["entity"][rows["entity"].str.startswith("C")].drop_duplicates()
    keep = {str(cvr[e]).encode() for e in members.head(3)}
    path = register / f"firms_{SMALL_YEAR}.csv"
    header, *lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(header + b"".join(line for line in lines if line.split(b";")[0] in keep))


SQL_TYPES = {
    "int16": "SMALLINT",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "double": "DOUBLE_PRECISION",
    "bool": "BOOLEAN",
    "date32[day]": "DATE",
    "timestamp[us, tz=UTC]": "TIMESTAMP",  # with time zone
}


def published_rows(data: pa.Table) -> list[tuple]:
    columns = [
        [None if v is None else json.dumps(v, ensure_ascii=False) for v in data.column(n).to_pylist()]
        if pa.types.is_list(data.schema.field(n).type)
        else data.column(n).to_pylist()
        for n in data.column_names
    ]
    return sorted(zip(*columns), key=repr)


def warehouse_rows(connection, table: str, names: list[str], year: int | None) -> list[tuple]:
    query = sa.select(*(sa.column(n) for n in names)).select_from(sa.table(table))
    if year is not None:
        query = query.where(sa.column("year") == year)
    return sorted(map(tuple, connection.execute(query).all()), key=repr)


def differences(engine: sa.Engine, output: Path) -> list[str]:
    """Every published table in the warehouse against its Parquet: column types, then rows."""
    found = []
    inspector = sa.inspect(engine)
    parts = [(name, year) for name in tables.TABLES for year in SHAPE_YEARS]
    parts += [(name, None) for name in tables.ALL_YEARS_TABLES]
    with engine.connect() as connection:
        for name, year in parts:
            path = output / name / (f"year={year}" if year else "") / "data.parquet"
            data = pq.read_table(path)
            sql_types = {c["name"]: type(c["type"]).__name__ for c in inspector.get_columns(name)}
            for field in data.schema:
                expected = SQL_TYPES.get(str(field.type), "TEXT")
                if sql_types.get(field.name) != expected:
                    found.append(f"{name}.{field.name}: {sql_types.get(field.name)} in SQL, {field.type} in Parquet")
            if warehouse_rows(connection, name, data.column_names, year) != published_rows(data):
                found.append(f"{name} {year or 'all years'}: the rows differ")
    return found


@pytest.mark.postgres
def test_the_production_shape_publishes_every_table_to_postgresql_as_in_parquet(
    tmp_path, postgres_dagster_home, postgres_warehouse
):
    landing, output, register = tmp_path / "landing", tmp_path / "published", tmp_path / "register"
    generate(landing, SHAPE_YEARS, scale=0.2, seed=31, register=register)
    keep_only_three_members_in_the_register(landing, register, seed=31, scale=0.2)
    url = postgres_warehouse.render_as_string(hide_password=False)
    resources = resources_from_env(str(landing), str(output), url, str(register))
    with dg.DagsterInstance.from_config(str(postgres_dagster_home)) as instance:
        outcome = run_years(SHAPE_YEARS, resources, instance, progress=lambda line: None)
    assert not outcome.impact_skipped and not outcome.impact_errors, outcome.impact_errors
    assert all(outcome.years[y].success for y in SHAPE_YEARS), {y: o.errors for y, o in outcome.years.items()}
    coverage = pq.read_table(output / "impact_coverage" / "data.parquet").to_pandas().set_index("year")
    assert coverage.loc[SMALL_YEAR, "suppressed"] and pd.isna(coverage.loc[SMALL_YEAR, "linked_to_register"])
    report = (output / "reports" / f"{SMALL_YEAR}.html").read_text(encoding="utf-8")
    assert "the link counts are not shown" in report
    engine = sa.create_engine(postgres_warehouse)
    try:
        assert differences(engine, output) == []
    finally:
        engine.dispose()
