"""The figures of the yearly report, read from the published tables of that run (the year
and the years before it that are published) and never computed another way: the report
only selects, orders and compares what the tables hold."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.contracts.submissions import clusters_not_reported, clusters_without_members, rules_summary
from cluster_pipeline.lib.publish.impact_section import ImpactSection, impact_section
from cluster_pipeline.lib.publish.parquet_store import read_partition, years_written
from cluster_pipeline.lib.vocabulary import FLAGS

LABELS = ["gold", "silver", "bronze"]


@dataclass
class ReportFigures:
    year: int
    years: list[int]  # published years up to this one
    national: pd.DataFrame  # national_outcomes, one row per year (index year)
    indicators: pd.DataFrame  # indicator_status of the year
    indicator_history: pd.DataFrame  # indicator_status of every year (year, indicator_id, value, status)
    target_years: dict[str, int]  # from the indicator_targets seed
    regions: pd.DataFrame  # regional_outcomes of the year
    clusters: pd.DataFrame  # clusters joined with cluster_outcomes, of the year
    labels_by_year: pd.DataFrame  # valid gold/silver/bronze labels per year (from clusters)
    manifest: pd.DataFrame  # ingest_manifest of the year
    quarantine_rules: pd.DataFrame  # quarantined rows by rule (rule, words, rows)
    quarantined_rows: int  # rows quarantined (a row may break several rules)
    clusters_without_members: pd.DataFrame  # profile accepted, no accepted members
    clusters_not_reported: pd.DataFrame  # accepted rows last year, none this year
    impact: dict  # the impact section's context (lib/publish/impact_section.py); available False without one
    service_intensity: pd.DataFrame  # of the year; empty in a year without template version 2 files

    @property
    def previous(self) -> int | None:
        earlier = [y for y in self.years if y < self.year]
        return max(earlier) if earlier else None


def published_years(output: Path, year: int) -> list[int]:
    """The years up to this one whose statistics are published."""
    return [y for y in years_written(Path(output), "national_outcomes") if y <= year]


def _reported(output: Path, year: int) -> pd.DataFrame:
    """The clusters with published rows in the year: a profile (the catalogue) or members."""
    profiles = read_partition(output, "clusters", year, columns=["cluster_id", "cluster_name"])
    members = read_partition(output, "memberships", year, columns=["cluster_id"])
    return pd.concat([profiles, members], ignore_index=True)


def report_figures(output: Path, year: int, impact: ImpactSection | None = None) -> ReportFigures:
    """impact: the impact section when the caller read it already (once for all years of a run)."""
    output = Path(output)
    years = published_years(output, year)
    if year not in years:
        raise FileNotFoundError(f"no published statistics for {year} in {output}: materialise the year first")
    by_year = {
        y: {name: read_partition(output, name, y) for name in ("national_outcomes", "indicator_status", "clusters")}
        for y in years
    }
    national = pd.concat([t["national_outcomes"].assign(year=y) for y, t in by_year.items()]).set_index("year")
    history = pd.concat([t["indicator_status"].assign(year=y) for y, t in by_year.items()], ignore_index=True)
    labels = pd.DataFrame(
        [
            {
                "year": y,
                **{
                    label: int((t["clusters"]["label_valid"] & (t["clusters"]["label"] == label)).sum())
                    for label in LABELS
                },
            }
            for y, t in by_year.items()
        ]
    ).set_index("year")
    clusters = by_year[year]["clusters"].merge(
        read_partition(output, "cluster_outcomes", year)[["cluster_id", *FLAGS]], on="cluster_id", how="left"
    )
    quarantine = read_partition(output, "quarantine", year)
    memberships = read_partition(output, "memberships", year, columns=["cluster_id"])
    silent = clusters_without_members(clusters, memberships)
    gone = clusters_not_reported(_reported(output, year - 1) if year - 1 in years else None, _reported(output, year))
    targets = seeds.indicator_targets()
    return ReportFigures(
        year=year,
        years=years,
        national=national,
        indicators=by_year[year]["indicator_status"],
        indicator_history=history[["year", "indicator_id", "value", "status"]],
        target_years=dict(zip(targets["indicator_id"], targets["target_year"].astype(int))),
        regions=read_partition(output, "regional_outcomes", year),
        clusters=clusters.sort_values("cluster_id"),
        labels_by_year=labels,
        manifest=read_partition(output, "ingest_manifest", year),
        quarantine_rules=rules_summary(quarantine),
        quarantined_rows=int((quarantine["level"] == "row").sum()),
        clusters_without_members=silent,
        clusters_not_reported=gone,
        impact=(impact or impact_section(output)).of_year(year),
        service_intensity=read_partition(output, "service_intensity", year),
    )
