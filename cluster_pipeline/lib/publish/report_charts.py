"""The report's charts as inline SVG (matplotlib: no JavaScript, nothing fetched, prints
sharp). Text stays text in the SVG; the Okabe-Ito palette reads for colour-blind readers;
every chart has a title and axis labels with units, and the report prints its numbers
beside it as a table."""

from __future__ import annotations

import io
import re
from functools import cache
from html import escape

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000"]


@cache
def _pyplot():
    """matplotlib, imported on first use (it costs the Dagster code location half a second)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render to files only
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "svg.fonttype": "none",
            "font.family": "sans-serif",
            "font.size": 9,
            "axes.prop_cycle": plt.cycler(color=OKABE_ITO),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "svg.hashsalt": "cluster-report",  # stable element ids
        }
    )
    return plt


def _svg(fig, description: str) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    _pyplot().close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # inline: no XML prolog or DOCTYPE
    return re.sub(r"<svg ", f'<svg role="img" aria-label="{escape(description)}" ', svg, count=1)


def indicator_chart(
    title: str,
    unit: str,
    years: list[int],
    values: list[float],
    target: float,
    baseline: float | None,
    baseline_year: int | None,
    target_year: int,
) -> str:
    """The values of the years so far against the target and the straight line from the
    baseline to the target (the on-track line)."""
    fig, ax = _pyplot().subplots(figsize=(4.2, 2.4))
    ax.plot(years, values, marker="o", color=OKABE_ITO[0], label="value")
    for year, value in zip(years, values):
        # the label on the side of the point away from the on-track line, on white, so the two never cross
        on_track = (
            baseline + (target - baseline) * (year - baseline_year) / (target_year - baseline_year)
            if baseline is not None and baseline_year is not None and target_year != baseline_year
            else None
        )
        below = on_track is not None and value < on_track
        ax.annotate(
            f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}",
            (year, value),
            textcoords="offset points",
            xytext=(0, -8 if below else 6),
            ha="center",
            va="top" if below else "bottom",
            fontsize=8,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
            zorder=5,
        )
    if baseline is not None and baseline_year is not None:
        ax.plot(
            [baseline_year, target_year],
            [baseline, target],
            linestyle="--",
            color=OKABE_ITO[3],
            label="on track (baseline to target)",
        )
    ax.axhline(target, color=OKABE_ITO[2], linestyle=":", label=f"target {target:,g}")
    ax.margins(y=0.2)  # room for a label above the highest point and below the lowest, clear of the axis
    low = min([*years, baseline_year or years[0]])
    ax.set_xlim(low - 0.5, max(*years, target_year) + 0.5)
    ax.set_xticks(range(low, max(*years, target_year) + 1))
    ax.set_title(title, fontsize=9, loc="left")
    ax.set_xlabel("reporting year")
    ax.set_ylabel(unit)
    ax.legend(fontsize=7, frameon=False, loc="best")
    return _svg(
        fig, f"{title}: " + ", ".join(f"{y}: {v:,.2f}" for y, v in zip(years, values)) + f"; target {target:,g}"
    )


def outcomes_chart(years: list[int], series: dict[str, list[int]]) -> str:
    fig, ax = _pyplot().subplots(figsize=(6.4, 2.8))
    for (name, values), marker in zip(series.items(), "osD^v"):
        ax.plot(years, values, marker=marker, label=name)
    ax.set_title("Distinct companies with each outcome", fontsize=9, loc="left")
    ax.set_xlabel("reporting year")
    ax.set_ylabel("companies")
    ax.set_xticks(years)
    ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))
    return _svg(fig, "Distinct companies with each outcome per year")


def location_quotient_chart(regions: list[str], quotients: list[float], low: float, high: float) -> str:
    fig, ax = _pyplot().subplots(figsize=(6.4, 2.2))
    ax.axvspan(low, high, color=OKABE_ITO[5], alpha=0.15, label=f"band {low:g}-{high:g}")
    ax.barh(regions, quotients, color=OKABE_ITO[0])
    for position, value in enumerate(quotients):
        ax.annotate(f"{value:.2f}", (value, position), textcoords="offset points", xytext=(4, -3), fontsize=8)
    ax.axvline(1.0, color="#555555", linewidth=0.8)
    ax.set_title("Location quotient of innovating companies by region", fontsize=9, loc="left")
    ax.set_xlabel("location quotient (region's share of innovating companies / its share of companies)")
    ax.set_xlim(0, max(high, *quotients) * 1.1)
    ax.invert_yaxis()
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return _svg(fig, "Location quotients: " + ", ".join(f"{r}: {q:.2f}" for r, q in zip(regions, quotients)))


def labels_chart(years: list[int], counts: dict[str, list[int]], targets: dict[str, float]) -> str:
    fig, ax = _pyplot().subplots(figsize=(6.4, 2.6))
    width = 0.8 / len(counts)
    colours = {"gold": OKABE_ITO[1], "silver": OKABE_ITO[5], "bronze": OKABE_ITO[3]}
    for i, (label, values) in enumerate(counts.items()):
        bars = ax.bar([y + (i - 1) * width for y in years], values, width, label=label, color=colours[label])
        ax.bar_label(bars, fontsize=7)
    for target in sorted(set(targets.values())):  # one line for labels that share a target
        names = " and ".join(label for label, value in targets.items() if value == target)
        ax.axhline(target, color="#555555", linestyle="--", linewidth=1, label=f"{names} target {target:g}")
    ax.set_title("Clusters with a valid excellence label", fontsize=9, loc="left")
    ax.set_xlabel("reporting year")
    ax.set_ylabel("clusters")
    ax.set_xticks(years)
    ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))
    return _svg(fig, "Valid labels per year: " + "; ".join(f"{k}: {v}" for k, v in counts.items()))


def event_study_chart(
    event_times: list[int],
    estimates: list[float | None],
    lows: list[float | None],
    highs: list[float | None],
    staggered: dict[str, list] | None = None,
) -> str:
    """Growth difference by years since joining, with 95% intervals; -1 is the reference. With
    `staggered` (event_time, estimate, low, high lists), the cohorts' group-time effects beside."""
    fig, ax = _pyplot().subplots(figsize=(6.4, 2.6))
    if staggered:
        for t, v, lo, hi in zip(staggered["event_time"], staggered["estimate"], staggered["low"], staggered["high"]):
            if v is not None:
                ax.errorbar(
                    [t + 0.2],
                    [v],
                    yerr=[[v - lo], [hi - v]],
                    fmt="s",
                    color="#777777",
                    capsize=2,
                    markersize=4,
                    label="by cohort (Callaway and Sant'Anna)" if t == staggered["event_time"][0] else None,
                )
    shown = [(t, e, lo, hi) for t, e, lo, hi in zip(event_times, estimates, lows, highs) if e is not None]
    times = [t for t, *_ in shown]
    values = [e for _, e, _, _ in shown]
    below = [e - lo if lo is not None else 0 for _, e, lo, _ in shown]
    above = [hi - e if hi is not None else 0 for _, e, _, hi in shown]
    colours = [OKABE_ITO[1] if t < 0 else OKABE_ITO[0] for t in times]
    for t, v, b, a, c in zip(times, values, below, above, colours):
        ax.errorbar([t], [v], yerr=[[b], [a]], fmt="o", color=c, capsize=3)
    ax.axhline(0, color="#555555", linewidth=0.8)
    ax.axvline(-0.5, color="#999999", linewidth=0.8, linestyle=":")
    ax.set_xticks(times)
    ax.set_title(
        "Productivity growth against never-participants, by years since joining (95% intervals)", fontsize=9, loc="left"
    )
    ax.set_xlabel("years since joining a cluster (-1 is the reference; before joining in orange)")
    ax.set_ylabel("percentage points")
    if staggered:
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    return _svg(fig, "Event study: " + ", ".join(f"{t}: {v:.2f}" for t, v in zip(times, values)))


