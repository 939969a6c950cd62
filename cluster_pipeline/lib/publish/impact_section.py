"""The report's section "Do cluster firms do better than similar firms?", from the published
impact tables (aggregates only): the headline estimates in plain words beside the naive
comparison, the event study, balance before and after matching, the link rate, and the
method with its limits."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.impact import disclosure
from cluster_pipeline.lib.impact.methods import MATCHED, NAIVE
from cluster_pipeline.lib.impact.panel import growth_outlier_factor
from cluster_pipeline.lib.publish import report_charts
from cluster_pipeline.lib.publish.parquet_store import read_table
from cluster_pipeline.lib.tables import MEASUREMENT_TABLES

METHOD = [
    "Who takes part: a firm takes part in a year when a company with its CVR number is in that year's published "
    "companies (any accepted members row). Members without a valid CVR, knowledge institutions and public actors "
    "cannot be linked to the register.",
    "Comparison (matched): each participating firm-year is compared with firm-years of non-participants in the same "
    "year, NACE division and size band (full-time equivalents), reweighted so that every cell's comparison firms "
    "weigh as much as its participants (the effect on participants). Innovation uses the innovation survey's "
    "sample, weighted to the population by its weights. 95% intervals use standard errors clustered on firms.",
    "Productivity growth is the annual change in log value added per full-time equivalent. Firm-years without "
    "accounts, with value added of zero or less, or whose productivity changes more than {factor:g}-fold in a year "
    "(a unit error) have no growth figure; the number removed is in impact_estimates.detail.",
    "The event study follows firms first seen in a cluster after the first reporting year, from before they "
    "joined, against firms never seen in one, with industry-by-year effects. Flat estimates before joining "
    "support the comparison; they cannot prove it.",
    "Limits: the comparison adjusts only for what the register shows (industry, size, year). Firms that choose to "
    "join a cluster may differ in ways it does not show (ambition, management), so these are associations "
    "adjusted for observed differences, not proven effects. Participation is self-reported by the clusters. Every "
    "figure rests on at least the number of firms the disclosure rule requires; smaller cells are suppressed.",
]


def _number(value, digits: int = 1) -> str:
    return "suppressed" if value is None or pd.isna(value) else f"{value:,.{digits}f}"


def _estimate(estimates: pd.DataFrame, outcome: str, estimand: str, method: str) -> pd.Series | None:
    found = estimates[
        (estimates["outcome"] == outcome) & (estimates["estimand"] == estimand) & (estimates["method"] == method)
    ]
    return found.iloc[0] if len(found) else None


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
    else:
        sentences.append("Too few firms could be compared: the productivity growth estimate is suppressed.")
    return sentences


def impact_section(output: Path, year: int) -> dict:
    """The template's context for the section; `available` is False without a measurement."""
    read = {name: read_table(Path(output), name) for name in MEASUREMENT_TABLES}
    frames = {name: frame for name, frame in read.items() if frame is not None}
    if len(frames) < len(read):
        return {"available": False}
    estimates, balance = frames["impact_estimates"], frames["impact_balance"]
    events, coverage = frames["impact_event_study"], frames["impact_coverage"]
    shown_events = events.sort_values("event_time")
    growth_balance = balance[(balance["design"] == "growth_matched") & ~balance["suppressed"]]
    limit = seeds.thresholds()["max_balance_smd"]
    this_year = coverage[coverage["year"] == year]
    link = this_year.iloc[0] if len(this_year) else None
    pre_trend = float(events["pre_trend_p_value"].iloc[0]) if len(events) else None
    return {
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
            for r in estimates.itertuples()
        ],
        # one reporting year published: nobody is seen joining, so there is no event study to draw
        "event_chart": ""
        if events.empty
        else report_charts.event_study_chart(
            shown_events["event_time"].tolist(),
            [None if pd.isna(v) else float(v) for v in shown_events["estimate"]],
            [None if pd.isna(v) else float(v) for v in shown_events["ci_low"]],
            [None if pd.isna(v) else float(v) for v in shown_events["ci_high"]],
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
        "link": link_sentence(year, link),
        "years": str(estimates["years"].iloc[0]) if len(estimates) else "",
        "method": [paragraph.format(factor=growth_outlier_factor()) for paragraph in METHOD],
    }


COVARIATE_NAMES = {
    "log_fte": "size (log full-time equivalents)",
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
