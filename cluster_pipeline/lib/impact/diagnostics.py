"""What a reviewer checks beside the estimates: balance before and after matching, an event
study around joining with its pre-trend test, and how many members could be linked."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cluster_pipeline.lib.columns import is_in
from cluster_pipeline.lib.impact.disclosure import dominated
from cluster_pipeline.lib.impact.estimates import Comparison, clustered_on_firms
from cluster_pipeline.lib.impact.methods import FIXED_EFFECTS, MATCHED
from cluster_pipeline.lib.impact.panel import TREND_CELLS, Panel, joining_years

EVENT_WINDOW = (-5, 3)  # years since joining; the ends hold everything further out
REFERENCE = -1
PRE_PERIOD = [k for k in range(EVENT_WINDOW[0], REFERENCE)]


def _weighted_mean_var(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    if weights.sum() <= 0:
        return np.nan, np.nan
    mean = np.average(values, weights=weights)
    return float(mean), float(np.average((values - mean) ** 2, weights=weights))


# covariate (or the prefix of a share) -> the firm-year column it is read from
COVARIATES = {
    "log_fte": "log_fte",
    "log_fte_before": "log_fte_before",
    "firm_age": "age",
    "log_productivity_pre": "log_productivity_pre",
}
SHARES = {"region": "region", "industry": "division"}
# design -> the covariates its balance table shows (with the shares): what that design balances
# (estimates.MATCH_CELLS); the growth design does not balance the productivity level, by design
DESIGN_COVARIATES = {
    "innovation": ["log_fte", "firm_age", "log_productivity_pre"],
    "growth": ["log_fte_before", "firm_age"],
}


def _covariate_names(frame: pd.DataFrame, covariates: list[str]) -> list[str]:
    """The design's covariates, and a share per region and NACE division."""
    values = {share: sorted(frame[column].dropna().unique()) for share, column in SHARES.items()}
    return [*covariates, *(f"{share}={value}" for share, found in values.items() for value in found)]


# covariates that are a mean of a confidential magnitude: the magnitude each firm contributes
MAGNITUDES = {
    "log_fte": lambda frame: frame["fte"],
    "log_fte_before": lambda frame: frame["fte_before"],
    "log_productivity_pre": lambda frame: np.exp(frame["log_productivity_pre"]),
}


