"""Freshness of the current reporting year's published tables: stale when its landing folder
has submissions but a table of that year was not updated within the limit (the thresholds seed)."""

from __future__ import annotations

from pathlib import Path

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.ingest.landing_state import year_folders

FRESH_TABLES = ["national_outcomes", "indicator_status"]


def limit_hours() -> float:
    return seeds.thresholds()["freshness_limit_hours"]


def current_year(landing: Path, first: int, last: int) -> int | None:
    """The latest reporting year whose landing folder has submissions."""
    found = year_folders(Path(landing), first, last)
    return max(found) if found else None


def stale_tables(last_updated: dict[str, float | None], now: float, hours: float | None = None) -> dict[str, str]:
    """table -> why it is stale, from each table's last update (seconds since the epoch; None: never)."""
    hours = limit_hours() if hours is None else hours
    stale = {}
    for table, updated in last_updated.items():
        if updated is None:
            stale[table] = "never published"
        elif now - updated > hours * 3600:
            stale[table] = f"last updated {(now - updated) / 3600:.1f} hours ago (limit {hours:g})"
    return stale
