"""The impact measurement on the national sample: the headline estimates recover the effects
planted in the register's data-generating process (truth from the model's probabilities, not
from any estimator), the naive comparison is further off, and a sample without a planted
effect finds none."""

from __future__ import annotations

import pandas as pd
import pytest

from cluster_pipeline.lib.impact.methods import CALLAWAY_SANTANNA, FIXED_EFFECTS
from cluster_pipeline.lib.publish.parquet_store import read_table
from cluster_pipeline.sample_data.register import load_register_truth

TOLERANCE = {
    ("innovation", "risk_difference_pp"): 3.0,
    ("innovation", "risk_ratio"): 0.15,
    ("productivity_growth", "growth_difference_pp"): 0.5,
}


def estimate(run, outcome: str, estimand: str, method: str) -> pd.Series:
    estimates = read_table(run.output, "impact_estimates")
    found = estimates[
        (estimates["outcome"] == outcome)
        & (estimates["estimand"] == estimand)
        & (estimates["method"] == method)
        & estimates["group_by"].isna()  # every participant (the groups are test_impact_by_group's)
    ]
    assert len(found) == 1
    return found.iloc[0]


def planted(run, outcome: str, estimand: str) -> float:
    return load_register_truth(run.landing)[outcome][estimand]


@pytest.mark.parametrize("outcome, estimand", list(TOLERANCE))
def test_the_headline_estimate_lies_within_tolerance_of_the_planted_effect(sample_run, outcome, estimand):
    headline = estimate(sample_run, outcome, estimand, "matched")
    assert headline["headline"]
    assert abs(headline["estimate"] - planted(sample_run, outcome, estimand)) <= TOLERANCE[(outcome, estimand)]


@pytest.mark.parametrize("outcome, estimand", list(TOLERANCE))
def test_the_naive_comparison_is_published_and_further_from_the_truth(sample_run, outcome, estimand):
    truth = planted(sample_run, outcome, estimand)
    naive, matched = (
        estimate(sample_run, outcome, estimand, "naive"),
        estimate(sample_run, outcome, estimand, "matched"),
    )
    assert not naive["headline"]
    assert abs(naive["estimate"] - truth) > abs(matched["estimate"] - truth)


def test_exactly_one_headline_row_per_outcome_and_estimand(sample_run):
    estimates = read_table(sample_run.output, "impact_estimates")
    headlines = estimates[estimates["headline"]].groupby(["outcome", "estimand"]).size()
    assert set(headlines.index) == {
        ("innovation", "risk_difference_pp"),
        ("innovation", "risk_ratio"),
        ("innovation", "odds_ratio"),
        ("productivity_growth", "growth_difference_pp"),
    }
    assert (headlines == 1).all()


def test_every_interval_holds_its_estimate(sample_run):
    estimates = read_table(sample_run.output, "impact_estimates")
    assert ((estimates["ci_low"] < estimates["estimate"]) & (estimates["estimate"] < estimates["ci_high"])).all()


@pytest.mark.parametrize("estimand, no_effect", [("risk_difference_pp", 0.0), ("risk_ratio", 1.0), ("odds_ratio", 1.0)])
def test_without_a_planted_effect_the_innovation_interval_covers_no_effect(no_effect_run, estimand, no_effect):
    assert planted(no_effect_run, "innovation", estimand) == pytest.approx(no_effect)
    found = estimate(no_effect_run, "innovation", estimand, "matched")
    assert found["ci_low"] <= no_effect <= found["ci_high"]


def test_without_a_planted_effect_the_growth_interval_covers_zero(no_effect_run):
    found = estimate(no_effect_run, "productivity_growth", "growth_difference_pp", "matched")
    assert found["ci_low"] <= 0 <= found["ci_high"]


def test_without_a_planted_effect_the_naive_comparison_still_finds_one(no_effect_run):
    """Selection alone: cluster firms are larger and in faster-growing industries."""
    assert estimate(no_effect_run, "innovation", "risk_difference_pp", "naive")["ci_low"] > 0
    assert estimate(no_effect_run, "productivity_growth", "growth_difference_pp", "naive")["ci_low"] > 0


