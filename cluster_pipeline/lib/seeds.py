"""Reference data and thresholds from dbt_like_sql/seeds/ (public facts and policy numbers
live there, not in code)."""

from __future__ import annotations

from functools import cache

import pandas as pd

from cluster_pipeline.lib.project_files import seeds_dir


@cache
def municipalities() -> pd.DataFrame:
    """The 98 municipalities: code, name, region code and name, main postal code and town (all text)."""
    return pd.read_csv(seeds_dir() / "municipalities.csv", dtype=str)


@cache
def thresholds() -> dict[str, float]:
    frame = pd.read_csv(seeds_dir() / "thresholds.csv", dtype={"name": str, "value": float})
    return dict(zip(frame["name"], frame["value"]))


@cache
def indicator_targets() -> pd.DataFrame:
    """The six indicators: target, maximum, 2014 baseline and target year (the strategy's numbers)."""
    return pd.read_csv(seeds_dir() / "indicator_targets.csv")
