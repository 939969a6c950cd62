"""A real year materialised with the Dagster instance on PostgreSQL (deploy/dagster.yaml),
its run and materialisation events read back from that instance."""

import shutil
from pathlib import Path

import dagster as dg
import pytest

from cluster_pipeline_tests.conftest import materialise

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
        assert checks["rows_accounted_for"] and checks["all_six_indicators"]
