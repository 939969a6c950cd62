"""One id per organisation across the five sample years, against the generator's truth
(the same entity in every year), and independent of the order the years are run in."""

import dagster as dg
import pandas as pd
import pytest

from cluster_pipeline.lib.publish.parquet_store import read_partition, read_table
from cluster_pipeline_tests.companies.test_sample_companies import resolved_with_truth
from cluster_pipeline_tests.runs import YEARS, run_in_order

STATISTICS = ["national_outcomes", "regional_outcomes", "cluster_outcomes", "clusters", "indicator_status"]
ROW = ["source_file", "source_sheet", "source_row"]


@pytest.fixture(scope="session")
def newest_first(five_years, tmp_path_factory):
    """The same landing folder, run one year at a time, newest year first."""
    landing = five_years[YEARS[0]].landing
    output = tmp_path_factory.mktemp("newest_first") / "published"
    with dg.instance_for_test() as instance:
        for year in reversed(YEARS):
            outcome = run_in_order(landing, output, [year], instance)
            assert outcome.years[year].success and not outcome.identity_errors
    return output


def ids_per_entity(five_years) -> pd.DataFrame:
    """Per true organisation and year, the company_id its rows were published under."""
    frames = [resolved_with_truth(run).assign(year=year) for year, run in five_years.items()]
    rows = pd.concat(frames, ignore_index=True)
    return rows.groupby(["entity", "year"])["company_id"].agg(lambda ids: ids.mode().iloc[0]).unstack()


def test_organisations_keep_their_company_id_between_consecutive_years(five_years):
    ids = ids_per_entity(five_years)
    for a, b in zip(YEARS, YEARS[1:]):
        both = ids[[a, b]].dropna()
        kept = float((both[a] == both[b]).mean())
        print(f"{a}-{b}: {kept:.4f} of {len(both)} organisations keep their id")
        assert kept >= 0.995, (a, b, kept)


def test_running_the_years_newest_first_gives_the_same_ids_as_in_order(five_years, newest_first):
    in_order_output = five_years[YEARS[0]].output
    same, total = 0, 0
    for year in YEARS:
        a = read_partition(in_order_output, "memberships", year)[ROW + ["company_id"]]
        b = read_partition(newest_first, "memberships", year)[ROW + ["company_id"]]
        joined = a.merge(b, on=ROW, suffixes=("_in_order", "_newest_first"), validate="one_to_one")
        assert len(joined) == len(a) == len(b)
        same += int((joined["company_id_in_order"] == joined["company_id_newest_first"]).sum())
        total += len(joined)
    print(f"same company_id on {same / total:.5f} of {total} membership rows")
    assert same / total >= 0.999


def test_a_years_figures_are_the_same_whether_or_not_other_years_exist(five_years, newest_first):
    # the newest-first run computed 2018's statistics when 2018 was the only year
    in_order_output = five_years[YEARS[0]].output
    for table in STATISTICS:
        alone = read_partition(newest_first, table, YEARS[-1])
        together = read_partition(in_order_output, table, YEARS[-1])
        pd.testing.assert_frame_equal(alone, together, obj=table)


def test_every_published_company_id_is_a_current_id_in_company_identities(five_years):
    output = five_years[YEARS[0]].output
    identities = read_table(output, "company_identities")
    current = set(identities.loc[identities["company_id"] == identities["current_id"], "company_id"])
    for year in YEARS:
        assert set(read_partition(output, "companies", year)["company_id"]) <= current
        assert set(read_partition(output, "memberships", year)["company_id"]) <= current


def test_company_identities_covers_every_year_an_id_was_published(five_years):
    output = five_years[YEARS[0]].output
    identities = read_table(output, "company_identities").set_index("company_id")
    for year in YEARS:
        published = read_partition(output, "companies", year)["company_id"]
        spans = identities.loc[published]
        assert ((spans["first_year"] <= year) & (spans["last_year"] >= year)).all()


def test_old_ids_of_the_newest_first_run_point_to_published_ids(newest_first):
    # running 2018 alone first published ids that later years' CVRs replaced
    identities = read_table(newest_first, "company_identities")
    former = identities[identities["company_id"] != identities["current_id"]]
    assert len(former) > 0
    assert (
        former["current_id"]
        .isin(identities.loc[identities["company_id"] == identities["current_id"], "company_id"])
        .all()
    )
