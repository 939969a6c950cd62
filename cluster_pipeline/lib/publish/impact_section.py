"""The report's section "Do cluster firms do better than similar firms?", from the published
impact tables (aggregates only): the headline estimates in plain words beside the naive
comparison, the event study, balance before and after matching, the link rate, and the
method with its limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.impact import disclosure
from cluster_pipeline.lib.impact.methods import (
    CALLAWAY_SANTANNA,
    FIXED_EFFECTS,
    MATCHED,
    NAIVE,
    PER_SERVICE,
    PLACEBO,
    SLOPE,
)
from cluster_pipeline.lib.impact.panel import growth_outlier_factor
from cluster_pipeline.lib.publish import report_charts
from cluster_pipeline.lib.publish.parquet_store import read_table
from cluster_pipeline.lib.tables import MEASUREMENT_TABLES

METHOD = [
    "Who takes part: a firm takes part in a year when a company with its CVR number is in that year's published "
    "companies (any accepted members row). Members without a valid CVR, knowledge institutions and public actors "
    "cannot be linked to the register.",
    "Comparison (matched): each participating firm-year is compared with firm-years of non-participants alike in "
    "what drives the outcome, reweighted so that every cell's comparison firms weigh as much as its participants "
    "(the effect on participants). For innovation: the same year, NACE division, size band (full-time "
    "equivalents) and fifth of the year's productivity before (cluster firms are more productive than their "
    "industry's, and productivity goes with innovating). For productivity growth: the same year, NACE division, "
    "region and size band two years before, but not the productivity the growth starts from. A year's "
    "productivity is partly a good or bad year: among firms of one productivity level, the comparison firms are "
    "there more often by a good year and fall back the next, the cluster firms by their lasting level, so "
    "matching growth on that level would find faster growth where there is none (regression to the mean). "
    "Innovation uses the innovation survey's sample, weighted to the population by its weights. 95% intervals "
    "use standard errors clustered on firms.",
    "Placebo: the growth comparison is also made on the register years before the first reporting year, with "
    "the firms that took part later counted as taking part then. Nothing can have been gained in those years, "
    "so its interval should include zero; if it does not, the comparison finds an effect where there is none, "
    "and the report says so beside the headline.",
    "Productivity growth is the annual change in log value added per full-time equivalent. Firm-years without "
    "accounts, with value added of zero or less, or whose productivity changes more than {factor:g}-fold in a year "
    "(a unit error) have no growth figure; the number removed is in impact_estimates.detail.",
    "The event study follows firms first seen in a cluster after the first reporting year, from before they "
    "joined, against firms never seen in one of the same industry and size, each year against the year before "
    "joining. The cohort estimates (Callaway and Sant'Anna) compare each year's joiners with firms never in a "
    "cluster within the same NACE division and size band, since industries grow at different and changing "
    "rates and cluster firms sit more often in the fast ones. Flat estimates before joining support the "
    "comparison; they cannot prove it.",
    "By services used: in the years whose members files give services_used, the same comparisons for the "
    "participants of each band (a firm's services summed over its clusters), and whether the effect rises with "
    "them: the slope of the bands' effects on the services their participants used, from one regression of every "
    "band's comparison (a comparison firm serves several bands). Firms that use more services may also be firms "
    "that would have done better anyway: the bands are compared with the same kind of firms, not assigned.",
    "Limits: the comparison adjusts only for what the register shows (industry, size, year, region, and for "
    "innovation productivity before). "
    "Firms that choose to "
    "join a cluster may differ in ways it does not show (ambition, management), so these are associations "
    "adjusted for observed differences, not proven effects. Participation is self-reported by the clusters. Every "
    "figure rests on at least the number of firms the disclosure rule requires; smaller cells are suppressed, a mean "
    "of employment or productivity that its largest firms dominate is suppressed, and so is a further group where "
    "the figure for all participants and the other groups would give a suppressed one back.",
]


def _number(value, digits: int = 1) -> str:
    return "suppressed" if value is None or pd.isna(value) else f"{value:,.{digits}f}"


def _estimate(
    estimates: pd.DataFrame, outcome: str, estimand: str, method: str, group_by=None, group=None
) -> pd.Series | None:
    """The row for every participant (or for one group of them)."""
    found = estimates[
        (estimates["outcome"] == outcome) & (estimates["estimand"] == estimand) & (estimates["method"] == method)
    ]
    found = (
        found[found["group_by"].isna()]
        if group_by is None
        else found[(found["group_by"] == group_by) & (found["group"] == group)]
    )
    return found.iloc[0] if len(found) else None


def _value(row: pd.Series | None, column: str = "estimate") -> float | None:
    return None if row is None or row["suppressed"] or pd.isna(row[column]) else float(row[column])


OUTCOME_ESTIMANDS = {"innovation": "risk_difference_pp", "productivity_growth": "growth_difference_pp"}
OUTCOME_TITLES = {"innovation": "innovating (percentage points)", "productivity_growth": "productivity growth (pp)"}
GROUP_NAMES = {"member_type": "member type", "size": "size", "region": "region"}


def _group_label(group_by: str, group: str) -> str:
    if group_by == "region":
        return seeds.region_names().get(group, group)
    return {"sme": f"SME (under {seeds.sme_employee_limit()} FTE)", "large": "larger firms"}.get(group, group)


def _cell(row: pd.Series | None, digits: int = 1) -> str:
    if row is None:
        return "-"
    if row["suppressed"]:
        return f"suppressed ({row['suppression_reason']})"
    return f"{_number(row['estimate'], digits)} ({_number(row['ci_low'], digits)} to {_number(row['ci_high'], digits)})"


def _staggered_sentence(estimates: pd.DataFrame) -> str:
    row = _estimate(estimates, "productivity_growth", "growth_difference_pp", CALLAWAY_SANTANNA)
    if row is None:
        return ""
    return (
        "Firms join in different years. Compared cohort by cohort with firms never in a cluster (Callaway and "
        f"Sant'Anna's group-time effects, grey squares), growth from the year of joining on was {_cell(row, 2)} "
        "percentage points higher, counting every later year of a firm that joined, whether it stayed or not."
    )


def intensity(estimates: pd.DataFrame) -> dict | None:
    """The effect by band of services used, naive beside matched, and the slope over the bands."""
    bands = [b for b in seeds.service_bands()["band"] if b in set(estimates["group"].dropna())]
    if not bands:
        return None
    panels, rows, slopes = {}, [], []
    for outcome, estimand in OUTCOME_ESTIMANDS.items():
        matched = [_estimate(estimates, outcome, estimand, MATCHED, "services_band", b) for b in bands]
        naive = [_estimate(estimates, outcome, estimand, NAIVE, "services_band", b) for b in bands]
        panels[OUTCOME_TITLES[outcome]] = {
            "estimate": [_value(r) for r in matched],
            "low": [_value(r, "ci_low") for r in matched],
            "high": [_value(r, "ci_high") for r in matched],
            "naive": [_value(r) for r in naive],
        }
        rows += [
            {
                "outcome": OUTCOME_TITLES[outcome],
                "band": band,
                "matched": _cell(m),
                "naive": _cell(n),
                "firms": "-" if m is None else f"{m['n_firms_treated']:,}",
            }
            for band, m, n in zip(bands, matched, naive)
        ]
        slope = _estimate(estimates, outcome, estimand + PER_SERVICE, MATCHED, "services_band", SLOPE)
        if slope is not None:
            slopes.append(f"{OUTCOME_TITLES[outcome]}: {_cell(slope, 2)} per service used")
    return {"chart": report_charts.intensity_chart(bands, panels), "rows": rows, "slopes": slopes}


def groups(estimates: pd.DataFrame) -> list[dict]:
    """Member type, size and region: each group's matched effect beside its naive comparison."""
    rows = []
    for group_by, name in GROUP_NAMES.items():
        for group in sorted(estimates.loc[estimates["group_by"] == group_by, "group"].dropna().unique()):
            cells = {
                outcome: (
                    _estimate(estimates, outcome, estimand, MATCHED, group_by, group),
                    _estimate(estimates, outcome, estimand, NAIVE, group_by, group),
                )
                for outcome, estimand in OUTCOME_ESTIMANDS.items()
            }
            rows.append(
                {
                    "by": name,
                    "group": _group_label(group_by, group),
                    "innovation": _cell(cells["innovation"][0]),
                    "innovation_naive": _cell(cells["innovation"][1]),
                    "growth": _cell(cells["productivity_growth"][0], 2),
                    "growth_naive": _cell(cells["productivity_growth"][1], 2),
                }
            )
    return rows


