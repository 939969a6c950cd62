"""Do cluster firms do better than similar firms? The effect on the treated
(../shared/REGISTER_EXTRACT.md), beside the naive comparison that selection alone would give.

Design `matched`: coarsened exact matching within cells (MATCH_CELLS), one design per outcome.
- Innovation: year, NACE division, size band (fte; the size_bands seed) and pre-period
  productivity (quintiles of the year; unknown its own cell): a productivity level is a real
  confounder of innovating, and cluster firms differ in it.
- Productivity growth: year, NACE division, size band two register years before the growth's
  year (panel.SIZE_LAG) and region, what drives growth, and never the productivity level the
  growth starts from. That level holds a transitory part (a good year, accounting noise):
  among firms of one level, the comparison firms are there more often by a good year and fall
  back the next, the cluster firms by their persistent level, so matching on it finds growth
  where there is none (regression to the mean: Daw and Hatfield, Health Services Research 53(6),
  2018; Chabe-Ferret 2017). Pre-period growth is left out for the same reason: a growth carries
  the transitory part of its base year, which the next growth gives back.
A participant's firm-year is compared with the non-participants' firm-years of its cell,
reweighted so that each cell's controls carry the cell's treated weight (the effect on the
treated); participants in a cell without any control are off common support and counted.

Design `placebo`: the growth design on the register years before the first reporting year, in
which no firm takes part, with every firm that takes part later counted as taking part then
("joining" before it did). Its interval should cover zero; a check warns when it does not.

Innovation is weighted to the population by the survey weights. Standard errors cluster on
firms (statsmodels, imported lazily: ~1 s).
Every regression is y on (1, treated), so it is fitted to a comparison's firm cells (one row
per firm and side, `firm_cells`) rather than its firm-years: the same estimate and the same
firm-clustered errors, on a fraction of the rows.
Design `naive`: participants against every other firm-year of the same years.

Groups of participants (`group_by`): the band of services used (years with services_used),
member type, size (SME by register fte) and region, each against the non-participants of the
same years (of the same size or region, where the group is a property of every firm), with
the naive comparison beside it. Whether the effect rises with intensity: the slope of the
bands' effects on the mean services used in each band, from one stacked regression of every
band's comparison with standard errors clustered on firms (a comparison firm serves several
bands, so the bands' estimates are not independent).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.impact.disclosure import min_firms
from cluster_pipeline.lib.impact.methods import MATCHED, NAIVE, PER_SERVICE, PLACEBO, SLOPE
from cluster_pipeline.lib.impact.panel import Panel

# outcome -> the cell its matched design compares firm-years within (why: the module's docstring)
MATCH_CELLS = {
    "innovation": ["year", "division", "size_band", "productivity_band"],
    "productivity_growth": ["year", "division", "size_band_before", "region"],
}
INNOVATION_ESTIMANDS = ["risk_difference_pp", "risk_ratio", "odds_ratio"]
# group_by -> whether the group is a property of every firm (its comparison firms share it)
GROUPINGS = {"services_band": False, "member_type": False, "size": True, "region": True}
# what a comparison reads of a firm-year: the outcome and its weight, the match cell, the
# groups (to cut each group's sample), and the covariates of the balance table
# the covariates of diagnostics.balance, and the magnitudes its dominance rule reads
BALANCED = ["log_fte", "fte", "log_fte_before", "fte_before", "age", "log_productivity_pre", "region", "division"]
COMPARED = list(
    dict.fromkeys(["cvr", "year", "treated", "y", "weight", "services", "match_cell", *GROUPINGS, *BALANCED])
)
# what a group's comparison reads (its sample is cut from the outcome's, once per group)
GROUP_COMPARED = ["cvr", "year", "treated", "y", "weight", "services", "match_cell"]
# what the slope over the bands keeps of a band's comparison besides its cells: its participants' services used
SERVICES_USED = ["treated", "services", "weight"]


@dataclass
class Comparison:
    """One outcome's firm-years under one design: the outcome, who is treated, and the weights."""

    outcome: str
    method: str
    sample: pd.DataFrame  # cvr, year, treated, y, weight (> 0 for every row used)
    off_support: int = 0  # participants' firm-years without a comparable firm-year
    group_by: str | None = None  # None: every participant
    group: str | None = None

    @cached_property
    def cells(self) -> pd.DataFrame:
        return firm_cells(self.sample)

    @cached_property
    def firms(self) -> tuple[int, int]:
        """Participating and comparison firms: a firm has one cell a side (firm_cells), so cells are counted."""
        treated = self.cells["treated"].to_numpy()
        return int(treated.sum()), int((~treated).sum())


