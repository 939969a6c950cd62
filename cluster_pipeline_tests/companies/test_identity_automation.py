"""When a run changes the identities, Dagster re-publishes the other years: the automation
condition on companies, memberships and sql_warehouse (what dagster-daemon evaluates)."""

import dagster as dg

from cluster_pipeline.definitions import build_definitions
from cluster_pipeline.defs.companies.assets import IDS, out_of_date_years
from cluster_pipeline.defs.partitions import add_partitions
from cluster_pipeline.defs.resources import OutputFolder
from cluster_pipeline.sample_data.generate import generate

FOLLOWERS = [dg.AssetKey("companies"), dg.AssetKey("memberships"), dg.AssetKey("sql_warehouse")]


def test_a_run_that_changes_identities_requests_the_other_years_republication(tmp_path):
    landing, output = tmp_path / "landing", tmp_path / "published"
    generate(landing, [2016, 2017], scale=0.05, seed=11)
    defs = build_definitions(str(landing), str(output))
    job = defs.resolve_job_def("yearly_statistics")
    with dg.instance_for_test() as instance:
        add_partitions(instance, [2016, 2017])
        assert job.execute_in_process(partition_key="2016", instance=instance).success
        ticked = dg.evaluate_automation_conditions(defs=defs, instance=instance)  # the daemon's tick after 2016
        assert job.execute_in_process(partition_key="2017", instance=instance).success
        folder = OutputFolder(path=str(output))
        stale = out_of_date_years(folder, folder.read(IDS))
        assert stale == [2016], "2017 brings CVRs for organisations 2016 listed without one"

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
