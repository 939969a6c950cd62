"""The impact by intensity of services and by kind of firm, on the national sample: each band's
and each size group's planted effect (from the data-generating process, _truth/register.json)
recovered within its interval, the effect rising with the services used, the naive comparison
beside every group, and a sample without a planted effect finding none in any band.

Many intervals are read at once here (four bands, two sizes, two outcomes, the slopes), so each
is read at the family's level (Bonferroni over FAMILY estimates at 5%): one 95% interval in
twenty misses its truth by design."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.impact.methods import MATCHED, NAIVE, PER_SERVICE, SLOPE
from cluster_pipeline.lib.publish.parquet_store import read_table
from cluster_pipeline.sample_data.register import load_register_truth

ESTIMANDS = [
    ("innovation", "risk_difference_pp"),
    ("innovation", "risk_ratio"),
    ("productivity_growth", "growth_difference_pp"),
]
FAMILY = 20  # the intervals read against a truth below: 4 bands x 3 estimands, 2 slopes, 2 sizes x 3
Z = stats.norm.isf(0.05 / FAMILY / 2)
BANDS = seeds.service_bands()["band"].tolist()


def row(run, outcome, estimand, method, group_by, group) -> pd.Series:
    estimates = read_table(run.output, "impact_estimates")
    found = estimates[
        (estimates["outcome"] == outcome)
        & (estimates["estimand"] == estimand)
        & (estimates["method"] == method)
        & (estimates["group_by"] == group_by)
        & (estimates["group"] == group)
    ]
    assert len(found) == 1, (outcome, estimand, method, group_by, group)
    return found.iloc[0]


def covers(found: pd.Series, truth: float) -> bool:
    """The truth within the family-wise interval (the 95% interval widened from 1.96 to Z errors;
    a ratio's on the log scale, where it is symmetric)."""
    scale = np.log if found["estimand"].endswith("_ratio") else (lambda v: v)
    low, high, estimate = scale(found["ci_low"]), scale(found["ci_high"]), scale(found["estimate"])
    return abs(scale(truth) - estimate) <= Z * (high - low) / (2 * 1.96)


@pytest.mark.parametrize("outcome, estimand", ESTIMANDS)
@pytest.mark.parametrize("band", BANDS)
def test_each_band_of_services_used_recovers_its_planted_effect(sample_run, band, outcome, estimand):
    truth = load_register_truth(sample_run.landing)["by_group"]["services_band"][band][outcome][estimand]
    found = row(sample_run, outcome, estimand, MATCHED, "services_band", band)
    assert covers(found, truth), (found["estimate"], found["ci_low"], found["ci_high"], truth)


@pytest.mark.parametrize("outcome, estimand", [ESTIMANDS[0], ESTIMANDS[2]])
def test_the_effect_rises_with_the_services_used_as_planted(sample_run, outcome, estimand):
    truth = load_register_truth(sample_run.landing)["slope_per_service"][outcome][estimand]
    slope = row(sample_run, outcome, estimand + PER_SERVICE, MATCHED, "services_band", SLOPE)
    assert slope["ci_low"] > 0
    assert covers(slope, truth), (slope["estimate"], slope["ci_low"], slope["ci_high"], truth)


@pytest.mark.parametrize("outcome, estimand", ESTIMANDS)
def test_smes_and_larger_firms_each_recover_their_planted_effect(sample_run, outcome, estimand):
    truths = load_register_truth(sample_run.landing)["by_group"]["size"]
    for size in ("sme", "large"):
        found = row(sample_run, outcome, estimand, MATCHED, "size", size)
        assert covers(found, truths[size][outcome][estimand]), (size, found["estimate"], truths[size])


def test_smes_gain_more_in_innovation_as_planted(sample_run):
    sme = row(sample_run, "innovation", "risk_difference_pp", MATCHED, "size", "sme")
    large = row(sample_run, "innovation", "risk_difference_pp", MATCHED, "size", "large")
    assert sme["estimate"] > large["estimate"]


def test_every_group_has_its_naive_comparison_beside_it(sample_run):
    estimates = read_table(sample_run.output, "impact_estimates")
    grouped = estimates[estimates["group_by"].notna()]
    keys = ["outcome", "estimand", "group_by", "group"]
    matched = grouped[grouped["method"] == MATCHED].set_index(keys).index
    naive = grouped[grouped["method"] == NAIVE].set_index(keys).index
    assert set(matched) == set(naive)
    assert set(grouped["group_by"]) == {"services_band", "member_type", "size", "region"}
    assert not grouped["headline"].any()


def test_member_types_and_regions_are_each_compared(sample_run):
    estimates = read_table(sample_run.output, "impact_estimates")
    assert set(estimates.loc[estimates["group_by"] == "member_type", "group"]) == {"committed", "participant"}
    assert set(estimates.loc[estimates["group_by"] == "region", "group"]) == set(seeds.region_names())


@pytest.mark.parametrize("outcome, estimand", [ESTIMANDS[0], ESTIMANDS[2]])
def test_without_a_planted_effect_no_band_and_no_slope_finds_one(no_effect_run, outcome, estimand):
    for band in BANDS:
        found = row(no_effect_run, outcome, estimand, MATCHED, "services_band", band)
        assert covers(found, 0.0), (band, found["estimate"], found["ci_low"], found["ci_high"])
    slope = row(no_effect_run, outcome, estimand + PER_SERVICE, MATCHED, "services_band", SLOPE)
    assert slope["ci_low"] <= 0 <= slope["ci_high"]


def test_pre_period_productivity_is_unbalanced_before_matching_and_balanced_after(sample_run):
    balance = read_table(sample_run.output, "impact_balance")
    productivity = balance[balance["covariate"] == "log_productivity_pre"]
    assert (productivity["smd_before"].abs() > 0.3).all()
    assert (productivity["smd_after"].abs() < seeds.thresholds()["max_balance_smd"]).all()
