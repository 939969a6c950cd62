"""The published statistics against what the sample truth implies: the full-scale year and
every year of 2014-2018 at a smaller scale."""

import pandas as pd
import pytest

from cluster_pipeline.lib.publish.parquet_store import read_partition
from cluster_pipeline.sample_data.generate import FLAGS


def table(run, name):
    return read_partition(run.output, name, run.year)


def close(found, expected, tolerance=0.001):
    """Within 0.1%, or two companies: counts pass through matching, and the sample plants
    rows nothing can place (no CVR, form or address, and two companies of that name in the
    town), as real lists have; they cost a region one or two companies at most."""
    return abs(found - expected) <= max(2, tolerance * expected)


def test_national_distinct_counts_per_flag_and_sme_match_the_truth(statistics_run):
    (national,) = table(statistics_run, "national_outcomes").to_dict("records")
    truth = statistics_run.truth
    assert close(national["companies"], truth["distinct_companies"])
    assert close(national["companies_sme"], truth["companies_sme"])
    for flag in FLAGS:
        assert close(national[flag], truth["national"][flag]), flag
        assert close(national[f"{flag}_sme"], truth["national_sme"][flag]), flag
        assert close(national[f"{flag}_sum_of_clusters"], truth["sum_of_clusters"][flag]), flag
        assert national[f"{flag}_sum_of_clusters"] > national[flag]  # many companies are in several clusters


def test_cluster_labels_composition_and_eligibility_match_the_truth(statistics_run):
    clusters = table(statistics_run, "clusters").set_index("cluster_id")
    truth = statistics_run.truth["clusters"]
    assert set(clusters.index) == set(truth)
    for cluster_id, expected in truth.items():
        row = clusters.loc[cluster_id]
        assert (row["label"], bool(row["label_valid"])) == (expected["label"], expected["label_valid"]), cluster_id
        assert bool(row["eligible"]) == expected["eligible"], cluster_id
        assert list(row["eligibility_failures"]) == expected["eligibility_failures"], cluster_id
        assert close(row["companies"], expected["companies"], 0.01)
        assert close(row["committed_companies"], expected["committed_companies"], 0.01)
    assert not clusters["eligible"].all(), "the sample plants clusters that fail the criteria"


def test_cluster_outcomes_cover_every_cluster_with_a_profile(statistics_run):
    outcomes = table(statistics_run, "cluster_outcomes")
    assert sorted(outcomes["cluster_id"]) == sorted(statistics_run.truth["clusters"])
    national = table(statistics_run, "national_outcomes").iloc[0]
    for flag in FLAGS:
        assert outcomes[flag].sum() == national[f"{flag}_sum_of_clusters"]


def test_regional_counts_match_the_truth(statistics_run):
    regional = table(statistics_run, "regional_outcomes").set_index("region_code")
    for region, expected in statistics_run.truth["regions"].items():
        assert close(regional.at[region, "companies"], expected["companies"]), region
        assert close(regional.at[region, "new_products"], expected["new_products"]), region


def test_regions_add_up_to_the_nation(statistics_run):
    regional = table(statistics_run, "regional_outcomes")
    national = table(statistics_run, "national_outcomes").iloc[0]
    assert len(regional) == 5
    assert regional["companies"].sum() == national["companies"]
    assert regional["new_products"].sum() == national["new_products"]


def expected_status(value, target, baseline, year, baseline_year=2014, target_year=2018):
    if value >= target:
        return "met"
    if baseline is not None and year <= target_year:
        line = baseline + (target - baseline) * (year - baseline_year) / (target_year - baseline_year)
        if value >= line:
            return "on_track"
    return "not_met"


def test_indicator_values_and_statuses_follow_from_the_truth(statistics_run):
    indicators = table(statistics_run, "indicator_status").set_index("indicator_id")
    truth, year = statistics_run.truth, statistics_run.year
    expected_values = {
        "innovation": (truth["national"]["new_products"], 2000, 1600),
        "knowledge_partnerships": (truth["national"]["partnership_project"], 2500, 1800),
        "internationalisation": (truth["national"]["international_activity"], 1500, 900),
        "excellence_labels_gold": (truth["valid_labels"]["gold"], 10, None),
        "excellence_labels_silver": (truth["valid_labels"]["silver"], 10, None),
    }
    for indicator, (value, target, baseline) in expected_values.items():
        row = indicators.loc[indicator]
        assert close(row["value"], value), indicator
        assert (row["target"], None if pd.isna(row["baseline"]) else row["baseline"]) == (target, baseline)
        assert row["status"] == expected_status(value, target, baseline, year), indicator
    regional = indicators.loc["regional_distribution"]
    assert regional["value"] == pytest.approx(table(statistics_run, "regional_outcomes")["location_quotient"].min())
