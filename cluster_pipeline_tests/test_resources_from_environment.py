"""Where a resource's value comes from the environment, Dagster reads it when a run starts."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from cluster_pipeline import settings
from cluster_pipeline.defs.resources import resources_from_env
from cluster_pipeline.sample_data.generate import generate
from cluster_pipeline_tests.runs import run_in_order


def test_the_warehouse_url_from_the_environment_is_read_by_the_run_not_written_into_the_definitions(
    tmp_path, monkeypatch
):
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite'}"
    monkeypatch.setenv(settings.WAREHOUSE.variable, url)
    assert isinstance(resources_from_env()["warehouse"].url, dg.EnvVar)

    generate(tmp_path / "landing", [2016], scale=0.1, seed=3)
    with dg.instance_for_test() as instance:
        outcome = run_in_order(tmp_path / "landing", tmp_path / "published", [2016], instance)

    assert outcome.years[2016].success, outcome.years[2016].errors
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        years = connection.execute(sa.text("SELECT DISTINCT year FROM national_outcomes")).scalars().all()
    engine.dispose()
    assert years == [2016]
    assert not (tmp_path / "published" / "warehouse.sqlite").exists()