def balance_chart(covariates: list[str], before: list[float], after: list[float], limit: float) -> str:
    """Absolute standardised mean differences before and after matching, one row per covariate."""
    fig, ax = _pyplot().subplots(figsize=(6.4, 0.5 + 0.16 * len(covariates)))
    positions = list(range(len(covariates)))
    ax.scatter([abs(v) for v in before], positions, color=OKABE_ITO[1], marker="o", label="before matching")
    ax.scatter([abs(v) for v in after], positions, color=OKABE_ITO[0], marker="s", label="after matching")
    ax.axvline(limit, color=OKABE_ITO[3], linestyle="--", linewidth=0.8, label=f"limit {limit:g}")
    ax.set_yticks(positions, covariates, fontsize=7)
    ax.invert_yaxis()
    ax.set_title("Balance: |standardised mean difference| of participants and comparison firms", fontsize=9, loc="left")
    ax.set_xlabel("|standardised mean difference|")
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return _svg(
        fig,
        "Balance before and after matching: "
        + ", ".join(f"{c}: {b:.2f} to {a:.2f}" for c, b, a in zip(covariates, before, after)),
    )


def service_intensity_chart(bands: list[str], shares: dict[str, list[float]], companies: list[int]) -> str:
    """Per band of services used, the share of its companies with each outcome (grouped bars)."""
    fig, ax = _pyplot().subplots(figsize=(6.4, 2.8))
    width = 0.8 / max(len(shares), 1)
    for i, ((outcome, values), colour) in enumerate(zip(shares.items(), OKABE_ITO)):
        ax.bar(
            [b + (i - (len(shares) - 1) / 2) * width for b in range(len(bands))],
            values,
            width,
            color=colour,
            label=outcome,
        )
    ax.set_xticks(range(len(bands)), [f"{b}\n({n:,} companies)" for b, n in zip(bands, companies)], fontsize=7)
    ax.set_title("Members who used more services report more outcomes (an association)", fontsize=9, loc="left")
    ax.set_xlabel("services of its clusters a company used that year")
    ax.set_ylabel("share of the band's companies")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))
    return _svg(
        fig,
        "Share of companies with each outcome by services used: "
        + "; ".join(
            f"{band}: " + ", ".join(f"{outcome} {values[i]:.0%}" for outcome, values in shares.items())
            for i, band in enumerate(bands)
        ),
    )


