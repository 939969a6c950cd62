"""The impact measurement end to end, without Dagster: the register's accepted firm-years and the
published companies of every reporting year in, the four published impact tables out (after
the disclosure rule), with what the checks need."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from cluster_pipeline.lib.impact import diagnostics, disclosure, estimates, staggered
from cluster_pipeline.lib.impact.methods import MATCHED, NAIVE, PLACEBO
from cluster_pipeline.lib.impact.panel import build_panel, growth_paths, participation


@dataclass
class Measurement:
    tables: dict[str, pd.DataFrame]  # impact_estimates, impact_balance, impact_event_study, impact_coverage
    pre_trend_p_value: float
    growth_removed: dict[str, int]  # the outlier rule: firm-years without a growth figure, by reason


def measure_impact(
    firms: pd.DataFrame,
    companies: dict[int, pd.DataFrame],
    memberships: dict[int, pd.DataFrame] | None = None,
    done: Callable[[str], None] = lambda step: None,
) -> Measurement:
    """With the years' memberships, also the groups of participants (services used, member type).
    done: told the name of each step as it ends (the benchmark's profile of time and memory).

    Memory: each step's inputs are let go once nothing after it reads them, the register's
    firm-years (0.6 GB at scale 10) as soon as the panel is built, when the caller passes them
    without keeping a reference (as the impact asset does)."""
    participants = participation(companies, memberships)
    coverage = diagnostics.coverage(companies, participants, firms)
    done("participants and coverage")
    panel = build_panel(firms, participants, sorted(companies))
    del firms
    samples, paths = estimates.samples(panel), growth_paths(panel)
    placebo = estimates.matched(estimates.placebo_sample(panel), "productivity_growth", PLACEBO)
    del panel  # every firm-year with every column (1.5 GB at scale 10): what follows reads the samples and the paths
    done("panel and samples")
    events, pre_trend = diagnostics.event_study(paths)
    events["pre_trend_p_value"] = pre_trend
    done("event study")
    joined, by_time = staggered.staggered_adoption(paths)
    growth_removed = paths.growth_removed
    del paths
    done("staggered adoption")
    designs = estimates.comparisons(samples)
    removed = ", ".join(f"{n:,} {why}" for why, n in growth_removed.items())
    table = estimates.impact_estimates(designs, samples, placebo)
    del samples, placebo
    growth = table["outcome"] == "productivity_growth"
    table.loc[growth, "detail"] = table.loc[growth, "detail"] + f"; outlier rule removed {removed}"
    done("estimates")
    balance = pd.concat(
        [
            diagnostics.balance(name, d[NAIVE], d[MATCHED])
            for name, d in (("innovation", designs["innovation"]), ("growth", designs["productivity_growth"]))
        ],
        ignore_index=True,
    )
    del designs
    done("balance")
    if joined is not None:  # firms seen joining: their group-time effects beside the regression
        table = pd.concat([table, pd.DataFrame([joined])], ignore_index=True)
        events = pd.concat([events, by_time], ignore_index=True)
    tables = {
        "impact_estimates": disclosure.suppress("impact_estimates", table),
        "impact_balance": disclosure.suppress("impact_balance", balance),
        "impact_event_study": disclosure.suppress("impact_event_study", events),
        "impact_coverage": disclosure.suppress_small_counts(
            coverage, ["companies_with_cvr", "linked_to_register", "sampled_in_innovation_survey"], ("link_rate",)
        ),
    }
    return Measurement(tables, pre_trend, growth_removed)
