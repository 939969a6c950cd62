"""Confidential at firm level: published impact tables hold aggregates resting on at least
min_firms_per_cell firms in each group, and nothing that identifies a firm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cluster_pipeline.lib import seeds, tables
from cluster_pipeline.lib.impact import diagnostics
from cluster_pipeline.lib.impact.disclosure import (
    disclosure_problems,
    dominated,
    min_firms,
    suppress,
    suppress_small_counts,
)
from cluster_pipeline.lib.publish.parquet_store import read_table


def estimates(n_firms_treated: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "outcome": ["innovation"],
            "estimand": ["risk_difference_pp"],
            "method": ["matched"],
            "estimate": [12.0],
            "ci_low": [4.0],
            "ci_high": [20.0],
            "p_value": [0.01],
            "n_firms_treated": [n_firms_treated],
            "n_firms_control": [300],
        }
    )


def test_the_rule_is_five_firms():
    assert min_firms() == 5


def test_a_cell_of_four_firms_is_suppressed_and_marked():
    shown = suppress("impact_estimates", estimates(4))
    assert shown["suppressed"].tolist() == [True]
    assert shown[["estimate", "ci_low", "ci_high", "p_value"]].isna().all(axis=None)


def test_a_cell_of_five_firms_is_shown():
    shown = suppress("impact_estimates", estimates(5))
    assert shown["suppressed"].tolist() == [False] and shown["estimate"].tolist() == [12.0]


def test_an_unsuppressed_cell_of_four_firms_is_a_disclosure_problem():
    assert disclosure_problems({"impact_estimates": estimates(4).assign(suppressed=False)})
    assert not disclosure_problems({"impact_estimates": suppress("impact_estimates", estimates(4))})


def test_an_identifier_column_is_a_disclosure_problem():
    problems = disclosure_problems({"impact_coverage": pd.DataFrame({"year": [2016], "cvr": ["12345674"]})})
    assert any("identifier column 'cvr'" in p for p in problems)


def test_text_that_looks_like_a_cvr_or_a_company_id_is_a_disclosure_problem():
    for text in ("12345674", "CVR12345674", "N0A1B2C3D4E5"):
        frame = pd.DataFrame({"detail": [f"firm {text} was dropped"]})
        assert disclosure_problems({"impact_estimates_detail": frame}), text


def test_a_small_count_of_firms_is_suppressed():
    coverage = pd.DataFrame({"year": [2016, 2017], "linked_to_register": [3, 900]})
    shown = suppress_small_counts(coverage, ["linked_to_register"])
    assert shown["suppressed"].tolist() == [True, False]
    assert shown["linked_to_register"].isna().tolist() == [True, False]


def test_a_link_rate_cannot_give_back_a_suppressed_link_count():
    # the attacker knows companies_with_cvr from the published companies table: rate x count = linked
    coverage = pd.DataFrame(
        {"year": [2019], "companies_with_cvr": [40], "linked_to_register": [3], "link_rate": [3 / 40]}
    )
    out = suppress_small_counts(coverage, ["linked_to_register"], ("link_rate",))
    assert out.loc[0, "suppressed"] and pd.isna(out.loc[0, "linked_to_register"]) and pd.isna(out.loc[0, "link_rate"])


def test_the_published_impact_and_register_tables_pass_the_rule(sample_run):
    names = [*tables.MEASUREMENT_TABLES, *tables.REGISTER_TABLES]
    published = {name: read_table(sample_run.output, name) for name in names}
    assert all(frame is not None and len(frame) for frame in published.values())
    assert disclosure_problems(published) == []


# --- dominance and secondary suppression ---------------------------------------------------------


def comparison_of(fte_treated: list[float], fte_control: list[float]):
    """A comparison whose participants and comparison firms have these sizes (one firm-year each)."""
    from cluster_pipeline.lib.impact.estimates import Comparison

    fte = fte_treated + fte_control
    sample = pd.DataFrame(
        {
            "cvr": [f"{i:08d}" for i in range(len(fte))],
            "year": 2017,
            "treated": [True] * len(fte_treated) + [False] * len(fte_control),
            "fte": fte,
            "log_fte": np.log1p(fte),
            "age": 10.0,
            "log_productivity_pre": 6.0,
            "region": "1084",
            "division": "62",
            "y": 0.0,
            "weight": 1.0,
        }
    )
    return Comparison("productivity_growth", "naive", sample), Comparison("productivity_growth", "matched", sample)


def test_a_mean_of_employment_that_two_firms_dominate_is_suppressed_for_dominance():
    balance = diagnostics.balance("innovation", *comparison_of([2000, 1500, 5, 5, 5, 5, 5], [10] * 50))

    shown = suppress("impact_balance", balance).set_index("covariate")

    assert shown.at["log_fte", "suppression_reason"] == "dominance"
    assert pd.isna(shown.at["log_fte", "mean_treated"])
    assert "dominated" not in shown.columns  # the rule's working is not published


def test_a_mean_no_firm_dominates_is_shown():
    balance = diagnostics.balance("innovation", *comparison_of([20, 15, 12, 10, 9, 8, 7], [10] * 50))

    shown = suppress("impact_balance", balance).set_index("covariate")

    assert not shown.at["log_fte", "suppressed"] and pd.isna(shown.at["log_fte", "suppression_reason"])


def test_the_dominance_rule_is_the_seeds_n_and_k():
    limits = seeds.thresholds()
    n, k = int(limits["dominance_top_firms"]), limits["dominance_max_share"]
    just_over = pd.Series([k / n * 100 + 0.01] * n + [100 - k * 100 - 0.01 * n])  # the top n hold just over k

    assert dominated(just_over)
    assert not dominated(pd.Series([k / n * 100 - 0.01] * n + [100 - k * 100 + 0.01 * n]))


def grouped_estimates(n_treated: dict[str, int], estimate: dict[str, float]) -> pd.DataFrame:
    """The row for every participant (the margin) and one row per size group, as impact_estimates."""
    total = sum(n_treated.values())
    margin = sum(n_treated[g] * estimate[g] for g in n_treated) / total
    rows = [{"group_by": None, "group": None, "n_treated": total, "estimate": margin, "n_firms_treated": total}]
    rows += [
        {"group_by": "region", "group": g, "n_treated": n, "estimate": estimate[g], "n_firms_treated": n}
        for g, n in n_treated.items()
    ]
    frame = pd.DataFrame(rows).assign(
        outcome="productivity_growth", estimand="growth_difference_pp", method="matched", n_firms_control=500
    )
    return frame.assign(ci_low=frame["estimate"] - 1, ci_high=frame["estimate"] + 1, p_value=0.01)


SIZES = {"1081": 3, "1082": 40, "1083": 90, "1084": 400}
EFFECTS = {"1081": 9.0, "1082": 2.0, "1083": 3.0, "1084": 2.5}


def attackers_interval(published: pd.DataFrame, group: str, bounds=(-100.0, 100.0)) -> tuple[float, float]:
    """What subtracting the published groups from the margin tells about one suppressed group's
    estimate: the margin is the groups' estimates weighted by their participants (a linear model of
    how the overall effect relates to the groups'), every other suppressed group within `bounds`."""
    margin = published[published["group_by"].isna()].iloc[0]
    groups = published[published["group_by"].notna()]
    shown, hidden = groups[~groups["suppressed"]], groups[groups["suppressed"]]
    rest = margin["n_treated"] * margin["estimate"] - (shown["n_treated"] * shown["estimate"]).sum()
    me = hidden[hidden["group"] == group].iloc[0]
    others = hidden[hidden["group"] != group]["n_treated"].sum()
    low = (rest - others * bounds[1]) / me["n_treated"]
    high = (rest - others * bounds[0]) / me["n_treated"]
    return max(low, bounds[0]), min(high, bounds[1])


