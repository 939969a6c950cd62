"""When a run changes the identities, the other years are re-published under the new ids by one
rule, the automation condition on companies and memberships (defs/companies/automation.py):
dagster-daemon's sensor evaluates it in a deployment, `cluster-pipeline run` in process."""

import dagster as dg
import pytest

from cluster_pipeline.definitions import build_definitions
from cluster_pipeline.defs.companies.assets import IDS, out_of_date_years
from cluster_pipeline.defs.partitions import add_partitions
from cluster_pipeline.defs.resources import OutputFolder
from cluster_pipeline.sample_data.generate import generate
from cluster_pipeline_tests.runs import run_in_order

FOLLOWERS = [dg.AssetKey("companies"), dg.AssetKey("memberships"), dg.AssetKey("sql_warehouse")]


@pytest.fixture
def two_years(tmp_path):
    """2017 brings CVRs for organisations 2016 listed without one: running 2017 after 2016
    changes the ids 2016 was published under."""
    landing, output = tmp_path / "landing", tmp_path / "published"
    generate(landing, [2016, 2017], scale=0.05, seed=11)
    return landing, output


def test_a_run_that_changes_identities_requests_the_other_years_republication(two_years):
    landing, output = two_years
    defs = build_definitions(str(landing), str(output))
    job = defs.resolve_job_def("yearly_statistics")
    with dg.instance_for_test() as instance:
        add_partitions(instance, [2016, 2017])
        assert job.execute_in_process(partition_key="2016", instance=instance).success
        ticked = dg.evaluate_automation_conditions(defs=defs, instance=instance)  # the daemon's tick after 2016
        assert ticked.total_requested == 0, "2016 alone changes no other year"
        assert job.execute_in_process(partition_key="2017", instance=instance).success
        folder = OutputFolder(path=str(output))
        assert out_of_date_years(folder, folder.read(IDS)) == [2016]

        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=ticked.cursor)
        for key in FOLLOWERS:
            assert tick.get_requested_partitions(key) == {"2016"}, key

        # what the daemon launches for those requests: afterwards no year is out of date
        assert dg.materialize(
            defs.assets, selection=FOLLOWERS, partition_key="2016", instance=instance, resources=defs.resources
        ).success
        assert out_of_date_years(folder, folder.read(IDS)) == []
        settled = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        assert settled.total_requested == 0


def test_cluster_pipeline_run_republishes_the_years_the_rule_names(two_years):
    landing, output = two_years
    with dg.instance_for_test() as instance:
        assert run_in_order(landing, output, [2016], instance).republished == []
        outcome = run_in_order(landing, output, [2017], instance)
        assert outcome.republished == [2016] and not outcome.identity_errors
        runs = instance.get_runs(dg.RunsFilter(tags={"cluster_pipeline/trigger": "identities_changed"}))
        assert {run.tags["dagster/partition"] for run in runs} == {"2016"}
    folder = OutputFolder(path=str(output))
    assert out_of_date_years(folder, folder.read(IDS)) == []


def test_a_year_another_instance_published_into_the_folder_is_republished_too(two_years):
    landing, output = two_years
    with dg.instance_for_test() as first:
        run_in_order(landing, output, [2016], first)
    with dg.instance_for_test() as second:  # knows nothing of 2016 but the folder
        outcome = run_in_order(landing, output, [2017], second)
    assert outcome.republished == [2016]
    folder = OutputFolder(path=str(output))
    assert out_of_date_years(folder, folder.read(IDS)) == []
