"""Confidential at firm level: published impact tables hold aggregates resting on at least
min_firms_per_cell firms in each group, and nothing that identifies a firm."""

from __future__ import annotations

import pandas as pd

from cluster_pipeline.lib import tables
from cluster_pipeline.lib.impact.disclosure import disclosure_problems, min_firms, suppress, suppress_small_counts
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