def firm_cells(sample: pd.DataFrame) -> pd.DataFrame:
    """A comparison's firm-years summed to one row per firm and side (cvr, treated): the weight,
    the weighted mean of y, and how many firm-years in which years.

    Why a regression of y on (1, treated) may be fitted to these rows with their summed weights:
    a firm's firm-years on one side share their regressors, so the weighted normal equations,
    and each firm's score (the sum of its firm-years' scores, for WLS and for the GLMs alike),
    are the same; so are the estimate and its firm-clustered errors. Only statsmodels' small-
    sample factor (N - 1) / (N - 2) counts cells instead of firm-years: with thousands of
    comparison firms a difference below one in a thousand of the error."""
    # one integer per firm and side (a CVR is 8 digits), numbered in order of appearance
    cell, keys = pd.factorize(sample["cvr"].to_numpy(dtype="int64") * 2 + sample["treated"].to_numpy(dtype="int64"))
    w, year = sample["weight"].to_numpy(dtype="float64"), sample["year"].to_numpy(dtype="int64")
    first_year, last_year = np.full(len(keys), year.max(initial=0)), np.full(len(keys), year.min(initial=0))
    np.minimum.at(first_year, cell, year)
    np.maximum.at(last_year, cell, year)
    weight = np.bincount(cell, w, len(keys))
    return pd.DataFrame(
        {
            "cvr": keys // 2,
            "treated": keys % 2 == 1,
            "weight": weight,
            "y": np.bincount(cell, w * sample["y"].to_numpy(dtype="float64"), len(keys)) / weight,
            "firm_years": np.bincount(cell, minlength=len(keys)),
            "first_year": first_year,
            "last_year": last_year,
        }
    )


def innovation_sample(panel: Panel) -> pd.DataFrame:
    fy = panel.firm_years
    sampled = fy[
        fy["reporting_year"] & (fy["innovation_sampled"] == 1) & fy["innovator"].notna() & (fy["survey_weight"] > 0)
    ]
    outcome = sampled.assign(y=sampled["innovator"].astype("float64"), weight=sampled["survey_weight"])
    return _with_match_cells(outcome, MATCH_CELLS["innovation"])


def growth_sample(panel: Panel, cell: list[str] = MATCH_CELLS["productivity_growth"]) -> pd.DataFrame:
    fy = panel.firm_years
    usable = fy[fy["reporting_year"] & fy["growth"].notna()]
    return _with_match_cells(usable.assign(y=usable["growth"], weight=1.0), cell)


def placebo_sample(panel: Panel, cell: list[str] = MATCH_CELLS["productivity_growth"]) -> pd.DataFrame:
    """The growth firm-years of the register years before the first reporting year (nobody takes
    part in them), every firm that takes part in a reporting year counted as taking part."""
    fy = panel.firm_years
    later = fy.loc[fy["treated"].to_numpy(), "cvr"].unique()
    before = fy[(fy["year"] < min(panel.reporting_years)) & fy["growth"].notna()]
    return _with_match_cells(before.assign(treated=before["cvr"].isin(later), y=before["growth"], weight=1.0), cell)


def _with_match_cells(sample: pd.DataFrame, cell: list[str]) -> pd.DataFrame:
    """The columns a comparison reads, the match cell numbered once for every group cut from it."""
    return sample.assign(match_cell=sample.groupby(cell, sort=False, dropna=False).ngroup().to_numpy())[COMPARED]