def test_matching_balances_every_covariate(sample_run):
    balance = read_table(sample_run.output, "impact_balance")
    assert (balance["smd_after"].abs() < 0.1).all()
    assert (balance.loc[balance["covariate"] == "log_fte", "smd_before"].abs() > 0.3).all()


def test_the_event_study_shows_no_pre_trend_and_the_effect_after_joining(sample_run):
    events = read_table(sample_run.output, "impact_event_study")
    events = events[events["method"] == FIXED_EFFECTS].set_index("event_time")
    assert events["pre_trend_p_value"].iloc[0] > 0.05
    after = events.loc[events.index >= 0]
    assert (after["ci_low"] > 0).all()


def test_the_impact_checks_pass(sample_run):
    checks = {c.check_name: c.passed for c in sample_run.run.impact_checks}
    assert checks == {
        "aggregates_only_and_every_cell_large_enough": True,
        "placebo_finds_no_effect": True,
        "balance_after_matching": True,
        "no_pre_trend_before_joining": True,
        "every_register_row_accounted_for": True,
    }


def test_the_link_rate_counts_members_found_in_the_register(sample_run):
    coverage = read_table(sample_run.output, "impact_coverage")
    assert len(coverage) == 5
    assert (coverage["linked_to_register"] <= coverage["companies_with_cvr"]).all()
    assert (coverage["companies_with_cvr"] < coverage["companies"]).all()  # some members never give a CVR
    assert (coverage["link_rate"] > 0.99).all()


def test_the_report_leads_the_impact_section_with_the_headline_in_words(sample_run):
    report = (sample_run.output / "reports" / f"{sample_run.year}.html").read_text(encoding="utf-8")
    headline = estimate(sample_run, "innovation", "risk_difference_pp", "matched")
    naive = estimate(sample_run, "innovation", "risk_difference_pp", "naive")
    assert "Do cluster firms do better than similar firms?" in report
    assert (
        f"were {headline['estimate']:.1f} percentage points more likely to innovate than similar firms "
        f"(95% CI {headline['ci_low']:.1f} to {headline['ci_high']:.1f}); a plain comparison with every other "
        f"firm would have said {naive['estimate']:.1f}"
    ) in report


def test_one_reporting_year_is_measured_without_an_event_study(sample_run):
    """With one year published nobody is seen joining: the estimates stand, the event study is
    empty and its pre-trend test is not evaluated (not a crash)."""
    from cluster_pipeline.defs.impact.assets import FIRMS
    from cluster_pipeline.defs.resources import OutputFolder
    from cluster_pipeline.lib.impact.measurement import measure_impact

    output = OutputFolder(path=str(sample_run.output))
    measured = measure_impact(output.read(FIRMS), {2016: output.read("companies", 2016)})
    assert measured.tables["impact_event_study"].empty
    assert pd.isna(measured.pre_trend_p_value)
    headlines = measured.tables["impact_estimates"].query("headline")
    assert len(headlines) == 4 and headlines["estimate"].notna().all()


def test_the_measurement_lets_the_register_firm_years_go_once_its_panel_is_built(sample_run):
    """Handed over without a reference kept (as the impact asset does), the firm-years are freed
    before the estimates run: at national scale they are 0.6 GB of the step's peak."""
    import weakref

    from cluster_pipeline.defs.impact.assets import FIRMS
    from cluster_pipeline.defs.resources import OutputFolder
    from cluster_pipeline.lib.impact.measurement import measure_impact

    output = OutputFolder(path=str(sample_run.output))
    handed = [output.read(FIRMS)]
    firms = weakref.ref(handed[0])
    held_after: dict[str, bool] = {}
    companies = {2016: output.read("companies", 2016)}
    measure_impact(handed.pop(), companies, None, lambda step: held_after.setdefault(step, firms() is not None))
    assert held_after["participants and coverage"]
    assert not held_after["panel and samples"] and not any(held_after[s] for s in ("estimates", "balance"))


def test_a_year_whose_link_counts_are_suppressed_is_reported_without_them():
    from cluster_pipeline.lib.publish.impact_section import link_sentence

    suppressed = pd.Series(
        {"companies": 12, "companies_with_cvr": None, "linked_to_register": None, "link_rate": None, "suppressed": True}
    )
    sentence = link_sentence(2019, suppressed)
    assert "fewer than 5 member companies were found" in sentence and "not shown" in sentence