def _sentences(estimates: pd.DataFrame) -> list[str]:
    rd = _estimate(estimates, "innovation", "risk_difference_pp", MATCHED)
    rd_naive = _estimate(estimates, "innovation", "risk_difference_pp", NAIVE)
    rr = _estimate(estimates, "innovation", "risk_ratio", MATCHED)
    rr_naive = _estimate(estimates, "innovation", "risk_ratio", NAIVE)
    growth = _estimate(estimates, "productivity_growth", "growth_difference_pp", MATCHED)
    growth_naive = _estimate(estimates, "productivity_growth", "growth_difference_pp", NAIVE)
    sentences = []
    if rd is not None and rd_naive is not None and rr is not None and rr_naive is not None and not rd["suppressed"]:
        sentences.append(
            f"Participating firms were {_number(rd['estimate'])} percentage points more likely to innovate than "
            f"similar firms (95% CI {_number(rd['ci_low'])} to {_number(rd['ci_high'])}); a plain comparison with "
            f"every other firm would have said {_number(rd_naive['estimate'])}. "
            f"As a ratio: {_number(rr['estimate'], 2)} "
            f"times as likely (95% CI {_number(rr['ci_low'], 2)} to {_number(rr['ci_high'], 2)}; plain comparison "
            f"{_number(rr_naive['estimate'], 2)})."
        )
    else:
        sentences.append(
            "Too few firms of the innovation survey sample could be compared: the innovation estimate is suppressed."
        )
    if growth is not None and growth_naive is not None and not growth["suppressed"]:
        sentences.append(
            f"Their labour productivity grew {_number(growth['estimate'])} percentage points a year faster than "
            f"similar firms' (95% CI {_number(growth['ci_low'])} to {_number(growth['ci_high'])}); a plain "
            f"comparison would have said {_number(growth_naive['estimate'])}."
        )
        sentences.append(placebo_sentence(_estimate(estimates, "productivity_growth", "growth_difference_pp", PLACEBO)))
    else:
        sentences.append("Too few firms could be compared: the productivity growth estimate is suppressed.")
    return [sentence for sentence in sentences if sentence]


