"""Shared fixtures: one full sample year (scale 1) generated and materialised through
Dagster once per test session; small hand-made files for everything else."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from cluster_pipeline.definitions import ASSETS
from cluster_pipeline.defs.resources import resources_from_env
from cluster_pipeline.lib.sample_data import generate

SAMPLE_YEAR = 2016


@dataclass
class SampleRun:
    landing: Path
    output: Path
    year: int
    truth: dict
    result: dg.ExecuteInProcessResult


def materialise(landing: Path, output: Path, year: int, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return dg.materialize(ASSETS, partition_key=str(year), instance=instance,
                          resources=resources_from_env(str(landing), str(output)), raise_on_error=False)


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> SampleRun:
    root = tmp_path_factory.mktemp("sample")
    landing, output = root / "landing", root / "published"
    truth = generate(landing, [SAMPLE_YEAR], scale=1.0, seed=2016)[SAMPLE_YEAR]
    with dg.instance_for_test() as instance:
        result = materialise(landing, output, SAMPLE_YEAR, instance)
    assert result.success, "the sample year must materialise"
    return SampleRun(landing, output, SAMPLE_YEAR, truth, result)


SMALL_YEARS = [2014, 2015, 2016, 2017, 2018]


@pytest.fixture(scope="session")
def small_years(tmp_path_factory) -> dict[int, SampleRun]:
    """Every year of the strategy period at a quarter of the national scale."""
    root = tmp_path_factory.mktemp("years")
    landing, output = root / "landing", root / "published"
    truths = generate(landing, SMALL_YEARS, scale=0.25, seed=7)
    runs = {}
    with dg.instance_for_test() as instance:
        for year in SMALL_YEARS:
            result = materialise(landing, output, year, instance)
            assert result.success, f"{year} must materialise"
            runs[year] = SampleRun(landing, output, year, truths[year], result)
    return runs


@pytest.fixture(params=["full 2016", *SMALL_YEARS])
def statistics_run(request) -> SampleRun:
    """The full-scale sample year, and each year of 2014-2018 at a smaller scale."""
    if request.param == "full 2016":
        return request.getfixturevalue("sample_run")
    return request.getfixturevalue("small_years")[request.param]


@pytest.fixture
def postgres_database() -> sa.URL:
    """A new, empty database on the test PostgreSQL (CLUSTER_PIPELINE_TEST_POSTGRES_URL), dropped afterwards."""
    url = os.environ.get("CLUSTER_PIPELINE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("CLUSTER_PIPELINE_TEST_POSTGRES_URL is not set")
    name = f"cluster_pipeline_test_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(url).set(database=name)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