def matched(sample: pd.DataFrame, outcome: str, method: str = MATCHED) -> Comparison:
    """Controls reweighted to the treated weight of their cell; treated without controls dropped."""
    cell = sample["match_cell"].to_numpy()
    treated = sample["treated"].to_numpy()
    w = sample["weight"].to_numpy()
    cells = cell.max(initial=-1) + 1
    treated_weight = np.bincount(cell, np.where(treated, w, 0.0), cells)[cell]
    control_weight = np.bincount(cell, np.where(treated, 0.0, w), cells)[cell]
    on_support = (treated_weight > 0) & (control_weight > 0)
    weight = np.where(
        treated, w, w * np.divide(treated_weight, control_weight, out=np.zeros_like(w), where=control_weight > 0)
    )
    kept = sample.assign(weight=np.where(on_support, weight, 0.0))
    return Comparison(outcome, method, kept[kept["weight"] > 0], int((treated & ~on_support).sum()))


def naive(sample: pd.DataFrame, outcome: str) -> Comparison:
    return Comparison(outcome, NAIVE, sample)


def group_sample(sample: pd.DataFrame, group_by: str, group: str) -> pd.DataFrame:
    """The group's participants and the non-participants of the years it has participants (of
    the same group, where the group is a property of every firm)."""
    mine = sample["treated"].to_numpy() & (sample[group_by] == group).to_numpy()
    controls = ~sample["treated"].to_numpy() & sample["year"].isin(sample.loc[mine, "year"].unique()).to_numpy()
    if GROUPINGS[group_by]:
        controls &= (sample[group_by] == group).to_numpy()
    return sample.loc[mine | controls, GROUP_COMPARED]


def groups_of(sample: pd.DataFrame, group_by: str) -> list[str]:
    """The groups the participants fall in, in the order a reader expects (the seed's bands)."""
    found = set(sample.loc[sample["treated"], group_by].dropna().unique())
    if group_by == "services_band":
        return [band for band in seeds.service_bands()["band"] if band in found]
    return sorted(found)


def group_comparisons(sample: pd.DataFrame, outcome: str) -> Iterator[Comparison]:
    """Each group's comparisons (naive, then matched), one group at a time: a group's sample holds
    every non-participant of its years, so holding every group's at once costs the data many
    times over (at scale 10 it took the measurement from 6 to 15 GB)."""
    for group_by in GROUPINGS:
        for group in groups_of(sample, group_by):
            part = group_sample(sample, group_by, group)
            for comparison in (naive(part, outcome), matched(part, outcome)):
                comparison.group_by, comparison.group = group_by, group
                yield comparison


def clustered_on_firms(cvr: pd.Series) -> dict:
    """statsmodels' fit arguments for errors clustered on firms. Intervals are normal (use_t is
    off), so its degrees-of-freedom adjustment is never read; without it statsmodels does not
    count the clusters a second time (np.unique, 60 ms a fit at scale 10)."""
    # As int32: statsmodels numbers int64 clusters with np.unique alone, which numpy 2.4 hashes (0.9 s a
    # fit for a million firms at scale 10), any other integers with np.unique(return_inverse=True),
    # which it sorts (0.1 s); the clusters and the errors are the same.
    return {
        "cov_type": "cluster",
        "cov_kwds": {"groups": pd.factorize(cvr)[0].astype(np.int32), "df_correction": False},
    }


def _fit(comparison: Comparison, family: str | None):
    """y on (1, treated), weighted, clustered on firms: WLS, or a GLM (binomial logit, Poisson
    log); fitted to the comparison's firm cells (see firm_cells). The constant is said
    (hasconst), not looked for in every row."""
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.regression.linear_model import WLS

    s = comparison.cells
    x = np.column_stack([np.ones(len(s)), s["treated"].to_numpy(dtype="float64")])
    cluster = clustered_on_firms(s["cvr"])
    if family is None:
        return WLS(s["y"].to_numpy(), x, weights=s["weight"].to_numpy(), hasconst=True).fit(**cluster)
    model_family = families.Binomial() if family == "logit" else families.Poisson()
    model = GLM(s["y"].to_numpy(), x, family=model_family, var_weights=s["weight"].to_numpy(), hasconst=True)
    with warnings.catch_warnings():
        # statsmodels warns that its cluster sandwich with var_weights lacks the small-sample correction
        # (statsmodels PR #2879); with thousands of firms as clusters that correction is negligible
        warnings.filterwarnings("ignore", message="cov_type not fully supported with var_weights")
        return model.fit(**cluster)


