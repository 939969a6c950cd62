"""Shared fixtures: the full national sample for 2014-2018 (scale 1) generated and run
through Dagster once per test session, as `cluster-pipeline run` does; small hand-made
files for everything else."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

import dagster as dg
import pytest
import sqlalchemy as sa

import cluster_pipeline_tests.isolated_folders  # noqa: F401 (first: before definitions reads the environment)
from cluster_pipeline.sample_data.generate import generate
from cluster_pipeline.sample_data.register import NO_EFFECT
from cluster_pipeline_tests.runs import SAMPLE_YEAR, YEARS, SampleRun, run_in_order

NATIONAL_FIXTURES = {"five_years", "sample_run", "statistics_run", "no_effect_run"}


def pytest_collection_modifyitems(items):
    """Tests on the five national sample years are marked, so `-m "not national_sample"` is a fast loop."""
    for item in items:
        if NATIONAL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.national_sample)


@pytest.fixture(scope="session")
def five_years(tmp_path_factory) -> dict[int, SampleRun]:
    """Every year of the strategy period at national scale, run together (in order)."""
    root = tmp_path_factory.mktemp("years")
    landing, output, register = root / "landing", root / "published", root / "register"
    truths = generate(landing, YEARS, scale=1.0, seed=2016, register=register)
    with dg.instance_for_test() as instance:
        outcome = run_in_order(landing, output, YEARS, instance, register)
    assert not outcome.identity_errors, outcome.identity_errors
    runs = {}
    for year in YEARS:
        assert outcome.years[year].success, f"{year} must materialise: {outcome.years[year].errors}"
        runs[year] = SampleRun(landing, output, year, truths[year], outcome.years[year], outcome, register)
    return runs


@pytest.fixture(scope="session")
def sample_run(five_years) -> SampleRun:
    """The full-scale sample year 2016."""
    return five_years[SAMPLE_YEAR]


@pytest.fixture(params=YEARS)
def statistics_run(request) -> SampleRun:
    """Each year of 2014-2018 at national scale."""
    return request.getfixturevalue("five_years")[request.param]


@pytest.fixture(scope="session")
def no_effect_run(tmp_path_factory) -> SampleRun:
    """Another sample (another seed, three years) whose register has no planted effect: the
    selection is the same, so only the estimator's honesty keeps it from finding one."""
    root = tmp_path_factory.mktemp("no_effect")
    landing, output, register = root / "landing", root / "published", root / "register"
    years = [2016, 2017, 2018]  # the last two give services_used: the bands find no effect either
    truths = generate(landing, years, scale=1.0, seed=7, register=register, effects=NO_EFFECT)
    with dg.instance_for_test() as instance:
        outcome = run_in_order(landing, output, years, instance, register)
    assert not outcome.impact_errors, outcome.impact_errors
    return SampleRun(landing, output, years[-1], truths[years[-1]], outcome.years[years[-1]], outcome, register)


@contextmanager
def new_postgres_database():
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


@pytest.fixture
def postgres_database() -> sa.URL:
    with new_postgres_database() as url:
        yield url


@pytest.fixture
def postgres_warehouse() -> sa.URL:
    """A second new database, for a test that also keeps its Dagster instance on PostgreSQL."""
    with new_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse_engine(request, tmp_path) -> sa.Engine:
    """An engine on each kind of warehouse the pipeline writes to: a SQLite file, a new PostgreSQL database."""
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
        yield engine
        engine.dispose()
        return
    with new_postgres_database() as url:
        engine = sa.create_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture(autouse=True)
def no_disposed_instance_left_behind():
    """Dagster 1.13's `with DagsterInstance(...)` sets the instance's state storage for the thread
    and its __exit__ disposes the instance without unsetting it: a later test that loads
    definitions then meets a dead instance ("undefined DagsterInstance weakref"). Each test
    starts without one and leaves none behind."""
    from dagster._core.storage.defs_state.base import set_defs_state_storage

    with set_defs_state_storage(None):
        yield
