"""A real year materialised with the Dagster instance on PostgreSQL (deploy/dagster.yaml),
its run and materialisation events read back from that instance."""

import os
import shutil
import uuid
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from cluster_pipeline_tests.conftest import materialise

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "dagster.yaml"


@pytest.fixture
def postgres_dagster_home(tmp_path, monkeypatch):
    url = os.environ.get("CLUSTER_PIPELINE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("CLUSTER_PIPELINE_TEST_POSTGRES_URL is not set")
    name = f"dagster_test_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    # dagster-postgres speaks psycopg2 (SQLAlchemy 2.1 would pick psycopg 3 for a plain postgresql://)
    database = sa.engine.make_url(url).set(database=name, drivername="postgresql+psycopg2")
    monkeypatch.setenv("DAGSTER_PG_URL", database.render_as_string(hide_password=False))
    shutil.copy(DEPLOY, tmp_path / "dagster.yaml")
    try:
        yield tmp_path
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


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
        assert checks["rows_accounted_for"] and checks["all_six_indicators"]
