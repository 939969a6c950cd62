"""Many years in one run: consecutive years go through each part of the graph in one Dagster
run (as a single-run backfill does), each year keeps its own materialisation and metadata, and
a failing year is named while the other years are published."""

import dagster as dg

from cluster_pipeline.definitions import defs
from cluster_pipeline.defs.partitions import years
from cluster_pipeline_tests.files import MEMBERS_HEADER_DA, PROFILE_HEADER_DA, member, profile, write_csv
from cluster_pipeline_tests.runs import run_in_order

YEARS = [2015, 2016, 2017]


def three_years(landing):
    """One cluster with 10, 20 and 30 members in 2015-2017."""
    for n, year in enumerate(YEARS, start=1):
        folder = landing / str(year)
        write_csv(folder / "profiler.csv", [PROFILE_HEADER_DA, profile(year=str(year), until="31.12.2020")], ";")
        members = [member(name=f"Firma {i} ApS", year=str(year)) for i in range(10 * n)]
        write_csv(folder / "medlemmer.csv", [MEMBERS_HEADER_DA, *members], ";")


def test_every_asset_backfills_a_range_of_years_in_one_run():
    """Those over all years too: `dagster asset materialize --partition-range` refuses a selection
    with any asset that has no single-run policy."""
    graph = defs.resolve_asset_graph()
    yearly = [node for node in graph.asset_nodes if node.partitions_def == years]
    assert len(yearly) > 10
    for node in graph.asset_nodes:
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), node.key


def test_consecutive_years_are_one_run_per_part_of_the_graph(tmp_path):
    three_years(tmp_path / "landing")
    with dg.instance_for_test() as instance:
        outcome = run_in_order(tmp_path / "landing", tmp_path / "published", YEARS, instance)
        runs = instance.get_runs()
        assert outcome.one_run_per_part and all(outcome.years[y].success for y in YEARS)
        # the years up to the warehouse, the impact measurement, the reports, the release and site: four, not ten
        assert len(runs) == 4
        ranged = [r for r in runs if r.tags.get("dagster/asset_partition_range_start") == "2015"]
        assert len(ranged) == 2 and all(r.tags["dagster/asset_partition_range_end"] == "2017" for r in ranged)
        landed = instance.fetch_materializations(dg.AssetKey("landed_files"), limit=10).records
        rows = {r.partition_key: r.asset_materialization.metadata["rows_read"].value for r in landed}
        assert rows == {"2015": 11, "2016": 21, "2017": 31}  # each year's own metadata (profile + members rows)


def test_a_check_over_many_years_gives_each_year_its_own_verdict(tmp_path):
    three_years(tmp_path / "landing")
    with dg.instance_for_test() as instance:
        outcome = run_in_order(tmp_path / "landing", tmp_path / "published", YEARS, instance)
    steady = {
        year: next(c for c in outcome.years[year].checks if c.check_name == "member_counts_steady_from_last_year")
        for year in YEARS
    }
    assert all(check.passed for check in steady.values())
    assert steady[2015].metadata["compared_with"].value == "no previous year"
    assert steady[2017].metadata["compared_with"].value == 2016


def test_a_failing_year_is_named_and_the_other_years_are_published(tmp_path, monkeypatch):
    import cluster_pipeline.defs.contracts.assets as contracts

    validate = contracts.validate_year

    def broken_in_2016(cells, template, year):
        if year == 2016:
            raise RuntimeError("validation broke")
        return validate(cells, template, year)

    monkeypatch.setattr(contracts, "validate_year", broken_in_2016)
    three_years(tmp_path / "landing")
    with dg.instance_for_test() as instance:
        outcome = run_in_order(tmp_path / "landing", tmp_path / "published", YEARS, instance)
    assert not outcome.one_run_per_part  # the run failed: the years went again one by one
    assert not outcome.years[2016].success and "validation broke" in " ".join(outcome.years[2016].errors)
    for year in (2015, 2017):
        assert outcome.years[year].success, outcome.years[year].errors
        assert (tmp_path / "published" / "reports" / f"{year}.html").exists()
    assert not (tmp_path / "published" / "reports" / "2016.html").exists()