def _row(
    comparison: Comparison,
    estimand: str,
    estimate: float,
    low: float,
    high: float,
    p: float,
    detail: str,
    cells: pd.DataFrame | None = None,
) -> dict:
    """The published row; its counts from the comparison's firm cells (or the cells given, pooled
    across comparisons: a firm may have a cell in several)."""
    s = comparison.cells if cells is None else cells
    treated = s["treated"].to_numpy()
    firms_treated, firms_control = (
        comparison.firms if cells is None else (s.loc[treated, "cvr"].nunique(), s.loc[~treated, "cvr"].nunique())
    )
    return {
        "outcome": comparison.outcome,
        "estimand": estimand,
        "method": comparison.method,
        "estimate": float(estimate),
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value": float(p),
        "n_treated": int(s.loc[treated, "firm_years"].sum()),
        "n_control": int(s.loc[~treated, "firm_years"].sum()),
        "n_firms_treated": int(firms_treated),
        "n_firms_control": int(firms_control),
        "n_treated_off_support": comparison.off_support,
        "years": f"{int(s['first_year'].min())}-{int(s['last_year'].max())}" if len(s) else "",
        "headline": comparison.method == MATCHED and comparison.group_by is None,
        "detail": detail,
        "group_by": comparison.group_by,
        "group": comparison.group,
    }


def _too_few(comparison: Comparison) -> bool:
    """Fewer firms in a group than the disclosure rule allows: nothing is estimated (and the row is suppressed)."""
    return min(comparison.firms) < min_firms()


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


GROWTH_HOW = {
    NAIVE: "weighted least squares of annual log productivity growth on taking part",
    MATCHED: "weighted least squares of annual log productivity growth on taking part, within cells of year, NACE "
    "division, size two register years before and region (not the productivity level the growth starts from)",
    PLACEBO: "the matched growth design on the register years before the first reporting year, every firm that "
    "takes part later counted as taking part then: no effect can be there, so an interval excluding zero says the "
    "design finds one where there is none",
}


def growth_rows(comparison: Comparison) -> list[dict]:
    how = GROWTH_HOW[comparison.method]
    if _too_few(comparison):
        return [_row(comparison, "growth_difference_pp", np.nan, np.nan, np.nan, np.nan, how)]
    fit = _fit(comparison, None)
    low, high = fit.conf_int()[1]
    return [_row(comparison, "growth_difference_pp", 100 * fit.params[1], 100 * low, 100 * high, fit.pvalues[1], how)]


def samples(panel: Panel) -> dict[str, pd.DataFrame]:
    return {"innovation": innovation_sample(panel), "productivity_growth": growth_sample(panel)}


def comparisons(samples: dict[str, pd.DataFrame]) -> dict[str, dict[str, Comparison]]:
    """outcome -> method -> the comparison, for the estimates and the balance table."""
    return {outcome: {NAIVE: naive(s, outcome), MATCHED: matched(s, outcome)} for outcome, s in samples.items()}


