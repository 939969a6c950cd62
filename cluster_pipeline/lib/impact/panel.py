"""The firm-years the measurement compares: the register's accepted rows, who took part in a
cluster that year (from the published companies), productivity growth after the stated
outlier rule, and the cells firms are matched in.

What a growth is compared on is measured before the growth's two years: a register year's
productivity and fte hold a transitory part (a good year, accounting noise), and a growth
from t-1 to t carries the transitory parts of both years, so a firm's size two register years
before t (SIZE_LAG) is its size for the growth designs, never the level the growth starts from.

Outlier rule (stated in the report's method): growth of log labour productivity from t-1 to
t is computed only when both years have accounts with value added > 0 and fte > 0, and is
removed when productivity changes by more than a factor of GROWTH_OUTLIER_FACTOR in a year
(a unit error: accounts in DKK instead of DKK 1,000 make it jump a thousandfold).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cluster_pipeline.lib import seeds


def growth_outlier_factor() -> float:
    return seeds.thresholds()["growth_outlier_factor"]


PARTICIPATION = ["cvr", "year", "services", "member_type"]
PRODUCTIVITY_BANDS = 5  # pre-period productivity in quintiles of its year (a matching cell), -1 unknown
SIZE_LAG = 2  # the register years before a growth's year its size is read from (size_band_before)
# the cells within which firms' growth is taken to move alike (industries grow at rates of their
# own): the staggered estimator's comparison cells and the event study's absorbed effects (with the year)
TREND_CELLS = ["division", "size_band_before"]


def _use_of_services(memberships: pd.DataFrame) -> pd.DataFrame:
    """Per company: the services it used that year as service_intensity counts them (one figure per
    cluster, the highest when listed twice, summed; unknown when any membership has none) and its
    member type (committed when any membership is committed)."""
    rows = memberships[memberships["actor_type"] == "company"]
    keys = [rows["company_id"], rows["cluster_id"]]
    per_cluster = rows["services_used"].astype("float64").groupby(keys).max()
    known = rows["services_used"].notna().groupby(keys).all().groupby(level=0).all()
    committed = (rows["member_type"] == "committed").groupby(rows["company_id"]).any()
    return pd.DataFrame(
        {
            "services": per_cluster.groupby(level=0).sum().where(known),
            "member_type": committed.map({True: "committed", False: "participant"}),
        }
    )


def participation(
    companies: dict[int, pd.DataFrame], memberships: dict[int, pd.DataFrame] | None = None
) -> pd.DataFrame:
    """(cvr, year) of every private company in a year's published companies: its CVR, or the CVR
    its company_id carries (an identity that holds a CVR in another year); with the year's
    memberships, the services it used and its member type."""
    frames = []
    for year, frame in companies.items():
        firms = frame[frame["actor_type"] == "company"]
        from_id = firms["company_id"].where(firms["company_id"].str.startswith("CVR")).str.removeprefix("CVR")
        found = pd.DataFrame({"cvr": firms["cvr"].fillna(from_id), "year": int(year)})
        if memberships is not None and year in memberships:
            use = _use_of_services(memberships[year]).reindex(firms["company_id"])
            found["services"], found["member_type"] = use["services"].to_numpy(), use["member_type"].to_numpy()
        frames.append(found.dropna(subset=["cvr"]))
    found = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PARTICIPATION)
    return found.reindex(columns=PARTICIPATION).drop_duplicates(["cvr", "year"], ignore_index=True)


def joining_years(firm_years: pd.DataFrame, reporting_years: list[int]) -> tuple[pd.Series, pd.Series]:
    """(cvr -> first year in a cluster, of every firm ever in one; the same for the firms that
    joined after the first reporting year, the ones seen joining)."""
    first = firm_years[firm_years["treated"]].groupby("cvr")["year"].min()
    return first, first[first > min(reporting_years)]


@dataclass
class Panel:
    firm_years: pd.DataFrame  # one row per cvr and register year
    reporting_years: list[int]
    growth_removed: dict[str, int]  # firm-years in reporting years without a growth figure, by reason


# what the event study and the staggered estimates read of a firm-year: who took part, and growth
GROWTH_PATHS = ["cvr", "year", "treated", "growth", *TREND_CELLS]


def growth_paths(panel: Panel) -> Panel:
    """The panel with only the columns the event study and the staggered estimates read."""
    return Panel(panel.firm_years[GROWTH_PATHS], panel.reporting_years, panel.growth_removed)


def firm_year_key(cvr: pd.Series, year: pd.Series) -> pd.Series:
    """One int64 per firm and year (CVR x 10,000 + year): a join key without a string MultiIndex."""
    return cvr.astype("int64") * 10_000 + year.astype("int64")


def _last_year(values: pd.Series, key: pd.Series, years: int = 1) -> np.ndarray:
    """Each firm-year's value of the firm's register year `years` before (NaN when it has none)."""
    previous = pd.Series(values.to_numpy(), index=key.to_numpy() + years)
    previous = previous[~previous.index.duplicated()]
    return previous.reindex(key.to_numpy()).to_numpy()


def _growth(firms: pd.DataFrame) -> tuple[pd.Series, np.ndarray, pd.Series, pd.Series]:
    """(log productivity, the previous register year's, growth from it, why a growth is missing)."""
    has_accounts = firms["value_added"].notna()
    positive = has_accounts & (firms["value_added"] > 0) & (firms["fte"] > 0)
    log_productivity = np.log(firms["value_added"].where(positive) / firms["fte"].where(positive))
    before = _last_year(log_productivity, firms["key"])
    growth = pd.Series(log_productivity.to_numpy() - before, index=firms.index)
    jump = growth.abs() > np.log(growth_outlier_factor())
    reason = pd.Series(None, index=firms.index, dtype=object)
    reason[np.isnan(before)] = "previous year without usable accounts"
    reason[~positive] = "no accounts, value added <= 0 or no fte"
    reason[~has_accounts] = "no accounts (value added blank)"
    reason[jump] = f"productivity changed more than {growth_outlier_factor():g}-fold (unit error)"
    return log_productivity, before, growth.where(reason.isna()), reason


def build_panel(firms: pd.DataFrame, participants: pd.DataFrame, reporting_years: list[int]) -> Panel:
    """The firm-years with everything the comparisons read. A CVR is an int64 from here on (8
    digits, validated): grouping, counting and joining on integers, not Python strings."""
    firms = firms.copy(deep=False)  # copy-on-write: the caller's frame stays as it was
    firms["cvr"] = firms["cvr"].astype("int64")
    firms["year"] = firms["year"].astype("int64")
    firms["key"] = firm_year_key(firms["cvr"], firms["year"])
    for column in ("fte", "value_added", "survey_weight"):
        firms[column] = firms[column].astype("float64")
    log_productivity, firms["log_productivity_pre"], growth, reason = _growth(firms)
    firms["log_productivity"] = log_productivity
    firms["growth"] = growth
    # each firm-year's row among the participants (-1: not taking part), looked up once for three columns
    taking_part = pd.Index(firm_year_key(participants["cvr"], participants["year"]).to_numpy())
    row = taking_part.get_indexer(firms["key"].to_numpy())
    firms["treated"] = row >= 0
    services = np.append(participants["services"].to_numpy(dtype="float64", na_value=np.nan), np.nan)
    firms["services"] = services[row]  # row -1 reads the NaN appended
    firms["services_band"] = seeds.band_of_services(firms["services"])
    firms["member_type"] = np.append(participants["member_type"].to_numpy(dtype=object), np.nan)[row]
    firms["reporting_year"] = firms["year"].isin(reporting_years)
    firms["division"] = firms["industry_code"].str.slice(0, 2)
    region_of = seeds.municipalities().set_index("municipality_code")["region_code"]
    firms["region"] = firms["municipality_code"].map(region_of)
    firms["log_fte"] = np.log1p(firms["fte"])
    firms["size_band"] = seeds.size_band_of(firms["fte"])
    firms["fte_before"] = pd.Series(_last_year(firms["fte"], firms["key"], SIZE_LAG), index=firms.index)
    firms["log_fte_before"] = np.log1p(firms["fte_before"])
    firms["size_band_before"] = seeds.size_band_of(firms["fte_before"])
    firms["size"] = np.where(firms["fte"] < seeds.sme_employee_limit(), "sme", "large")
    firms["productivity_band"] = (
        firms.groupby("year")["log_productivity_pre"]
        .transform(lambda lp: pd.qcut(lp, PRODUCTIVITY_BANDS, labels=False, duplicates="drop"))
        .fillna(-1)
        .astype("int64")
    )
    firms["age"] = firms["year"] - firms["founded_year"].astype("float64")
    removed = reason[firms["reporting_year"] & reason.notna()].value_counts()
    return Panel(firms, sorted(reporting_years), {str(k): int(v) for k, v in removed.items()})