def intensity_chart(bands: list[str], panels: dict[str, dict[str, list]]) -> str:
    """Per band of services used, the matched effect with its 95% interval and the naive comparison
    beside it; one panel per outcome (title -> band values: estimate, low, high, naive; None where
    suppressed)."""
    fig, axes = _pyplot().subplots(1, len(panels), figsize=(6.4, 2.6))
    for ax, (title, values) in zip(list(axes) if len(panels) > 1 else [axes], panels.items()):
        for i in range(len(bands)):
            estimate, low, high, plain = (values[key][i] for key in ("estimate", "low", "high", "naive"))
            if estimate is not None:
                ax.errorbar(
                    [i],
                    [estimate],
                    yerr=[[estimate - low], [high - estimate]],
                    fmt="o",
                    color=OKABE_ITO[0],
                    capsize=3,
                    label="similar firms (95% interval)" if i == 0 else None,
                )
            if plain is not None:
                ax.scatter(
                    [i + 0.15], [plain], marker="x", color=OKABE_ITO[1], label="every other firm" if i == 0 else None
                )
        ax.axhline(0, color="#555555", linewidth=0.8)
        ax.set_xticks(range(len(bands)), bands, fontsize=7)
        ax.set_title(title, fontsize=8, loc="left")
        ax.set_xlabel("services used that year", fontsize=7)
        ax.set_ylabel("percentage points", fontsize=7)
    fig.legend(
        *(list(axes) if len(panels) > 1 else [axes])[0].get_legend_handles_labels(),
        fontsize=7,
        frameon=False,
        loc="lower center",
        ncol=2,
    )
    fig.subplots_adjust(bottom=0.32, wspace=0.35)
    described = "; ".join(
        f"{title}: "
        + ", ".join(
            f"{band} {'suppressed' if v['estimate'][i] is None else format(v['estimate'][i], '.1f')}"
            for i, band in enumerate(bands)
        )
        for title, v in panels.items()
    )
    return _svg(fig, "Effect by services used (matched, with the naive comparison beside it): " + described)