def test_every_years_report_shows_the_same_measurement_with_its_own_link_to_the_register(sample_run):
    """The measurement spans all years, so the section is read and drawn once per run; only the
    sentence on how many of the year's members were found in the register is the year's."""
    from cluster_pipeline.lib.publish.impact_section import impact_section

    section = impact_section(sample_run.output)
    first, last = section.of_year(2014), section.of_year(2018)
    assert first["link"].startswith("In 2014, ") and last["link"].startswith("In 2018, ")
    assert {k: v for k, v in first.items() if k != "link"} == {k: v for k, v in last.items() if k != "link"}
    report = (sample_run.output / "reports" / "2018.html").read_text(encoding="utf-8")
    assert last["link"].split(" (")[0] in report and last["balance_chart"][:200] in report


def test_the_staggered_estimate_recovers_the_planted_effect_of_joining(sample_run):
    """Firms join in different years: the group-time effects against never-participants, averaged
    from the year of joining on, cover the growth effect planted on the joiners in those years."""
    truth = load_register_truth(sample_run.landing)["staggered"]["productivity_growth"]["growth_difference_pp"]
    found = estimate(sample_run, "productivity_growth", "growth_difference_pp", CALLAWAY_SANTANNA)
    assert found["ci_low"] <= truth <= found["ci_high"], (found["estimate"], found["ci_low"], found["ci_high"], truth)
    assert not found["headline"]


def test_the_staggered_estimate_is_published_by_years_since_joining_with_its_pre_trend_test(sample_run):
    events = read_table(sample_run.output, "impact_event_study")
    cohorts = events[events["method"] == CALLAWAY_SANTANNA].set_index("event_time")
    assert cohorts.index.min() < -1 and cohorts.index.max() >= 0 and -1 not in cohorts.index  # -1 is the base
    assert (cohorts.loc[cohorts.index >= 0, "ci_low"] > 0).all()
    assert cohorts["pre_trend_p_value"].nunique() == 1 and cohorts["pre_trend_p_value"].iloc[0] > 0.05


def test_without_a_planted_effect_the_staggered_estimate_covers_zero(no_effect_run):
    found = estimate(no_effect_run, "productivity_growth", "growth_difference_pp", CALLAWAY_SANTANNA)
    assert found["ci_low"] <= 0 <= found["ci_high"]


def test_firms_are_matched_within_the_size_bands_of_the_seed():
    from cluster_pipeline.lib import seeds

    fte = pd.Series([0.0, 1.9, 2.0, 49.5, 50.0, 999.0, 1000.0, 25000.0])
    assert seeds.size_band_of(fte).tolist() == [0, 0, 1, 4, 5, 7, 8, 8]
    assert seeds.size_bands()["band"].iloc[[0, -1]].tolist() == ["0-1", "1000+"]


def firm_years_of_firms_on_both_sides(seed: int = 7) -> pd.DataFrame:
    """Firms seen in several years, some of them on both sides (joining or leaving), with
    unequal weights and a binary outcome: what a comparison holds."""
    import numpy as np

    rng = np.random.default_rng(seed)
    firms, years = 400, 6
    cvr = np.repeat(np.arange(10_000_000, 10_000_000 + firms), years)
    year = np.tile(np.arange(2013, 2013 + years), firms)
    joins = np.repeat(rng.integers(2012, 2022, firms), years)
    treated = year >= joins
    firm_level = np.repeat(rng.normal(0, 1, firms), years)  # what makes a firm's years alike
    y = (rng.random(len(cvr)) < 1 / (1 + np.exp(-(-0.5 + 0.4 * treated + firm_level)))).astype("float64")
    return pd.DataFrame({"cvr": cvr, "year": year, "treated": treated, "y": y, "weight": rng.uniform(0.5, 3, len(cvr))})