class _Compared:
    """One side of the balance table (participants, controls before or after matching) as the
    covariates are read from it: each share's categories and the firms numbered once, so that a
    covariate compares integers and its firms are counted with a bincount, not a hash of CVRs."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.weight = frame["weight"].to_numpy()
        self.firm = pd.factorize(frame["cvr"])[0]
        self.n_firms = self.firm.max(initial=-1) + 1
        self.categories = {share: pd.factorize(frame[column]) for share, column in SHARES.items()}

    def covariate(self, name: str) -> np.ndarray:
        """One covariate per firm-year (a share: 1 for a firm-year having it), made when it is compared:
        every share at once as columns of the comparison firm-years cost a gigabyte at scale 10."""
        share, _, value = name.partition("=")
        if not value:
            return self.frame[COVARIATES[name]].to_numpy(dtype="float64")
        codes, categories = self.categories[share]
        found = categories.get_indexer([value])[0]  # -1: no firm-year has it (nor a blank one, coded -1)
        return (codes == found).astype("float64") if found >= 0 else np.zeros(len(codes))

    def firms(self, having: np.ndarray) -> int:
        return int(np.count_nonzero(self._per_firm(having)))

    def _per_firm(self, having: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(self.firm[having], None if values is None else values[having], minlength=self.n_firms)

    def dominated(self, name: str) -> bool:
        """A mean of employment or productivity that its largest firms dominate (a firm without the
        figure adds nothing to the total nor to the largest firms' share)."""
        magnitude = MAGNITUDES[name](self.frame).to_numpy(dtype="float64")
        return dominated(pd.Series(self._per_firm(~np.isnan(magnitude), magnitude)))


def _dominated(name: str, compared: dict[str, _Compared]) -> bool:
    """A mean of employment or productivity that its largest firms dominate in any group compared."""
    return name in MAGNITUDES and any(side.dominated(name) for side in compared.values())


def balance(design: str, naive: Comparison, matched: Comparison) -> pd.DataFrame:
    """Standardised mean differences before (all controls) and after matching (the matched weights),
    over the pooled standard deviation before matching, of what the design balances
    (DESIGN_COVARIATES). A share's firms are those having it."""
    covariates = DESIGN_COVARIATES[design]
    before, after = naive.sample, matched.sample
    groups = {
        "treated": before[before["treated"]],
        "before": before[~before["treated"]],
        "after": after[~after["treated"]],
    }
    found = [_covariate_names(groups[side], covariates) for side in ("treated", "before")]
    names = list(dict.fromkeys([*found[0], *found[1]]))
    rows = []
    compared = {group: _Compared(frame) for group, frame in groups.items()}
    for name in names:
        means, variances, firms = {}, {}, {}
        for group, side in compared.items():
            column = side.covariate(name)
            present = ~np.isnan(column)
            means[group], variances[group] = _weighted_mean_var(column[present], side.weight[present])
            having = present & (column != 0) if "=" in name else present
            firms[group] = side.firms(having)
        spread = np.sqrt((variances["treated"] + variances["before"]) / 2)
        rows.append(
            {
                "covariate": name,
                "design": f"{design}_{MATCHED}",
                "mean_treated": means["treated"],
                "mean_control_before": means["before"],
                "mean_control_after": means["after"],
                "smd_before": (means["treated"] - means["before"]) / spread if spread > 0 else 0.0,
                "smd_after": (means["treated"] - means["after"]) / spread if spread > 0 else 0.0,
                "n_firms_treated": firms["treated"],
                "n_firms_control": firms["before"],
                "dominated": _dominated(name, compared),  # read by the disclosure rule, not published
            }
        )
    return pd.DataFrame(rows)


EVENT_STUDY_COLUMNS = ["outcome", "method", "event_time", "estimate", "ci_low", "ci_high", "n_firms", "n_firms_control"]


def _event_times(panel: Panel) -> pd.DataFrame:
    """Growth firm-years of firms first seen in a cluster after the first reporting year (with their
    years since joining) and of firms never seen in one (the comparison)."""
    fy = panel.firm_years
    first, joiners = joining_years(fy, panel.reporting_years)
    compared = fy["growth"].notna() & (~fy["cvr"].isin(first.index) | fy["cvr"].isin(joiners.index))
    sample = fy.loc[compared, ["cvr", "year", "growth", *TREND_CELLS]]  # what the regression reads, not every column
    event = (sample["year"] - sample["cvr"].map(joiners)).clip(*EVENT_WINDOW)
    return sample.assign(event_time=event)


def event_study(panel: Panel) -> tuple[pd.DataFrame, float]:
    """Growth (pp) by years since joining against never-participants, with NACE division x size
    band x year effects (absorbed by demeaning within the cells; the staggered estimator's cells)
    and a level of its own for the firms seen joining, so that each year's coefficient is the
    difference from the year before joining, as in a difference in differences (without it, a
    constant difference in growth between joiners and the rest, from their size or region, reads
    as a pre-trend); clustered on firms; and the p-value of the joint test that every pre-period
    coefficient is zero."""
    from statsmodels.regression.linear_model import OLS

    sample = _event_times(panel)
    observed = set(sample["event_time"].dropna().astype(int))  # a short panel reaches fewer event times
    times = [k for k in range(EVENT_WINDOW[0], EVENT_WINDOW[1] + 1) if k != REFERENCE and k in observed]
    if not times:  # one reporting year: nobody is seen joining, so there is nothing to study (nor a pre-trend)
        return pd.DataFrame(columns=EVENT_STUDY_COLUMNS), float("nan")
    cells = sample.groupby([*TREND_CELLS, "year"], sort=False, dropna=False).ngroup().to_numpy()
    firm_years = np.bincount(cells)

    def within(values: np.ndarray) -> np.ndarray:
        """Less the mean of the firm-year's division x year cell: those effects absorbed, one column at a time."""
        return values - (np.bincount(cells, values, len(firm_years)) / firm_years)[cells]

    event_time = sample["event_time"].to_numpy(dtype="float64")
    joiner = within((~np.isnan(event_time)).astype("float64"))
    x = np.column_stack([*(within((event_time == k).astype("float64")) for k in times), joiner])
    y = 100 * within(sample["growth"].to_numpy(dtype="float64"))
    # no constant (absorbed with the cells' effects): said, not looked for in 2.5 million rows at scale 10
    fit = OLS(y, x, hasconst=False).fit(**clustered_on_firms(sample["cvr"]))
    pre_period = [k for k in PRE_PERIOD if k in times]
    restriction = np.zeros((len(pre_period), len(times) + 1))  # the joiners' level is not restricted
    for i, k in enumerate(pre_period):
        restriction[i, times.index(k)] = 1
    pre_trend = float(fit.wald_test(restriction, scalar=True).pvalue)
    intervals = fit.conf_int()
    controls = int(sample.loc[sample["event_time"].isna(), "cvr"].nunique())
    rows = []
    for k in sorted({*times, REFERENCE}):
        firms = int(sample.loc[sample["event_time"] == k, "cvr"].nunique())
        if k == REFERENCE:
            rows.append(
                {
                    "outcome": "productivity_growth",
                    "method": FIXED_EFFECTS,
                    "event_time": k,
                    "estimate": 0.0,
                    "ci_low": None,
                    "ci_high": None,
                    "n_firms": firms,
                    "n_firms_control": controls,
                }
            )
            continue
        i = times.index(k)
        rows.append(
            {
                "outcome": "productivity_growth",
                "method": FIXED_EFFECTS,
                "event_time": k,
                "estimate": float(fit.params[i]),
                "ci_low": float(intervals[i, 0]),
                "ci_high": float(intervals[i, 1]),
                "n_firms": firms,
                "n_firms_control": controls,
            }
        )
    return pd.DataFrame(rows), pre_trend


def coverage(companies: dict[int, pd.DataFrame], participants: pd.DataFrame, firms: pd.DataFrame) -> pd.DataFrame:
    """Per reporting year: members that are companies, with a CVR, found in the register, and sampled."""
    register = firms[["cvr", "innovation_sampled"]]
    register_year = firms["year"].to_numpy(dtype="int64")
    rows = []
    for year, frame in sorted(companies.items()):
        mine = participants[participants["year"] == year]
        in_year = register[register_year == year]  # a year's firms, then their CVRs (not every year's) looked up
        found = in_year[is_in(in_year["cvr"], mine["cvr"]).to_numpy()]
        with_cvr = int(mine["cvr"].nunique())
        rows.append(
            {
                "year": int(year),
                "companies": int((frame["actor_type"] == "company").sum()),
                "companies_with_cvr": with_cvr,
                "linked_to_register": int(found["cvr"].nunique()),
                "link_rate": found["cvr"].nunique() / with_cvr if with_cvr else None,
                "sampled_in_innovation_survey": int((found["innovation_sampled"] == 1).sum()),
            }
        )
    return pd.DataFrame(rows)