def placebo_sentence(placebo: pd.Series | None) -> str:
    """The placebo beside the growth headline: whether the design finds nothing where nothing can be."""
    if placebo is None or placebo["suppressed"] or pd.isna(placebo["estimate"]):
        return "No placebo could be run (no register years before the first reporting year, or too few firms)."
    low, high = _number(placebo["ci_low"], 2), _number(placebo["ci_high"], 2)
    shown = f"{_number(placebo['estimate'], 2)} percentage points (95% CI {low} to {high})"
    if placebo["ci_low"] <= 0 <= placebo["ci_high"]:
        return (
            f"Placebo: the same comparison in {placebo['years']}, before anyone took part, with the later "
            f"participants counted as taking part, finds {shown}: no effect, as it should."
        )
    return (
        f"Placebo failed: the same comparison in {placebo['years']}, before anyone took part, finds {shown}, an "
        "effect where there can be none. The growth estimate above is likely biased by as much; read it with care."
    )


@dataclass(frozen=True)
class ImpactSection:
    """The section as every year's report shows it, drawn once per run (the measurement spans
    all years: only the year's link to the register differs between reports)."""

    shared: dict  # the template's context but the link; `available` is False without a measurement
    coverage: pd.DataFrame | None  # impact_coverage, for the year's link sentence

    def of_year(self, year: int) -> dict:
        if self.coverage is None:
            return self.shared
        this_year = self.coverage[self.coverage["year"] == year]
        return {**self.shared, "link": link_sentence(year, this_year.iloc[0] if len(this_year) else None)}