def intensity_slope(by_band: dict[str, Comparison], estimand: str) -> dict | None:
    """Does the effect rise with intensity? The least-squares slope of the bands' effects on the
    mean services their participants used, per service, with firm-clustered errors across the
    bands (a comparison firm serves several bands, so their effects are not independent): what
    one stacked regression with an intercept and an effect per band gives (`_effect_and_influence`
    says how), without building the stack. None with fewer than two bands large enough to estimate."""
    from scipy import stats

    bands = {band: c for band, c in by_band.items() if not _too_few(c)}
    if len(bands) < 2:
        return None
    x = np.array(
        [
            np.average(
                c.sample.loc[c.sample["treated"], "services"], weights=c.sample.loc[c.sample["treated"], "weight"]
            )
            for c in bands.values()
        ]
    )
    contrast = (x - x.mean()) / np.sum((x - x.mean()) ** 2)  # the slope as a sum of the bands' effects
    effects, influences = zip(*(_effect_and_influence(c.cells) for c in bands.values()))
    slope = float(contrast @ np.array(effects))
    # each firm's influence on the slope, over its cells in every band
    cells = pd.concat([c.cells.drop(columns=["weight", "y"]) for c in bands.values()], ignore_index=True)
    firm = pd.factorize(cells["cvr"])[0]
    per_firm = np.bincount(firm, np.concatenate([k * i for k, i in zip(contrast, influences, strict=True)]))
    # statsmodels' small-sample factor of clustered errors, as for the stacked regression's rows and parameters
    firms, rows = len(per_firm), len(cells)
    correction = firms / (firms - 1) * (rows - 1) / (rows - 2 * len(bands))
    se = float(np.sqrt(correction * np.sum(per_firm**2)))
    row = _row(
        next(iter(bands.values())),
        estimand + PER_SERVICE,
        100 * slope,
        100 * (slope - 1.96 * se),
        100 * (slope + 1.96 * se),
        2 * stats.norm.sf(abs(slope / se)),
        f"least-squares slope of the effects of bands {', '.join(bands)} on their participants' mean services "
        f"used ({', '.join(f'{v:.1f}' for v in x)}), per service; one stacked regression, errors clustered on firms",
        cells=cells,
    )
    return row | {"group": SLOPE, "n_treated_off_support": sum(c.off_support for c in bands.values())}


def _effect_and_influence(cells: pd.DataFrame) -> tuple[float, np.ndarray]:
    """A band's effect, the weighted mean of its participants' cells less its comparison firms',
    as the WLS of y on (1, treated) gives it, and each cell's influence on it: the effect's row of
    that regression's sandwich (its bread's row times the cell's score), written out. Summed per
    firm and squared, it is statsmodels' firm-clustered variance, before the small-sample factor."""
    treated = cells["treated"].to_numpy()
    w, y = cells["weight"].to_numpy(), cells["y"].to_numpy()
    w_treated, w_control = w[treated].sum(), w[~treated].sum()
    mean_treated, mean_control = (w * y)[treated].sum() / w_treated, (w * y)[~treated].sum() / w_control
    influence = np.where(treated, w * (y - mean_treated) / w_treated, -w * (y - mean_control) / w_control)
    return float(mean_treated - mean_control), influence


def _kept_for_the_slope(band: Comparison) -> Comparison:
    """A band's comparison as the slope needs it once its rows are out: its firm cells and its
    participants' services used; the firm-years of its comparison firms are let go."""
    band.cells  # noqa: B018 (computed while the firm-years are here)
    band.sample = band.sample.loc[band.sample["treated"].to_numpy(), SERVICES_USED]
    return band


def _rows(comparison: Comparison) -> list[dict]:
    return innovation_rows(comparison) if comparison.outcome == "innovation" else growth_rows(comparison)


def impact_estimates(
    designs: dict[str, dict[str, Comparison]],
    samples: dict[str, pd.DataFrame] | None = None,
    placebo: Comparison | None = None,
) -> pd.DataFrame:
    """Every participant's comparison, then the growth design's placebo, then (given the outcomes'
    samples) each group's, with naive beside matched, then the slope over the bands of services used."""
    rows = []
    for method in (NAIVE, MATCHED):
        rows += innovation_rows(designs["innovation"][method])
        rows += growth_rows(designs["productivity_growth"][method])
    if placebo is not None:
        rows += growth_rows(placebo)
    for outcome, sample in (samples or {}).items():
        bands: dict[str, dict[str, Comparison]] = {NAIVE: {}, MATCHED: {}}
        for comparison in group_comparisons(sample, outcome):
            rows += _rows(comparison)
            if comparison.group_by == "services_band" and comparison.group is not None:
                bands[comparison.method][comparison.group] = _kept_for_the_slope(comparison)
        estimand = "risk_difference_pp" if outcome == "innovation" else "growth_difference_pp"
        for method in (NAIVE, MATCHED):
            if (slope := intensity_slope(bands[method], estimand)) is not None:
                rows.append(slope)
    return pd.DataFrame(rows)
