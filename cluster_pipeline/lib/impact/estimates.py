"""Do cluster firms do better than similar firms? The effect on the treated
(../shared/REGISTER_EXTRACT.md), beside the naive comparison that selection alone would give.

Design `matched`: coarsened exact matching within cells of year, NACE division and size band
(fte), the confounders of the outcomes. A participant's firm-year is compared with the
non-participants' firm-years of its cell, reweighted so that each cell's controls carry the
cell's treated weight (the effect on the treated); participants in a cell without any
control are off common support and counted. Innovation is weighted to the population by the
survey weights. Standard errors cluster on firms (statsmodels, imported lazily: ~1 s).
Design `naive`: participants against every other firm-year of the same years.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cluster_pipeline.lib.impact.disclosure import min_firms
from cluster_pipeline.lib.impact.methods import MATCHED, NAIVE
from cluster_pipeline.lib.impact.panel import Panel

MATCH_CELL = ["year", "division", "size_band"]
INNOVATION_ESTIMANDS = ["risk_difference_pp", "risk_ratio", "odds_ratio"]


@dataclass
class Comparison:
    """One outcome's firm-years under one design: the outcome, who is treated, and the weights."""

    outcome: str
    method: str
    sample: pd.DataFrame  # cvr, year, treated, y, weight (> 0 for every row used)
    off_support: int = 0  # participants' firm-years without a comparable firm-year


def innovation_sample(panel: Panel) -> pd.DataFrame:
    fy = panel.firm_years
    sampled = fy[
        fy["reporting_year"] & (fy["innovation_sampled"] == 1) & fy["innovator"].notna() & (fy["survey_weight"] > 0)
    ]
    return sampled.assign(y=sampled["innovator"].astype("float64"), weight=sampled["survey_weight"])


def growth_sample(panel: Panel) -> pd.DataFrame:
    fy = panel.firm_years
    usable = fy[fy["reporting_year"] & fy["growth"].notna()]
    return usable.assign(y=usable["growth"], weight=1.0)


def matched(sample: pd.DataFrame, outcome: str) -> Comparison:
    """Controls reweighted to the treated weight of their cell; treated without controls dropped."""
    cell = sample.groupby(MATCH_CELL, sort=False).ngroup()
    treated = sample["treated"].to_numpy()
    w = sample["weight"].to_numpy()
    treated_weight = pd.Series(np.where(treated, w, 0.0)).groupby(cell.to_numpy()).transform("sum").to_numpy()
    control_weight = pd.Series(np.where(treated, 0.0, w)).groupby(cell.to_numpy()).transform("sum").to_numpy()
    on_support = (treated_weight > 0) & (control_weight > 0)
    weight = np.where(
        treated, w, w * np.divide(treated_weight, control_weight, out=np.zeros_like(w), where=control_weight > 0)
    )
    kept = sample.assign(weight=np.where(on_support, weight, 0.0))
    return Comparison(outcome, MATCHED, kept[kept["weight"] > 0], int((treated & ~on_support).sum()))


def naive(sample: pd.DataFrame, outcome: str) -> Comparison:
    return Comparison(outcome, NAIVE, sample)


def _fit(comparison: Comparison, family: str | None):
    """y on (1, treated), weighted, clustered on firms: WLS, or a GLM (binomial logit, Poisson log)."""
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.regression.linear_model import WLS

    s = comparison.sample
    x = np.column_stack([np.ones(len(s)), s["treated"].to_numpy(dtype="float64")])
    groups = pd.factorize(s["cvr"])[0]
    cluster = {"cov_type": "cluster", "cov_kwds": {"groups": groups}}
    if family is None:
        return WLS(s["y"].to_numpy(), x, weights=s["weight"].to_numpy()).fit(**cluster)
    model_family = families.Binomial() if family == "logit" else families.Poisson()
    model = GLM(s["y"].to_numpy(), x, family=model_family, var_weights=s["weight"].to_numpy())
    with warnings.catch_warnings():
        # statsmodels warns that its cluster sandwich with var_weights lacks the small-sample correction
        # (statsmodels PR #2879); with thousands of firms as clusters that correction is negligible
        warnings.filterwarnings("ignore", message="cov_type not fully supported with var_weights")
        return model.fit(**cluster)