def test_a_group_of_too_few_firms_takes_the_smallest_other_group_with_it():
    shown = suppress("impact_estimates", grouped_estimates(SIZES, EFFECTS)).set_index("group")

    assert shown.at["1081", "suppression_reason"] == "min_firms"
    assert shown.at["1082", "suppression_reason"] == "secondary"
    assert not shown.loc[["1083", "1084"], "suppressed"].any()


def test_without_secondary_suppression_the_attacker_gets_the_small_group_back():
    primary_only = grouped_estimates(SIZES, EFFECTS)
    primary_only["suppressed"] = primary_only["group"] == "1081"

    low, high = attackers_interval(primary_only, "1081")

    assert low == pytest.approx(EFFECTS["1081"]) and high == pytest.approx(EFFECTS["1081"])
    assert disclosure_problems({"impact_estimates": primary_only.assign(estimate=primary_only["estimate"])})


def test_the_attacker_learns_almost_nothing_of_a_group_of_too_few_firms_and_no_suppressed_value_exactly():
    published = suppress("impact_estimates", grouped_estimates(SIZES, EFFECTS))

    for row in published[published["suppressed"]].itertuples():
        low, high = attackers_interval(published, row.group)
        if row.suppression_reason == "min_firms":  # the confidential one: of the 200 points an effect could take
            assert high - low > 100, (row.group, low, high)
        else:  # suppressed to protect it: not itself confidential, but not given back either
            assert high - low > 1, (row.group, low, high)
    assert not disclosure_problems({"impact_estimates": published})


def test_the_slope_over_the_bands_is_suppressed_with_a_band_suppressed_to_protect_another():
    bands = grouped_estimates({"0": 3, "1-2": 40, "3-5": 90}, {"0": 1.0, "1-2": 2.0, "3-5": 3.5})
    bands["group_by"] = bands["group_by"].where(bands["group_by"].isna(), "services_band")
    slope = bands.iloc[[1]].assign(group="slope", estimand="growth_difference_pp_per_service", n_firms_treated=133)

    shown = suppress("impact_estimates", pd.concat([bands, slope], ignore_index=True)).set_index("group")

    assert shown.at["1-2", "suppression_reason"] == "secondary"
    assert shown.at["slope", "suppression_reason"] == "secondary"
