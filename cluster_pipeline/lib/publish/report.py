"""The yearly statistics report: one self-contained HTML file for people who do not write
SQL (charts as inline SVG, nothing loaded from the network, printable). Every figure is
read from the published tables (lib/publish/report_figures.py); every text from the data is
escaped by Jinja's autoescape."""

from __future__ import annotations

import html.parser
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from cluster_pipeline.lib import html_pages, seeds
from cluster_pipeline.lib.publish import report_charts
from cluster_pipeline.lib.publish.report_figures import LABELS, ReportFigures
from cluster_pipeline.lib.vocabulary import FLAGS, outcomes

# the outcomes as the members contract names them for people
OUTCOME_LABELS = {o.flag: o.en for o in outcomes()}

STATUS_TEXT = {"met": "met", "on_track": "on track", "not_met": "not met"}
REGION_NAMES = seeds.region_names()


def _count(value) -> str:
    return "-" if value is None or pd.isna(value) else f"{int(value):,}"


def _number(value) -> str:
    if value is None or pd.isna(value):
        return "-"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _change(now, before) -> str:
    if before is None or pd.isna(before):
        return "no earlier year"
    delta = int(now) - int(before)
    return f"{delta:+,} ({delta / before:+.1%})" if before else f"{delta:+,}"


def _indicators(f: ReportFigures) -> list[dict]:
    """In the strategy's order (the indicator_targets seed)."""
    order = {indicator: i for i, indicator in enumerate(f.target_years)}
    units = seeds.indicator_targets().set_index("indicator_id")["unit"]
    rows = []
    for ind in f.indicators.sort_values("indicator_id", key=lambda ids: ids.map(order)).itertuples():
        history = f.indicator_history[f.indicator_history["indicator_id"] == ind.indicator_id].sort_values("year")
        history = history[history["value"].notna()]
        chart = (
            report_charts.indicator_chart(
                ind.indicator_id.replace("_", " "),
                units[ind.indicator_id],
                history["year"].tolist(),
                history["value"].astype(float).tolist(),
                float(ind.target),
                None if pd.isna(ind.baseline) else float(ind.baseline),
                None if pd.isna(ind.baseline_year) else int(ind.baseline_year),
                f.target_years[ind.indicator_id],
            )
            if len(history)
            else ""
        )
        rows.append(
            {
                "id": ind.indicator_id,
                "title": ind.title,
                "raw_value": "" if pd.isna(ind.value) else repr(float(ind.value)),
                "value": _number(ind.value),
                "target": _number(ind.target),
                "baseline": _number(ind.baseline),
                "status": ind.status,
                "status_text": STATUS_TEXT[ind.status],
                "detail": ind.detail or "",
                "chart": chart,
            }
        )
    return rows


def _clusters(f: ReportFigures) -> list[dict]:
    rows = []
    for c in f.clusters.itertuples():
        failures = list(c.eligibility_failures) if c.eligibility_failures is not None else []
        rows.append(
            {
                "id": c.cluster_id,
                "name": c.cluster_name,
                "region": REGION_NAMES.get(c.region_code, c.region_code or "-"),
                "label": c.label or "-",
                "valid_until": "-" if pd.isna(c.label_valid_until) else str(c.label_valid_until),
                "eligible": "yes" if c.eligible else "no: " + ", ".join(f.replace("_", " ") for f in failures),
                "companies": _count(c.companies),
                "outcomes": [_count(getattr(c, flag)) for flag in FLAGS],
            }
        )
    return rows


def eligibility_criteria() -> list[tuple[str, str]]:
    """The national criteria as the catalogue's "no: ..." names them (limits from the thresholds seed)."""
    limits = seeds.thresholds()
    return [
        ("committed companies", f"fewer than {limits['min_committed_companies']:g} committed private companies"),
        ("triple helix", "not at least one company, one knowledge institution and one public actor among its members"),
        ("staff fte", f"less than {limits['min_staff_fte']:g} full-time staff in the cluster organisation"),
        ("label", "no excellence label (bronze, silver or gold) valid at the end of the year, and none in process"),
    ]


