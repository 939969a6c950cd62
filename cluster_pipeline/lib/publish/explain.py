"""Explain a published figure: the companies (or clusters, or regions) behind it and the
rows of the files they came from. Read from the published Parquet with DuckDB, selecting
what the SQL models counted; the count of what is listed is compared with the published
value, so a disagreement is an error, never a silent difference."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.publish.parquet_store import partition_path, read_table, years_written
from cluster_pipeline.lib.vocabulary import FLAGS

# what each indicator counts, from the indicator_targets seed: an outcome flag, or a label's clusters
COMPANY_INDICATORS = {i: m for i, m in seeds.indicator_measures().items() if m in FLAGS}
LABEL_INDICATORS = {
    i: m.removesuffix("_labels") for i, m in seeds.indicator_measures().items() if m.endswith("_labels")
}
INDICATORS = list(seeds.indicator_measures())
ROW_COLUMNS = ["year", "company_id", "name", "cluster_id", "source_file", "source_sheet", "source_row", "match_rule"]


class ExplainError(ValueError):
    """The question names something that does not exist; the message says what does."""


@dataclass
class Explanation:
    figure: str
    published: float | None  # the published value; None for a company (nothing to compare)
    rows: pd.DataFrame
    listed: float  # what the listing gives: distinct companies or clusters, or the lowest quotient
    unit: str = "companies"
    sum_of_clusters: int | None = None

    @property
    def agrees(self) -> bool:
        return self.published is None or abs(float(self.listed) - float(self.published)) < 1e-9

    def summary(self) -> str:
        listed = f"{self.listed:,.4g} {self.unit}"
        if "source_row" in self.rows:
            listed += f" in {len(self.rows):,} rows"
        extra = (
            f"; the sum of the clusters' own counts is {self.sum_of_clusters:,}"
            if self.sum_of_clusters is not None
            else ""
        )
        published = "" if self.published is None else f": published {self.published:,.4g}; behind it"
        return f"{self.figure}{published} {listed}{extra}"


def _file(output: Path, table: str, year: int) -> str:
    path = partition_path(output, table, year)
    if not path.exists():
        years = years_written(Path(output), table)
        raise ExplainError(
            f"{output} has no published {table} for {year}; published years: {', '.join(map(str, years)) or 'none'}"
        )
    return str(path)


def _query(sql: str, **params) -> pd.DataFrame:
    with duckdb.connect() as connection:
        return connection.execute(sql, params).df()


def _company_rows(output: Path, year: int, flag: str, where: str = "", **params) -> pd.DataFrame:
    """The members rows whose flag made their company count: private companies with the flag
    (the companies table's flag is true when any membership says so)."""
    return _query(
        f"""
        select {year} as year, m.company_id, c.name, m.cluster_id, m.source_file, m.source_sheet, m.source_row,
               m.match_rule, m.{flag}
        from read_parquet('{_file(output, "memberships", year)}') as m
        join read_parquet('{_file(output, "companies", year)}') as c using (company_id)
        where c.actor_type = 'company' and c.{flag} and m.{flag} {where}
        order by m.company_id, m.cluster_id, m.source_file, m.source_row""",
        **params,
    )


def _one(frame: pd.DataFrame, column: str) -> float:
    return float(frame[column].iloc[0])


def explain_outcome(
    output: Path, year: int, flag: str, cluster: str | None = None, region: str | None = None
) -> Explanation:
    output = Path(output)
    if flag not in FLAGS:
        raise ExplainError(f"unknown outcome {flag!r}; outcomes: {', '.join(FLAGS)}")
    if cluster:
        outcomes = _query(
            f"select * from read_parquet('{_file(output, 'cluster_outcomes', year)}') where cluster_id = $c", c=cluster
        )
        if outcomes.empty:
            known = _query(
                f"select cluster_id from read_parquet('{_file(output, 'cluster_outcomes', year)}') order by 1"
            )
            raise ExplainError(f"no cluster {cluster!r} in {year}; clusters: {', '.join(known['cluster_id'])}")
        # the cluster's own count: its company rows (row actor type company) that report the flag
        rows = _company_rows(output, year, flag, "and m.cluster_id = $c and m.actor_type = 'company'", c=cluster)
        return Explanation(f"{flag} in {cluster}, {year}", _one(outcomes, flag), rows, rows["company_id"].nunique())
    if region:
        outcomes = _query(
            f"select * from read_parquet('{_file(output, 'regional_outcomes', year)}') where region_code = $r", r=region
        )
        if outcomes.empty:
            known = _query(
                f"select region_code || ' ' || region_name as r from "
                f"read_parquet('{_file(output, 'regional_outcomes', year)}') order by 1"
            )
            raise ExplainError(f"no region {region!r}; regions: {', '.join(known['r'])}")
        rows = _company_rows(output, year, flag, "and c.region_code = $r", r=region)
        return Explanation(
            f"{flag} in region {region}, {year}", _one(outcomes, flag), rows, rows["company_id"].nunique()
        )
    national = _query(f"select * from read_parquet('{_file(output, 'national_outcomes', year)}')")
    rows = _company_rows(output, year, flag)
    return Explanation(
        f"{flag}, Denmark {year}",
        _one(national, flag),
        rows,
        rows["company_id"].nunique(),
        sum_of_clusters=int(_one(national, f"{flag}_sum_of_clusters")),
    )


def explain_indicator(output: Path, year: int, indicator: str) -> Explanation:
    output = Path(output)
    if indicator not in INDICATORS:
        raise ExplainError(f"unknown indicator {indicator!r}; indicators: {', '.join(INDICATORS)}")
    status = _query(
        f"select * from read_parquet('{_file(output, 'indicator_status', year)}') where indicator_id = $i", i=indicator
    )
    value = _one(status, "value")
    if indicator in COMPANY_INDICATORS:
        flag = COMPANY_INDICATORS[indicator]
        rows = _company_rows(output, year, flag)
        national = _query(f"select * from read_parquet('{_file(output, 'national_outcomes', year)}')")
        return Explanation(
            f"{indicator} ({flag}), {year}",
            value,
            rows,
            rows["company_id"].nunique(),
            sum_of_clusters=int(_one(national, f"{flag}_sum_of_clusters")),
        )
    if indicator in LABEL_INDICATORS:
        rows = _query(
            f"""select {year} as year, cluster_id, cluster_name, label, label_valid_until, label_valid
                          from read_parquet('{_file(output, "clusters", year)}')
                          where label = $l and label_valid order by cluster_id""",
            l=LABEL_INDICATORS[indicator],
        )
        return Explanation(f"{indicator}, {year}", value, rows, len(rows), unit="clusters")
    rows = _query(f"""select {year} as year, region_code, region_name, companies, new_products, location_quotient
                      from read_parquet('{_file(output, "regional_outcomes", year)}') order by location_quotient""")
    return Explanation(
        f"{indicator} (the lowest regional location quotient), {year}",
        value,
        rows,
        float(rows["location_quotient"].min()),
        unit="(lowest quotient of the regions listed)",
    )


def explain_company(output: Path, company_id: str) -> Explanation:
    """Every year, cluster and row of a company; an old id is followed to the one it stands for now."""
    output = Path(output)
    identities = read_table(output, "company_identities")
    current = company_id
    if identities is not None:
        known = identities.set_index("company_id")["current_id"]
        current = known.get(company_id, company_id)
    files = [partition_path(output, "memberships", year) for year in years_written(output, "memberships")]
    if not files:
        raise ExplainError(f"{output} has no published memberships")
    paths = ", ".join(f"'{p}'" for p in files)
    rows = _query(
        f"""
        select m.year, m.company_id, c.name, m.cluster_id, m.source_file, m.source_sheet, m.source_row, m.match_rule,
               {", ".join(f"m.{flag}" for flag in FLAGS)}
        from read_parquet([{paths}], hive_partitioning = true, hive_types = {{'year': INTEGER}}) as m
        left join read_parquet('{output}/companies/*/*.parquet', hive_partitioning = true,
                               hive_types = {{'year': INTEGER}}) as c using (year, company_id)
        where m.company_id = $id order by m.year, m.cluster_id, m.source_file, m.source_row""",
        id=current,
    )
    if rows.empty:
        raise ExplainError(
            f"no company {company_id!r} in any published year"
            + (f" (it stands for {current})" if current != company_id else "")
            + "; ids look like CVR12345678 or N… (see companies or company_identities)"
        )
    followed = f" (formerly {company_id})" if current != company_id else ""
    return Explanation(f"company {current}{followed}:", None, rows, rows["year"].nunique(), unit="years")
