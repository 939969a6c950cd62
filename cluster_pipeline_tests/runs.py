"""Helpers the tests share: a sample year's run, and the years through Dagster as
`cluster-pipeline run` does them (fixtures stay in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg

import cluster_pipeline_tests.isolated_folders  # noqa: F401 (first: before definitions reads the environment)
from cluster_pipeline.definitions import ASSETS
from cluster_pipeline.defs.partitions import add_partitions
from cluster_pipeline.defs.resources import resources_from_env
from cluster_pipeline.year_runs import Outcome, YearOutcome, run_years

SAMPLE_YEAR = 2016


@dataclass
class SampleRun:
    landing: Path
    output: Path
    year: int
    truth: dict
    outcome: YearOutcome  # the year's runs: .checks holds every asset check evaluation
    run: Outcome | None = None  # the whole run (identities, impact)
    register: Path | None = None


def materialise(landing: Path, output: Path, year: int, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    add_partitions(instance, [year])
    return dg.materialize(
        ASSETS,
        partition_key=str(year),
        instance=instance,
        resources=resources_from_env(str(landing), str(output), register=str(landing / "no_register")),
        raise_on_error=False,
    )


YEARS = [2014, 2015, 2016, 2017, 2018]


def run_in_order(
    landing: Path, output: Path, years: list[int], instance: dg.DagsterInstance, register: Path | None = None
):
    """The years through Dagster as `cluster-pipeline run` materialises them (without a register
    unless one is given: the impact measurement is then skipped)."""
    resources = resources_from_env(str(landing), str(output), register=str(register or landing / "no_register"))
    return run_years(years, resources, instance, progress=lambda line: None)