def _quality(f: ReportFigures) -> tuple[str, list[dict]]:
    counts = f.manifest["status"].value_counts()
    rows = f.manifest.groupby("status")["rows_read"].sum()
    sentence = (
        f"{len(f.manifest)} files received: {counts.get('ingested', 0)} ingested, "
        f"{counts.get('quarantined', 0)} set aside whole, {counts.get('superseded', 0)} superseded by a later "
        f"file, {counts.get('ignored', 0)} ignored (not a submission). Every row is accounted for: "
        f"{_count(f.manifest['rows_read'].sum())} rows read = {_count(f.manifest['rows_accepted'].sum())} "
        f"accepted + {_count(f.manifest['rows_quarantined'].sum())} quarantined + "
        f"{_count(rows.get('quarantined', 0))} in files set aside whole + "
        f"{_count(rows.get('superseded', 0))} in files a later version replaced."
    )
    # files that took rows out of the figures: set aside, replaced (a tie said so), in conflict with another
    conflict = f.manifest["conflict"].fillna(False).astype(bool)
    listed = f.manifest[(f.manifest["status"] != "ingested") | conflict].sort_values(["status", "source_file"])
    return sentence, [
        {
            "file": r.source_file,
            "status": "conflict: rows quarantined"
            if r.conflict
            else "superseded (same modification time)"
            if r.tie
            else {"quarantined": "set aside"}.get(r.status, r.status),
            "reason": r.reason or "",
        }
        for r in listed.itertuples()
    ]


def _services(f: ReportFigures) -> dict | None:
    """Outcomes by services used (template version 2 years), the known bands in the chart."""
    table = f.service_intensity
    if table.empty:
        return None
    known = table[(table["band"] != "unknown") & (table["companies"] > 0)]
    unknown = int(table.loc[table["band"] == "unknown", "companies"].sum())
    return {
        "chart": report_charts.service_intensity_chart(
            known["band"].tolist(),
            {OUTCOME_LABELS[flag]: known[f"{flag}_share"].astype(float).tolist() for flag in FLAGS},
            known["companies"].astype(int).tolist(),
        ),
        "rows": [
            {
                "band": r["band"],
                "companies": _count(r["companies"]),
                "cells": ["-" if pd.isna(r[f"{flag}_share"]) else f"{r[f'{flag}_share']:.0%}" for flag in FLAGS],
            }
            for r in table.to_dict("records")
        ],
        "unknown": _count(unknown),
    }