def _row(
    comparison: Comparison, estimand: str, estimate: float, low: float, high: float, p: float, detail: str
) -> dict:
    s = comparison.sample
    treated = s["treated"].to_numpy()
    return {
        "outcome": comparison.outcome,
        "estimand": estimand,
        "method": comparison.method,
        "estimate": float(estimate),
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value": float(p),
        "n_treated": int(treated.sum()),
        "n_control": int((~treated).sum()),
        "n_firms_treated": int(s.loc[treated, "cvr"].nunique()),
        "n_firms_control": int(s.loc[~treated, "cvr"].nunique()),
        "n_treated_off_support": comparison.off_support,
        "years": f"{int(s['year'].min())}-{int(s['year'].max())}" if len(s) else "",
        "headline": comparison.method == MATCHED,
        "detail": detail,
    }


def _too_few(comparison: Comparison) -> bool:
    """Fewer firms in a group than the disclosure rule allows: nothing is estimated (and the row is suppressed)."""
    s = comparison.sample
    treated = s["treated"].to_numpy()
    return min(s.loc[treated, "cvr"].nunique(), s.loc[~treated, "cvr"].nunique()) < min_firms()


def innovation_rows(comparison: Comparison) -> list[dict]:
    """Risk difference (pp), risk ratio and odds ratio of innovating, with 95% intervals."""
    hows = {
        "risk_difference_pp": "weighted least squares of innovating on taking part",
        "risk_ratio": "Poisson regression with a log link, exponentiated",
        "odds_ratio": "logistic regression, exponentiated",
    }
    if _too_few(comparison):
        return [_row(comparison, estimand, np.nan, np.nan, np.nan, np.nan, how) for estimand, how in hows.items()]
    difference = _fit(comparison, None)
    low, high = difference.conf_int()[1]
    rows = [
        _row(
            comparison,
            "risk_difference_pp",
            100 * difference.params[1],
            100 * low,
            100 * high,
            difference.pvalues[1],
            hows["risk_difference_pp"],
        )
    ]
    for estimand, family in (("risk_ratio", "log"), ("odds_ratio", "logit")):
        fit = _fit(comparison, family)
        low, high = fit.conf_int()[1]
        rows.append(
            _row(comparison, estimand, np.exp(fit.params[1]), np.exp(low), np.exp(high), fit.pvalues[1], hows[estimand])
        )
    return rows


def growth_rows(comparison: Comparison) -> list[dict]:
    how = "weighted least squares of annual log productivity growth on taking part"
    if _too_few(comparison):
        return [_row(comparison, "growth_difference_pp", np.nan, np.nan, np.nan, np.nan, how)]
    fit = _fit(comparison, None)
    low, high = fit.conf_int()[1]
    return [_row(comparison, "growth_difference_pp", 100 * fit.params[1], 100 * low, 100 * high, fit.pvalues[1], how)]


def comparisons(panel: Panel) -> dict[str, dict[str, Comparison]]:
    """outcome -> method -> the comparison, for the estimates and the balance table."""
    innovation, growth = innovation_sample(panel), growth_sample(panel)
    return {
        "innovation": {NAIVE: naive(innovation, "innovation"), MATCHED: matched(innovation, "innovation")},
        "productivity_growth": {
            NAIVE: naive(growth, "productivity_growth"),
            MATCHED: matched(growth, "productivity_growth"),
        },
    }


def impact_estimates(designs: dict[str, dict[str, Comparison]]) -> pd.DataFrame:
    rows = []
    for method in (NAIVE, MATCHED):
        rows += innovation_rows(designs["innovation"][method])
        rows += growth_rows(designs["productivity_growth"][method])
    return pd.DataFrame(rows)
