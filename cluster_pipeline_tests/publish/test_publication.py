"""Publication: atomic year replacement, identical re-runs, readers that agree, the README's
snippets, and the SQL warehouse on SQLite and PostgreSQL."""

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from cluster_pipeline.defs.partitions import add_partitions
from cluster_pipeline.lib import tables
from cluster_pipeline.lib.publish.parquet_store import (
    STAGING,
    partition_path,
    read_partition,
    read_table,
    write_partition,
)
from cluster_pipeline.lib.publish.warehouse import replace_table, replace_year
from cluster_pipeline_tests.runs import YEARS, materialise

README = Path(__file__).resolve().parents[2] / "README.md"


def test_a_killed_write_leaves_the_previous_year_intact(tmp_path):
    old = pd.DataFrame({"value": ["old"] * 3})
    write_partition(tmp_path, "t", 2016, old)
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"""
import pandas as pd
from cluster_pipeline.lib.publish.parquet_store import write_partition
frame = pd.DataFrame({{"value": [str(i) * 20 for i in range(6_000_000)]}})
write_partition({str(tmp_path)!r}, "t", 2016, frame)
""",
        ]
    )
    staging = tmp_path / STAGING
    deadline = time.monotonic() + 120
    while not (staging.exists() and any(staging.iterdir())):
        assert writer.poll() is None and time.monotonic() < deadline, "the writer should still be writing"
        time.sleep(0.01)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert read_partition(tmp_path, "t", 2016).equals(old)
    assert [p.name for p in (tmp_path / "t" / "year=2016").iterdir()] == ["data.parquet"]
    # the next write of the year replaces it and clears what the killed writer left
    write_partition(tmp_path, "t", 2016, pd.DataFrame({"value": ["new"]}))
    assert read_partition(tmp_path, "t", 2016)["value"].tolist() == ["new"]
    assert list(staging.iterdir()) == []


def published_tables(output: Path, year: int) -> dict[str, pd.DataFrame]:
    return {name: pq.read_table(partition_path(output, name, year)) for name in tables.TABLES}


def test_rerunning_a_year_gives_identical_data(sample_run):
    before = published_tables(sample_run.output, sample_run.year)
    with dg.instance_for_test() as instance:
        assert materialise(sample_run.landing, sample_run.output, sample_run.year, instance).success
    after = published_tables(sample_run.output, sample_run.year)
    for name in tables.TABLES:
        assert after[name].equals(before[name]), name


def test_every_table_has_one_explicit_schema_with_descriptions(sample_run):
    for name in tables.TABLES:
        schema = pq.read_schema(partition_path(sample_run.output, name, sample_run.year))
        assert schema.remove_metadata() == tables.schema(name).remove_metadata(), name
        assert all(field.metadata[b"description"] for field in schema), name
        assert (
            pq.ParquetFile(partition_path(sample_run.output, name, sample_run.year))
            .metadata.row_group(0)
            .column(0)
            .compression
            == "ZSTD"
        )