def render_report(f: ReportFigures, run_id: str = "", generated: datetime | None = None) -> str:
    generated = generated or datetime.now(UTC)
    national = f.national.loc[f.year]
    before = f.national.loc[f.previous] if f.previous is not None else None

    def prior(column):
        return None if before is None else before[column]

    cards = [
        {
            "label": label,
            "value": _count(national[column]),
            "change": f"change from {f.previous}: {_change(national[column], prior(column))}"
            if f.previous
            else "first published year",
        }
        for label, column in (
            ("distinct companies", "companies"),
            (f"of which SMEs (under {seeds.sme_employee_limit()} employees)", "companies_sme"),
            ("memberships (cluster, company)", "memberships"),
        )
    ]
    outcomes = [
        {
            "name": OUTCOME_LABELS[flag],
            "distinct": _count(national[flag]),
            "summed": _count(national[f"{flag}_sum_of_clusters"]),
            "double": _count(national[f"{flag}_sum_of_clusters"] - national[flag]),
            "change": _change(national[flag], prior(flag)) if f.previous else "-",
        }
        for flag in FLAGS
    ]
    indicators = _indicators(f)
    met = sum(i["status"] == "met" for i in indicators)
    on_track = sum(i["status"] == "on_track" for i in indicators)
    targets = f.indicators.set_index("indicator_id")
    lq_low = float(targets.at["regional_distribution", "target"])
    lq_high = float(seeds.indicator_targets().set_index("indicator_id").at["regional_distribution", "max_value"])
    regions = f.regions.sort_values("region_code")
    files_sentence, files = _quality(f)
    return html_pages.template("report.html.j2").render(
        year=f.year,
        previous=f.previous,
        headline_sentence=f"{_count(national['companies'])} distinct companies took part in Denmark's clusters in "
        f"{f.year}. The {len(indicators)} national indicators: {met} met, {on_track} on track, "
        f"{len(indicators) - met - on_track} not met.",
        cards=cards,
        outcomes=outcomes,
        indicators=indicators,
        flags=[OUTCOME_LABELS[flag] for flag in FLAGS],
        outcomes_chart=report_charts.outcomes_chart(
            f.years, {OUTCOME_LABELS[flag]: f.national[flag].astype(int).tolist() for flag in FLAGS}
        ),
        outcome_years=[
            {
                "year": y,
                "cells": [_count(row[flag]) for flag in FLAGS],
                "companies": _count(row["companies"]),
                "sme_share": f"{row['companies_sme'] / row['companies']:.1%}" if row["companies"] else "-",
            }
            for y, row in f.national.iterrows()
        ],
        regions_chart=report_charts.location_quotient_chart(
            [REGION_NAMES.get(code, code) for code in regions["region_code"]],
            regions["location_quotient"].fillna(0).astype(float).tolist(),
            lq_low,
            lq_high,
        ),
        lq_low=f"{lq_low:g}",
        lq_high=f"{lq_high:g}",
        regions=[
            {
                "name": r.region_name,
                "companies": _count(r.companies),
                "innovating": _count(r.new_products),
                "share": "-" if pd.isna(r.share_innovating) else f"{r.share_innovating:.1%}",
                "lq": _number(r.location_quotient),
            }
            for r in regions.itertuples()
        ],
        labels_chart=report_charts.labels_chart(
            f.years,
            {label: f.labels_by_year[label].tolist() for label in LABELS},
            {
                "gold": float(targets.at["excellence_labels_gold", "target"]),
                "silver": float(targets.at["excellence_labels_silver", "target"]),
            },
        ),
        label_names=LABELS,
        label_years=[{"year": y, "cells": row.tolist()} for y, row in f.labels_by_year.iterrows()],
        clusters=_clusters(f),
        files_sentence=files_sentence,
        files_set_aside=files,
        rules=f.quarantine_rules.to_dict("records"),
        rules_total=int(f.quarantine_rules["rows"].sum()),
        quarantined_rows=f.quarantined_rows,
        eligibility_criteria=eligibility_criteria(),
        silent=[{"id": r.cluster_id, "name": r.cluster_name} for r in f.clusters_without_members.itertuples()],
        not_reported=[
            {"id": r.cluster_id, "name": r.cluster_name if isinstance(r.cluster_name, str) else ""}
            for r in f.clusters_not_reported.itertuples()
        ],
        impact=f.impact,
        services=_services(f),
        method=[
            "A distinct company is one private company (actor type company), counted once however "
            "many clusters list it: "
            "the same CVR number is the same company, and without a CVR the name within the postal code decides. "
            "Knowledge institutions and public actors are members but not counted as companies.",
            f"An SME has fewer than {seeds.sme_employee_limit()} employees, as reported by the "
            "clusters. An outcome counts for a company when at "
            "least one of its clusters reports it.",
            "A label is valid for a year when the profile reports gold, silver or bronze and the label is valid on "
            "31 December of that year.",
            "An indicator is met when its value reaches the 2018 target; on track when it is below "
            "the target but at or "
            "above the straight line from the 2014 baseline to the target for this year; otherwise not met.",
            "The figures come from the clusters' yearly survey files, validated against the data "
            "contracts; broken rows "
            "and files are set aside with their reasons (section 6). To see the rows behind a figure, use "
            "cluster-pipeline explain.",
        ],
        provenance=f"Made {generated:%Y-%m-%d %H:%M} UTC from the published tables of {', '.join(map(str, f.years))}"
        + (f" by Dagster run {run_id}" if run_id else "")
        + ".",
    )


def write_report(f: ReportFigures, folder: Path, run_id: str = "") -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{f.year}.html"
    staging = path.with_suffix(".html.tmp")
    staging.write_text(render_report(f, run_id), encoding="utf-8")
    staging.replace(path)  # readers never see half a report
    return path


class _IndicatorRows(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: dict[str, tuple[str, str]] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "tr" and "data-indicator" in attributes:
            self.found[attributes["data-indicator"]] = (
                attributes.get("data-value", ""),
                attributes.get("data-status", ""),
            )


def indicators_in_report(text: str) -> dict[str, tuple[float | None, str]]:
    """What the report shows per indicator (value, status), read back from its HTML."""
    parser = _IndicatorRows()
    parser.feed(text)
    return {k: (float(v) if v else None, s) for k, (v, s) in parser.found.items()}


def indicator_differences(report_text: str, indicator_status: pd.DataFrame) -> list[str]:
    """The indicators whose value or status in the report differ from indicator_status."""
    shown = indicators_in_report(report_text)
    published = {
        r.indicator_id: (None if pd.isna(r.value) else float(r.value), r.status) for r in indicator_status.itertuples()
    }
    return sorted(k for k in published.keys() | shown.keys() if published.get(k) != shown.get(k))