def impact_section(output: Path) -> ImpactSection:
    """The section's context read from the published impact tables, charts drawn."""
    read = {name: read_table(Path(output), name) for name in MEASUREMENT_TABLES}
    frames = {name: frame for name, frame in read.items() if frame is not None}
    if len(frames) < len(read):
        return ImpactSection({"available": False}, None)
    estimates, balance = frames["impact_estimates"], frames["impact_balance"]
    events, coverage = frames["impact_event_study"], frames["impact_coverage"]
    shown_events = events[events["method"] == FIXED_EFFECTS].sort_values("event_time")
    cohorts = events[events["method"] == CALLAWAY_SANTANNA].sort_values("event_time")
    growth_balance = balance[(balance["design"] == "growth_matched") & ~balance["suppressed"]]
    limit = seeds.thresholds()["max_balance_smd"]
    pre_trend = float(shown_events["pre_trend_p_value"].iloc[0]) if len(shown_events) else None
    unbalanced = balance[~balance["suppressed"] & (balance["smd_after"].abs() > limit)]
    shared = {
        "available": True,
        "sentences": _sentences(estimates),
        "estimates": [
            {
                "outcome": r.outcome.replace("_", " "),
                "estimand": r.estimand.replace("_", " "),
                "method": r.method,
                "estimate": _number(r.estimate, 2),
                "interval": "-" if r.suppressed else f"{_number(r.ci_low, 2)} to {_number(r.ci_high, 2)}",
                "firms": f"{r.n_firms_treated:,} / {r.n_firms_control:,}",
            }
            for r in estimates[estimates["group_by"].isna()].itertuples()
        ],
        "intensity": intensity(estimates),
        "groups": groups(estimates),
        # one reporting year published: nobody is seen joining, so there is no event study to draw
        "event_chart": ""
        if events.empty
        else report_charts.event_study_chart(
            shown_events["event_time"].tolist(),
            [None if pd.isna(v) else float(v) for v in shown_events["estimate"]],
            [None if pd.isna(v) else float(v) for v in shown_events["ci_low"]],
            [None if pd.isna(v) else float(v) for v in shown_events["ci_high"]],
            {
                "event_time": cohorts["event_time"].tolist(),
                **{
                    key: [None if pd.isna(v) else float(v) for v in cohorts[column]]
                    for key, column in (("estimate", "estimate"), ("low", "ci_low"), ("high", "ci_high"))
                },
            },
        ),
        "pre_trend": "Only one reporting year is published, so no firm is seen joining a cluster: the comparison "
        "before and after joining needs two years or more."
        if pre_trend is None
        else f"The joint test that growth did not differ in the years before joining gives p = {pre_trend:.2f}"
        + (
            " (no sign of a pre-trend)."
            if pre_trend >= seeds.thresholds()["min_pre_trend_p_value"]
            else ": growth already differed before joining, so read the estimates with care."
        ),
        "balance_chart": report_charts.balance_chart(
            [covariate_label(c) for c in growth_balance["covariate"]],
            growth_balance["smd_before"].tolist(),
            growth_balance["smd_after"].tolist(),
            limit,
        ),
        "unbalanced": ""
        if unbalanced.empty
        else "Not balanced after matching (standardised difference above "
        f"{limit:g}): "
        + ", ".join(sorted({covariate_label(c) for c in unbalanced["covariate"]}))
        + ". The comparison still differs from the participants in these; read the estimates with that in mind.",
        "staggered": _staggered_sentence(estimates),
        "years": str(estimates["years"].iloc[0]) if len(estimates) else "",
        "method": [paragraph.format(factor=growth_outlier_factor()) for paragraph in METHOD],
    }
    return ImpactSection(shared, coverage)


COVARIATE_NAMES = {
    "log_fte": "size (log full-time equivalents)",
    "log_fte_before": "size two years before (log full-time equivalents)",
    "firm_age": "firm age (years)",
    "log_productivity_pre": "productivity before (log value added per FTE)",
}


def covariate_label(name: str) -> str:
    """A balance covariate as a reader knows it: regions by name, industries by NACE division."""
    kind, _, code = name.partition("=")
    if kind == "region":
        return f"region: {seeds.region_names().get(code, code)}"
    if kind == "industry":
        return f"industry: NACE {code}"
    return COVARIATE_NAMES.get(name, name.replace("_", " "))


def link_sentence(year: int, link: pd.Series | None) -> str:
    """How many of the year's member companies were found in the register, unless the counts
    are suppressed (fewer than min_firms linked): then only that they are."""
    if link is None:
        return ""
    if bool(link.get("suppressed", False)) or pd.isna(link["linked_to_register"]):
        return (
            f"In {year}, fewer than {disclosure.min_firms()} member companies were found in the firm register, "
            "so the link counts are not shown (the disclosure rule)."
        )
    if pd.isna(link["link_rate"]):
        return ""
    return (
        f"In {year}, {int(link['linked_to_register']):,} of the {int(link['companies_with_cvr']):,} member companies "
        f"with a CVR number ({link['link_rate']:.1%}) were found in the firm register; "
        f"{int(link['companies']) - int(link['companies_with_cvr']):,} member companies gave no CVR and could not "
        "be linked."
    )
