"""Firms join clusters in different years. Beside the event study's one regression, the
group-time average effects of Callaway and Sant'Anna (2021) on productivity growth under
parallel trends conditional on industry and size: for each cohort g (firms first seen in a
cluster in year g, after the first reporting year) and year t, within each cell of NACE
division and size band (panel.TREND_CELLS: the size two register years before the base year g-1,
panel.SIZE_LAG, so no year the outcome reads), the mean change of growth from g-1 to t among
the cohort less the same among firms never seen in a cluster; ATT(g, t) averages the cells
over the cohort's firms in them (exact matching on discrete covariates: what the outcome
regression and the doubly robust estimator of Sant'Anna and Zhao (2020) reduce to when the
covariates are saturated cells). Cohort firms in a cell without a never-participant are off
support and left out. Aggregated by years since joining (weights: the cohorts' firms in each
cell) and over every year from joining on (the "simple" aggregation); the pre-trend test reads
the pre-period effects of the same cells. Without the cells (compared_within=[]) it is the
unconditional estimator, which assumes parallel trends across every industry: industries
whose growth accelerates differently, with cluster firms in the faster ones, make it find an
effect where there is none.

Standard errors from the influence function of each aggregate, summed per firm (the firm is
the unit, so they are clustered on firms); the cohort weights are treated as known, which
understates the variance slightly. Own code on numpy, about 120 lines: the Python ports of
`did` (csdid 0.4, differences 0.3, moderndid 0.2) are young, pull in further numerical stacks,
and offer the multiplier bootstrap where the analytic influence function suffices here.
A firm counts as treated from the year it joins (an intention-to-treat: a firm that leaves its
cluster later stays in its cohort).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cluster_pipeline.lib.impact.diagnostics import EVENT_WINDOW
from cluster_pipeline.lib.impact.methods import CALLAWAY_SANTANNA
from cluster_pipeline.lib.impact.panel import TREND_CELLS, Panel, joining_years

WINDOW = EVENT_WINDOW  # years since joining shown (the event study's, without its pooled ends)


@dataclass
class Cell:
    cohort: int
    year: int
    att: float
    treated: np.ndarray  # unit indices of the cohort observed in the year and the base year
    controls: np.ndarray
    influence: np.ndarray  # per unit in treated, then per unit in controls

    @property
    def event_time(self) -> int:
        return self.year - self.cohort


def _units(panel: Panel, compared_within: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """Growth as a units x years matrix (NaN where missing), each unit-year's cell (-1 where
    missing), each unit's cohort (0: never)."""
    fy = panel.firm_years
    first, joiners = joining_years(fy, panel.reporting_years)
    compared = (~fy["cvr"].isin(first.index) | fy["cvr"].isin(joiners.index)) & fy["growth"].notna()
    kept = fy.loc[compared, ["cvr", "year", "growth", *compared_within]]
    cell = kept.groupby(compared_within, sort=False).ngroup() if compared_within else pd.Series(0, index=kept.index)
    kept = kept.assign(cell=cell.to_numpy())
    wide = kept.pivot_table(index="cvr", columns="year", values=["growth", "cell"], aggfunc="first")
    cohort = wide.index.map(joiners).fillna(0).to_numpy(dtype="int64")
    years = [int(y) for y in wide["growth"].columns]
    cells = wide["cell"].reindex(columns=wide["growth"].columns).fillna(-1).to_numpy(dtype="int64")
    return wide["growth"].to_numpy(dtype="float64"), cells, cohort, years


def _within_cells(change: np.ndarray, cell: np.ndarray, treated: np.ndarray, controls: np.ndarray):
    """ATT of the treated over the controls of their cell, the treated on support (a control in
    their cell), the controls of their cells, and the influence of each (treated, then controls):
    ATT = mean over the treated of (change - the mean change of the controls of its cell)."""
    n_cells = int(cell.max(initial=0)) + 1
    n_control = np.bincount(cell[controls], minlength=n_cells)
    treated = treated[n_control[cell[treated]] > 0]
    n_treated = np.bincount(cell[treated], minlength=n_cells)
    controls = controls[n_treated[cell[controls]] > 0]
    if len(treated) == 0:
        return None
    mean_control = np.bincount(cell[controls], change[controls], n_cells) / np.maximum(n_control, 1)
    gap = change[treated] - mean_control[cell[treated]]
    att = float(gap.mean())
    mine = cell[controls]
    share = n_treated[mine] / len(treated)  # the weight of a control's cell among the treated
    influence = np.concatenate(
        [(gap - att) / len(treated), -share * (change[controls] - mean_control[mine]) / n_control[mine]]
    )
    return att, treated, controls, influence