@pytest.mark.parametrize("family", [None, "log", "logit"])
def test_a_regression_on_firm_cells_gives_the_firm_years_estimate_and_clustered_error(family):
    import numpy as np
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.regression.linear_model import WLS

    from cluster_pipeline.lib.impact.estimates import Comparison, _fit

    sample = firm_years_of_firms_on_both_sides()
    x = np.column_stack([np.ones(len(sample)), sample["treated"].to_numpy(dtype="float64")])
    cluster = {"cov_type": "cluster", "cov_kwds": {"groups": pd.factorize(sample["cvr"])[0]}}
    if family is None:
        firm_years = WLS(sample["y"], x, weights=sample["weight"]).fit(**cluster)
    else:
        chosen = families.Binomial() if family == "logit" else families.Poisson()
        firm_years = GLM(sample["y"], x, family=chosen, var_weights=sample["weight"]).fit(**cluster)
    comparison = Comparison("innovation", "naive", sample)
    on_cells = _fit(comparison, family)

    assert len(comparison.cells) < len(sample) / 3  # the point: far fewer rows
    assert on_cells.params == pytest.approx(np.asarray(firm_years.params), rel=1e-7, abs=1e-9)
    # the same firm-clustered error but for statsmodels' (N - 1) / (N - 2), N rows fitted
    assert on_cells.bse == pytest.approx(np.asarray(firm_years.bse), rel=2e-3)


def test_the_published_counts_are_the_firm_years_and_firms_behind_a_comparison():
    from cluster_pipeline.lib.impact.estimates import Comparison, growth_rows

    sample = firm_years_of_firms_on_both_sides()
    row = growth_rows(Comparison("productivity_growth", "naive", sample))[0]

    treated = sample["treated"]
    assert (row["n_treated"], row["n_control"]) == (treated.sum(), (~treated).sum())
    assert row["n_firms_treated"] == sample.loc[treated, "cvr"].nunique()
    assert row["n_firms_control"] == sample.loc[~treated, "cvr"].nunique()
    assert row["years"] == "2013-2018"


def test_the_slope_over_the_bands_is_the_stacked_regressions_with_its_firm_clustered_error():
    """Written out from each band's influence, the slope and its error are what one regression of every
    band's cells stacked (an intercept and an effect per band, errors clustered on firms) gives."""
    import numpy as np
    from statsmodels.regression.linear_model import WLS

    from cluster_pipeline.lib.impact.estimates import Comparison, clustered_on_firms, intensity_slope

    sample = firm_years_of_firms_on_both_sides()
    rng = np.random.default_rng(3)
    band_of_firm = pd.Series(rng.integers(0, 3, sample["cvr"].nunique()), index=sample["cvr"].unique())
    sample["band"] = sample["cvr"].map(band_of_firm).where(sample["treated"])
    sample["services"] = (10 + 20 * sample["band"] + rng.integers(0, 10, len(sample))).where(sample["treated"])
    bands = {}
    for band in (0, 1, 2):  # every band against every comparison firm-year: they serve all three
        part = sample[(sample["band"] == band) | ~sample["treated"]]
        bands[f"band {band}"] = Comparison("productivity_growth", "naive", part, group_by="services_band")
    row = intensity_slope(bands, "growth_difference_pp")

    stack = pd.concat([c.cells.assign(stack=i) for i, c in enumerate(bands.values())], ignore_index=True)
    dummies = np.eye(3)[stack["stack"].to_numpy()]
    design = np.hstack([dummies, dummies * stack["treated"].to_numpy(dtype="float64")[:, None]])
    fit = WLS(stack["y"], design, weights=stack["weight"]).fit(**clustered_on_firms(stack["cvr"]))
    served = [c.sample[c.sample["treated"]] for c in bands.values()]
    x = np.array([np.average(s["services"], weights=s["weight"]) for s in served])
    contrast = np.concatenate([np.zeros(3), (x - x.mean()) / np.sum((x - x.mean()) ** 2)])
    slope, se = contrast @ np.asarray(fit.params), np.sqrt(contrast @ np.asarray(fit.cov_params()) @ contrast)

    assert row["estimate"] == pytest.approx(100 * slope, rel=1e-9)
    assert row["ci_high"] - row["ci_low"] == pytest.approx(2 * 1.96 * 100 * se, rel=1e-9)
