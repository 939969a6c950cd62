"""Entity resolution on the national sample (scale 1, every year), materialised through
Dagster, against the generator's truth."""

import pandas as pd

from cluster_pipeline.lib.companies.quality import resolution_quality
from cluster_pipeline.lib.publish.parquet_store import read_partition
from cluster_pipeline.sample_data.generate import FLAGS, load_truth_rows


def resolved_with_truth(run) -> pd.DataFrame:
    memberships = read_partition(run.output, "memberships", run.year)
    memberships["source_sheet"] = memberships["source_sheet"].astype("string")
    truth = load_truth_rows(run.landing, run.year)
    joined = memberships.merge(truth, on=["source_file", "source_sheet", "source_row"], how="outer", indicator=True)
    assert (joined["_merge"] == "both").all(), "every accepted row has a truth row and vice versa"
    return joined


def test_resolution_quality_meets_the_bar_in_every_year(statistics_run):
    joined = resolved_with_truth(statistics_run)
    quality = resolution_quality(joined["company_id"], joined["entity"])
    print(quality)
    assert quality.pairwise_precision >= 0.998
    assert quality.pairwise_recall >= 0.995


def test_distinct_company_count_is_within_a_tenth_of_a_percent(sample_run):
    companies = read_partition(sample_run.output, "companies", sample_run.year)
    found = int((companies["actor_type"] == "company").sum())
    assert abs(found - sample_run.truth["distinct_companies"]) <= 0.001 * sample_run.truth["distinct_companies"]


def test_national_distinct_counts_per_flag_match_the_truth(sample_run):
    companies = read_partition(sample_run.output, "companies", sample_run.year)
    companies = companies[companies["actor_type"] == "company"]
    for flag in FLAGS:
        expected = sample_run.truth["national"][flag]
        assert abs(int(companies[flag].sum()) - expected) <= max(1, 0.001 * expected), flag


def test_company_checks_pass(sample_run):
    checks = {c.check_name: c.passed for c in sample_run.outcome.checks}
    assert checks["every_row_has_one_company"] and checks["no_company_holds_two_cvrs"]
    assert checks["distinct_companies_per_membership"]


def test_every_membership_records_its_match_rule_and_score(sample_run):
    memberships = read_partition(sample_run.output, "memberships", sample_run.year)
    assert set(memberships["match_rule"]) == {"cvr", "name_location", "single"}
    assert memberships["match_score"].between(0, 1).all()
    assert (memberships.loc[memberships["match_rule"] == "cvr", "match_score"] == 1.0).all()