def group_time_effects(panel: Panel, compared_within: list[str] = TREND_CELLS) -> tuple[list[Cell], int]:
    """ATT(g, t) for every cohort and every year in the window around its joining, and the number
    of units (the length of every influence vector)."""
    growth, cells_of, cohort, years = _units(panel, compared_within)
    column = {year: i for i, year in enumerate(years)}
    never = cohort == 0
    cells = []
    for g in sorted(set(cohort[~never])):
        if g - 1 not in column:
            continue
        base, cell = growth[:, column[g - 1]], cells_of[:, column[g - 1]]  # a unit's cell in the base year
        for t in years:
            if t == g - 1 or not WINDOW[0] <= t - g <= WINDOW[1]:
                continue
            change = growth[:, column[t]] - base
            treated = np.flatnonzero((cohort == g) & ~np.isnan(change))
            controls = np.flatnonzero(never & ~np.isnan(change))
            found = _within_cells(change, cell, treated, controls) if len(controls) else None
            if found is not None:
                att, on_support, compared, influence = found
                cells.append(Cell(g, t, att, on_support, compared, influence))
    return cells, len(cohort)


def _aggregate(cells: list[Cell], n_units: int) -> tuple[float, np.ndarray]:
    """The cohort-size weighted mean of the cells' effects, and each unit's influence on it."""
    sizes = np.array([len(c.treated) for c in cells], dtype="float64")
    weights = sizes / sizes.sum()
    influence = np.zeros(n_units)
    for weight, cell in zip(weights, cells):  # a unit is in a cell once: a bincount adds what add.at would
        influence += np.bincount(np.concatenate([cell.treated, cell.controls]), weight * cell.influence, n_units)
    return float(weights @ np.array([c.att for c in cells])), influence


def _distinct(units: list[np.ndarray], n_units: int) -> int:
    """How many units the cells hold between them (a unit is a row of the units x years matrix)."""
    return int(np.count_nonzero(np.bincount(np.concatenate(units), minlength=n_units)))


def _summary(cells: list[Cell], n_units: int) -> dict:
    from scipy import stats  # a second of import, for the commands that measure

    estimate, influence = _aggregate(cells, n_units)
    se = float(np.sqrt(np.sum(influence**2)))
    return {
        "estimate": 100 * estimate,
        "ci_low": 100 * (estimate - 1.96 * se),
        "ci_high": 100 * (estimate + 1.96 * se),
        "p_value": float(2 * stats.norm.sf(abs(estimate / se))) if se > 0 else np.nan,
        "n_firms": _distinct([c.treated for c in cells], n_units),
        "n_firms_control": _distinct([c.controls for c in cells], n_units),
        "n_treated": int(sum(len(c.treated) for c in cells)),
        "n_control": int(sum(len(c.controls) for c in cells)),
        "influence": influence,
    }


def staggered_adoption(panel: Panel, compared_within: list[str] = TREND_CELLS) -> tuple[dict | None, pd.DataFrame]:
    """(the overall effect from joining on, as an impact_estimates row, or None without a cohort;
    the effect by years since joining, as impact_event_study rows with their pre-trend test)."""
    from scipy import stats

    cells, n_units = group_time_effects(panel, compared_within)
    if not any(c.event_time >= 0 for c in cells):
        return None, pd.DataFrame()
    by_time = {e: [c for c in cells if c.event_time == e] for e in sorted({c.event_time for c in cells})}
    summaries = {e: _summary(group, n_units) for e, group in by_time.items()}
    pre = [e for e in summaries if e < -1]
    pre_trend = np.nan
    if pre:  # joint Wald test that every effect before the base year is zero
        psi = np.column_stack([summaries[e]["influence"] for e in pre])
        values = np.array([summaries[e]["estimate"] / 100 for e in pre])
        pre_trend = float(stats.chi2.sf(values @ np.linalg.pinv(psi.T @ psi) @ values, len(pre)))
    events = pd.DataFrame(
        [
            {
                "outcome": "productivity_growth",
                "method": CALLAWAY_SANTANNA,
                "event_time": e,
                **{k: s[k] for k in ("estimate", "ci_low", "ci_high", "n_firms", "n_firms_control")},
                "pre_trend_p_value": pre_trend,
            }
            for e, s in summaries.items()
        ]
    )
    overall = _summary([c for c in cells if c.event_time >= 0], n_units)
    years = sorted({c.year for c in cells if c.event_time >= 0})
    row = {
        "outcome": "productivity_growth",
        "estimand": "growth_difference_pp",
        "method": CALLAWAY_SANTANNA,
        **{k: overall[k] for k in ("estimate", "ci_low", "ci_high", "p_value", "n_treated", "n_control")},
        "n_firms_treated": overall["n_firms"],
        "n_firms_control": overall["n_firms_control"],
        "n_treated_off_support": 0,
        "years": f"{years[0]}-{years[-1]}",
        "headline": False,
        "detail": "group-time average effects (Callaway and Sant'Anna 2021) of firms joining after the first "
        "reporting year against never-participating firms of the same NACE division and size band (parallel "
        "trends within them), base year the year before joining, averaged over every year from joining on "
        "weighted by the cohorts' firms; errors from the influence function, clustered on firms",
        "group_by": None,
        "group": None,
    }
    return row, events
