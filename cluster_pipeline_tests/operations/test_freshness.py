"""The current year's published tables are flagged when they go stale."""

from __future__ import annotations

import time

import dagster as dg

from cluster_pipeline.definitions import build_definitions
from cluster_pipeline.defs.operations.sensors import FRESH, freshness
from cluster_pipeline.defs.partitions import add_partitions
from cluster_pipeline.defs.resources import LandingFolder
from cluster_pipeline.lib.operations.freshness import limit_hours, stale_tables
from cluster_pipeline_tests.files import cluster_batch


def freshness_results(definitions: dg.Definitions, instance: dg.DagsterInstance) -> dict[str, bool]:
    result = definitions.resolve_job_def("freshness_checks").execute_in_process(instance=instance)
    return {
        e.asset_key.to_user_string(): e.passed for e in result.get_asset_check_evaluations() if e.check_name == FRESH
    }


def test_a_table_is_stale_after_the_limit_and_fresh_before_it():
    now = time.time()
    hours = limit_hours()
    assert hours == 26
    updated = {"national_outcomes": now - (hours - 1) * 3600, "indicator_status": now - (hours + 1) * 3600}
    assert list(stale_tables(updated, now)) == ["indicator_status"]
    assert stale_tables({"national_outcomes": None}, now) == {"national_outcomes": "never published"}


def test_the_freshness_check_fails_for_a_stale_current_year_and_passes_after_a_run(tmp_path):
    landing, output = tmp_path / "landing", tmp_path / "published"
    cluster_batch(landing / "2016", 0)
    definitions = build_definitions(str(landing), str(output), register=str(tmp_path / "no_register"))
    with dg.instance_for_test() as instance:
        # the landing folder of 2016 exists, its tables were never published
        assert freshness_results(definitions, instance) == {"national_outcomes": False, "indicator_status": False}
        job = definitions.resolve_job_def("yearly_statistics")
        add_partitions(instance, [2016])
        assert job.execute_in_process(partition_key="2016", instance=instance).success
        assert freshness_results(definitions, instance) == {"national_outcomes": True, "indicator_status": True}
        # the same tables a day and three hours later
        year, stale = freshness(instance, LandingFolder(path=str(landing)), now=time.time() + 27 * 3600)
    assert year == 2016 and set(stale) == {"national_outcomes", "indicator_status"}
