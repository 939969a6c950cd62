"""Reference data and thresholds from dbt_like_sql/seeds/ (public facts and policy numbers
live there, not in code)."""

from __future__ import annotations

import csv
from functools import cache
from typing import TYPE_CHECKING

from cluster_pipeline.lib.project_files import seeds_dir

if TYPE_CHECKING:
    import pandas as pd


@cache
def municipalities() -> pd.DataFrame:
    """The 98 municipalities: code, name, region code and name, main postal code and town (all text)."""
    import pandas as pd

    return pd.read_csv(seeds_dir() / "municipalities.csv", dtype=str)


@cache
def thresholds() -> dict[str, float]:
    """name -> value. Read with the csv module: the CLI's defaults come from here."""
    with (seeds_dir() / "thresholds.csv").open(encoding="utf-8", newline="") as handle:
        return {row["name"]: float(row["value"]) for row in csv.DictReader(handle)}


@cache
def indicator_measures() -> dict[str, str]:
    """indicator_id -> what it measures (an outcome flag, the lowest location quotient, or a
    label's count), in the strategy's order. Read with the csv module: the CLI's --help lists them."""
    with (seeds_dir() / "indicator_targets.csv").open(encoding="utf-8", newline="") as handle:
        return {row["indicator_id"]: row["measure"] for row in csv.DictReader(handle)}


@cache
def region_names() -> dict[str, str]:
    """Region code -> region name (from the municipalities seed)."""
    towns = municipalities()
    return dict(zip(towns["region_code"], towns["region_name"]))


def sme_employee_limit() -> int:
    """An SME has fewer employees than this (the thresholds seed)."""
    return int(thresholds()["sme_employee_limit"])


def band_of_services(services: pd.Series) -> pd.Series:
    """Services used (a company's, summed over its memberships) -> its band of the service_bands
    seed; None where unknown. The same bands service_intensity.sql counts in."""
    import numpy as np
    import pandas as pd

    found = pd.Series(None, index=services.index, dtype=object)
    for row in service_bands().itertuples():
        high = np.inf if pd.isna(row.high) else row.high
        found[(services >= row.low) & (services <= high)] = row.band
    return found


def size_bands() -> pd.DataFrame:
    """The firm sizes the impact measurement matches within: band, fte_from (its lower end; each
    band reaches to the next one's), description."""
    import pandas as pd

    return pd.read_csv(seeds_dir() / "size_bands.csv", dtype={"band": str, "fte_from": "float64"})


def size_band_of(fte: pd.Series) -> pd.Series:
    """Full-time equivalents -> the position of their band in the size_bands seed (0 the smallest;
    -1 unknown)."""
    import numpy as np
    import pandas as pd

    edges = [*size_bands()["fte_from"], np.inf]
    return pd.cut(fte, edges, right=False, labels=False).fillna(-1).astype("int64")


def cluster_size_bands() -> pd.DataFrame:
    """The sizes of clusters whose figures the statistics site compares a cluster with (its peers):
    band, companies_from (its lower end; each band reaches to the next one's), description."""
    import pandas as pd

    return pd.read_csv(seeds_dir() / "cluster_size_bands.csv", dtype={"band": str, "companies_from": "int64"})


def cluster_size_band_of(companies: pd.Series) -> pd.Series:
    """Member companies of a cluster -> the name of its band in the cluster_size_bands seed."""
    import numpy as np
    import pandas as pd

    bands = cluster_size_bands()
    edges = [*bands["companies_from"], np.inf]
    return pd.cut(companies, edges, right=False, labels=list(bands["band"])).astype("string")


def service_bands() -> pd.DataFrame:
    """The bands of services used that service_intensity counts companies in: band, low, high (blank: no upper end)."""
    import pandas as pd

    return pd.read_csv(seeds_dir() / "service_bands.csv", dtype={"band": str, "low": "Int64", "high": "Int64"})


@cache
def indicator_targets() -> pd.DataFrame:
    """The indicators: target, maximum, 2014 baseline, target year and unit (the strategy's numbers)."""
    import pandas as pd

    return pd.read_csv(seeds_dir() / "indicator_targets.csv")