def readme_snippets() -> dict[str, str]:
    section = README.read_text().split("## Reading the data", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    return {block.splitlines()[0].lstrip("# ").split()[0]: block for block in blocks}


def test_the_readme_snippets_read_every_table_alike(sample_run):
    snippets = readme_snippets()
    assert set(snippets) == {"pandas", "polars", "DuckDB"}
    for name in tables.TABLES:
        results = {}
        for reader, code in snippets.items():
            scope = {}
            exec(code.replace('"data/published"', repr(str(sample_run.output))).replace("companies", name), scope)
            results[reader] = scope[name]
        pandas_frame, polars_frame, duckdb_frame = results["pandas"], results["polars"], results["DuckDB"]
        assert (
            len(pandas_frame) == polars_frame.height == len(duckdb_frame) > 0
            or name == "quarantine"
            and len(pandas_frame) > 0
        )
        assert str(pandas_frame["year"].dtype) == "int32" and polars_frame.schema["year"] == pl.Int32
        assert str(duckdb_frame["year"].dtype) == "int32"
        assert set(pandas_frame.columns) == set(polars_frame.columns) == set(duckdb_frame.columns)
        # every year of the sample with rows (service_intensity has rows from template version 2), read from the path
        assert set(pandas_frame["year"]) == {y for y in YEARS if len(read_partition(sample_run.output, name, y))}


def test_the_sqlite_warehouse_holds_every_table_of_the_year(sample_run):
    engine = sa.create_engine(f"sqlite:///{sample_run.output / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        for name in tables.TABLES:
            count = connection.execute(
                sa.text(f'SELECT count(*) FROM "{name}" WHERE year = :y'), {"y": sample_run.year}
            ).scalar()
            assert count == len(read_partition(sample_run.output, name, sample_run.year)), name
    engine.dispose()


def test_the_sqlite_warehouse_holds_company_identities_whole(sample_run):
    engine = sa.create_engine(f"sqlite:///{sample_run.output / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        in_sql = pd.read_sql("SELECT * FROM company_identities", connection)
    engine.dispose()
    published = read_table(sample_run.output, "company_identities")
    assert list(in_sql.columns) == tables.columns("company_identities")
    assert sorted(in_sql["company_id"]) == sorted(published["company_id"])


@pytest.mark.postgres
def test_company_identities_are_replaced_whole_in_postgres(postgres_database):
    engine = sa.create_engine(postgres_database)
    schema = tables.schema("company_identities")
    row = {
        "company_id": "N1",
        "current_id": "CVR12345674",
        "cvr": "12345674",
        "name": "Fjordtek A/S",
        "first_year": 2016,
        "last_year": 2016,
        "n_years": 1,
    }
    replace_table(engine, "company_identities", pd.DataFrame([row, {**row, "company_id": "CVR12345674"}]), schema)
    replace_table(engine, "company_identities", pd.DataFrame([{**row, "company_id": "CVR12345674"}]), schema)
    with engine.connect() as connection:
        ids = connection.execute(sa.text("SELECT company_id FROM company_identities")).scalars().all()
    engine.dispose()
    assert ids == ["CVR12345674"]


def small_tables(n: int) -> dict:
    frame = pd.DataFrame({"cluster_id": [f"DK-CL-{i:03d}" for i in range(n)], "companies": range(n)})
    return {"demo": (frame, pa.schema([("cluster_id", "string"), ("companies", "int64")]))}


def check_replace_year(engine):
    replace_year(engine, 2016, small_tables(3))
    replace_year(engine, 2017, small_tables(2))
    replace_year(engine, 2016, small_tables(4))  # replaces 2016 only
    with engine.connect() as connection:
        counts = dict(connection.execute(sa.text("SELECT year, count(*) FROM demo GROUP BY year")).all())
    assert counts == {2016: 4, 2017: 2}
    # the second table fails after the first was replaced: nothing of the year may change
    unbindable = pd.DataFrame({"companies": [object()]})  # no int64 column can hold this value
    broken = {**small_tables(5), "other": (unbindable, pa.schema([("companies", "int64")]))}
    with pytest.raises(pa.ArrowException):
        replace_year(engine, 2016, broken)
    with engine.connect() as connection:  # the failed replacement rolled back whole
        assert connection.execute(sa.text("SELECT count(*) FROM demo WHERE year = 2016")).scalar() == 4


def test_a_year_is_replaced_in_one_transaction(warehouse_engine):
    check_replace_year(warehouse_engine)


@pytest.mark.postgres
def test_the_pipeline_publishes_a_year_to_postgres(sample_run, postgres_database):
    from cluster_pipeline.definitions import ASSETS
    from cluster_pipeline.defs.resources import resources_from_env

    url = postgres_database.render_as_string(hide_password=False)
    with dg.instance_for_test() as instance:
        add_partitions(instance, [sample_run.year])
        result = dg.materialize(
            ASSETS,
            partition_key=str(sample_run.year),
            instance=instance,
            selection="sql_warehouse",
            resources=resources_from_env(str(sample_run.landing), str(sample_run.output), url),
        )
    assert result.success
    engine = sa.create_engine(postgres_database)
    with engine.connect() as connection:
        national = pd.read_sql("SELECT * FROM national_outcomes", connection)
        failures = (
            connection.execute(sa.text("SELECT eligibility_failures FROM clusters WHERE NOT eligible")).scalars().all()
        )
    engine.dispose()
    assert (
        national["companies"].tolist()
        == read_partition(sample_run.output, "national_outcomes", sample_run.year)["companies"].tolist()
    )
    assert failures and all(f.startswith("[") for f in failures)


def test_two_runs_of_the_same_year_cannot_interleave(tmp_path):
    from cluster_pipeline.lib.publish.year_lock import YearLocked, year_lock

    with year_lock(tmp_path, 2016):
        with pytest.raises(YearLocked, match="2016"), year_lock(tmp_path, 2016, wait=False):
            pass
        with year_lock(tmp_path, 2017, wait=False):  # another year is free
            pass
    with year_lock(tmp_path, 2016, wait=False):  # released
        pass
