"""The productivity growth designs on a register as real ones are: a year's productivity holds a
transitory part, cluster firms are more productive in level, and industries grow on trends of
their own with cluster firms in the faster ones. The placebo finds nothing, no growth estimate
finds an effect where none is planted, and the designs the pipeline no longer uses (matching
growth on the level it starts from; staggered adoption without industry and size) fail on the
same data, so these tests can fail."""

from __future__ import annotations

import pandas as pd
import pytest

from cluster_pipeline.lib.impact import estimates, staggered
from cluster_pipeline.lib.impact.methods import CALLAWAY_SANTANNA, MATCHED, NAIVE, PLACEBO, SLOPE
from cluster_pipeline.lib.impact.panel import Panel, build_panel, participation
from cluster_pipeline.lib.publish.parquet_store import read_table
from cluster_pipeline.sample_data.register import load_register_truth

# the growth cell before this design: the base year's productivity quintile in it
LEVEL_MATCHED_CELL = ["year", "division", "size_band", "productivity_band"]
FAMILY_LEVEL = 0.05


def growth_rows(run) -> pd.DataFrame:
    table = read_table(run.output, "impact_estimates")
    return table[table["outcome"] == "productivity_growth"]


def only(rows: pd.DataFrame) -> pd.Series:
    assert len(rows) == 1
    return rows.iloc[0]


def panel_of(run) -> Panel:
    """The measurement's panel, from the run's accepted register rows and published companies."""
    from cluster_pipeline.defs.impact.assets import FIRMS
    from cluster_pipeline.defs.resources import OutputFolder

    output = OutputFolder(path=str(run.output))
    companies = {year: output.read("companies", year) for year in output.years_with("companies")}
    return build_panel(output.read(FIRMS), participation(companies), sorted(companies))


def interval(comparison: estimates.Comparison) -> tuple[float, float]:
    row = only(pd.DataFrame(estimates.growth_rows(comparison)))
    return row["ci_low"], row["ci_high"]


@pytest.mark.parametrize("run", ["sample_run", "no_effect_run"])
def test_the_placebo_before_anyone_took_part_finds_no_effect(request, run):
    found = request.getfixturevalue(run)
    placebo = only(growth_rows(found)[growth_rows(found)["method"] == PLACEBO])
    assert placebo["ci_low"] <= 0 <= placebo["ci_high"], (placebo["estimate"], placebo["ci_low"], placebo["ci_high"])
    first_reporting_year = read_table(found.output, "impact_coverage")["year"].min()
    assert int(placebo["years"].split("-")[1]) < first_reporting_year  # only the register's years before
    assert not placebo["headline"] and placebo["n_firms_treated"] > 1000


def test_without_a_planted_effect_no_growth_estimate_finds_one_at_the_familys_level(no_effect_run):
    """Headline, every band, group and slope, the staggered estimate and the placebo: each one's
    p-value at least 5% over the family's size (Bonferroni), one 95% interval in twenty missing by design."""
    family = growth_rows(no_effect_run)
    family = family[(family["method"] != NAIVE) & ~family["suppressed"]]
    assert {MATCHED, PLACEBO, CALLAWAY_SANTANNA} <= set(family["method"])
    assert {"services_band", "member_type", "size", "region"} <= set(family["group_by"].dropna())
    assert SLOPE in set(family["group"].dropna())
    low_p = family[family["p_value"] < FAMILY_LEVEL / len(family)]
    assert low_p.empty, low_p[["method", "group_by", "group", "estimate", "ci_low", "ci_high"]]


def test_matching_growth_on_the_level_it_starts_from_finds_an_effect_where_there_is_none(no_effect_run):
    """Regression to the mean: the comparison firms of a productivity band are there more often by a
    good year, and fall back. The design's own placebo would have said so."""
    panel = panel_of(no_effect_run)
    level_matched = estimates.matched(estimates.growth_sample(panel, LEVEL_MATCHED_CELL), "productivity_growth")
    assert interval(level_matched)[0] > 0
    placebo = estimates.matched(estimates.placebo_sample(panel, LEVEL_MATCHED_CELL), "productivity_growth", PLACEBO)
    assert interval(placebo)[0] > 0


def test_the_published_growth_design_leaves_the_starting_level_unmatched(sample_run):
    balance = read_table(sample_run.output, "impact_balance")
    growth = set(balance.loc[balance["design"] == "growth_matched", "covariate"])
    assert "log_productivity_pre" not in growth and "log_fte_before" in growth
    assert "log_productivity_pre" in set(balance.loc[balance["design"] == "innovation_matched", "covariate"])


def test_staggered_adoption_without_industry_and_size_shows_a_pre_trend_and_misses_the_planted_effect(sample_run):
    """Industries accelerate differently and cluster firms sit in the faster ones: against every
    never-participant the joiners' growth already rises before joining; within industry and size it does not."""
    truth = load_register_truth(sample_run.landing)["staggered"]["productivity_growth"]["growth_difference_pp"]
    unconditional, events = staggered.staggered_adoption(panel_of(sample_run), compared_within=[])
    conditional = only(growth_rows(sample_run)[growth_rows(sample_run)["method"] == CALLAWAY_SANTANNA])
    assert events["pre_trend_p_value"].iloc[0] < 0.05
    assert abs(unconditional["estimate"] - truth) > abs(conditional["estimate"] - truth)


def test_the_report_says_what_the_placebo_found_beside_the_growth_headline(sample_run):
    report = (sample_run.output / "reports" / f"{sample_run.year}.html").read_text(encoding="utf-8")
    placebo = only(growth_rows(sample_run)[growth_rows(sample_run)["method"] == PLACEBO])
    low, high = placebo["ci_low"], placebo["ci_high"]
    said = f"finds {placebo['estimate']:.2f} percentage points (95% CI {low:.2f} to {high:.2f})"
    assert said in report and "no effect, as it should" in report
    assert "not the productivity the growth starts from" in report  # the method says why the designs differ


def placebo_row(low: float, high: float) -> pd.Series:
    return pd.Series(
        {"method": PLACEBO, "estimate": (low + high) / 2, "ci_low": low, "ci_high": high, "years": "2011-2013"}
        | {"suppressed": False}
    )


def test_a_placebo_that_finds_an_effect_is_named_as_failed_in_the_report():
    from cluster_pipeline.lib.publish.impact_section import placebo_sentence

    sentence = placebo_sentence(placebo_row(0.4, 1.2))
    assert sentence.startswith("Placebo failed") and "an effect where there can be none" in sentence


def test_the_placebo_check_fails_when_the_placebo_interval_excludes_zero():
    from cluster_pipeline.defs.impact.assets import _placebo_check

    assert not _placebo_check(pd.DataFrame([placebo_row(0.4, 1.2)])).passed
    assert _placebo_check(pd.DataFrame([placebo_row(-0.2, 0.3)])).passed
