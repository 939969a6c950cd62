"""Companies: resolve the same organisation across clusters within each year (so national
counts are of distinct companies, not sums of cluster lists), then give each organisation
one id across years.

    accepted_members[Y] -> resolved_companies[Y] -> company_identities (all years) -> companies[Y], memberships[Y]

A year's companies and counts come from that year alone; company_identities only names
them. When identities change (a new year brings a CVR for an organisation listed without
one before), the other years' companies and memberships are out of date: company_identities
lists those years, and their automation condition (automation.py) re-publishes them, evaluated
by dagster-daemon in a deployment and by `cluster-pipeline run` after its years. Either way
Dagster records every re-published partition.
"""

import dagster as dg
import pandas as pd

from cluster_pipeline.defs.companies.automation import IDENTITIES_CHANGED, YEARS_TO_REPUBLISH
from cluster_pipeline.defs.metadata import declared_check, every_year, intermediate, markdown_table, table_metadata
from cluster_pipeline.defs.partitions import (
    ONE_RUN_FOR_MANY_YEARS,
    add_partitions,
    for_each_year,
    year_range,
    years,
)
from cluster_pipeline.defs.resources import OutputFolder, Warehouse
from cluster_pipeline.lib import seeds, tables
from cluster_pipeline.lib.columns import is_in
from cluster_pipeline.lib.companies.identities import (
    LINKED_COLUMNS,
    apply_ids,
    ids_not_current,
    ids_with_two_cvrs,
    link_years,
    year_evidence,
)
from cluster_pipeline.lib.companies.resolution import resolve_companies as resolve
from cluster_pipeline.lib.publish.warehouse import replace_table

ONE_COMPANY_PER_ROW = "every_row_has_one_company"
ONE_CVR_PER_COMPANY = "no_company_holds_two_cvrs"
DISTINCT_RATIO = "distinct_companies_per_membership"
KNOWN_IDS = "every_published_id_is_in_company_identities"
STABLE_IDS = "ids_stable_across_consecutive_years"
ONE_CVR_PER_IDENTITY = "no_company_id_maps_to_two_cvrs"
FORMER_IDS = "former_ids_point_to_current_ids"
MIN_STABILITY = seeds.thresholds()["min_identity_stability"]
MIN_RATIO = seeds.thresholds()["min_companies_per_membership"]
IDS = "company_ids"  # (year, local_id) -> company_id, intermediate


RESOLVED = "resolved_memberships"  # each members row with the year's own id of its organisation, intermediate


@dg.multi_asset(
    partitions_def=years,
    backfill_policy=ONE_RUN_FOR_MANY_YEARS,
    group_name="companies",
    specs=[
        intermediate(
            "resolved_companies",
            "the year's members rows resolved to distinct organisations, from that year's evidence alone, with "
            "the year's own ids (company_identities names them across years).",
            deps=["accepted_members"],
        ),
        intermediate(
            RESOLVED,
            "each accepted members row with the year's own id of its organisation and the rule that matched it.",
            deps=["accepted_members"],
        ),
    ],
    can_subset=False,
    description="The year's members rows resolved to distinct organisations, from that year's evidence alone.",
)
def resolved_companies(context: dg.AssetExecutionContext, output: OutputFolder):
    yield from for_each_year(context, lambda year: _resolve_year(year, output))


def _resolve_year(year: int, output: OutputFolder):
    members = output.read("accepted_members", year)
    resolution = resolve(members, seeds.municipalities(), seeds.sme_employee_limit())
    path = output.write("resolved_companies", resolution.companies, year)
    written = output.write(RESOLVED, resolution.memberships, year)
    rules = resolution.memberships["match_rule"].value_counts().rename_axis("match_rule").reset_index(name="rows")
    yield dg.MaterializeResult(
        asset_key=RESOLVED, metadata=table_metadata(resolution.memberships, written, preview=rules)
    )
    yield dg.MaterializeResult(
        asset_key="resolved_companies",
        metadata={
            **table_metadata(resolution.companies, path),
            "memberships": len(resolution.memberships),
            "match_rules": dg.MetadataValue.md(markdown_table(rules)),
        },
    )


def out_of_date_years(output: OutputFolder, ids: pd.DataFrame) -> list[int]:
    """Years whose published companies hold other ids than the identities give them now."""
    stale = []
    for year, mapped in ids.groupby("year"):
        path = output.file("companies", int(year))
        if path.exists() and set(output.read("companies", int(year))["company_id"]) != set(mapped["company_id"]):
            stale.append(int(year))
    return stale


@dg.multi_asset(
    group_name="companies",
    specs=[
        dg.AssetSpec(
            "company_identities",
            deps=every_year(RESOLVED),
            kinds={"parquet", "sql"},
            description=tables.table("company_identities").description,
        ),
        intermediate(
            IDS,
            "(year, the year's own id) -> company_id: how each year's organisations are named across years.",
            deps=every_year(RESOLVED),
        ),
    ],
    pool="company_identities",  # one writer of the identities at a time
    backfill_policy=ONE_RUN_FOR_MANY_YEARS,  # once in a backfill's run, after every year's resolution
    can_subset=False,
    check_specs=[
        declared_check("company_identities", STABLE_IDS),
        declared_check("company_identities", ONE_CVR_PER_IDENTITY),
        declared_check("company_identities", FORMER_IDS),
    ],
    description="One id per organisation across every resolved year.",
)
def company_identities(context: dg.AssetExecutionContext, output: OutputFolder, warehouse: Warehouse):
    # every year resolved in the output folder (not the instance's partitions: the same folder gives
    # the same identities whichever instance runs it)
    first, last = year_range()
    resolved_years = [y for y in output.years_with(RESOLVED) if first <= y <= last]
    # of each year only what linking looks at, its distinct spellings, handed over a year at a
    # time (linking keeps codes, not text: at national scale all years' text at once is gigabytes)
    evidence = ((y, year_evidence(output.read(RESOLVED, y, columns=LINKED_COLUMNS))) for y in resolved_years)
    identities = link_years(evidence, output.read("company_identities"))
    table, ids = identities.table, identities.ids
    schema = tables.schema("company_identities")
    # the identities' files move into place once the warehouse has committed (never one without the other)
    with output.writing_together({IDS: ids, "company_identities": table}) as paths, warehouse.connect(output) as engine:
        replace_table(engine, "company_identities", table, schema)
    path = paths["company_identities"]
    yield dg.MaterializeResult(asset_key=IDS, metadata=table_metadata(ids, paths[IDS]))

    stale = out_of_date_years(output, ids)
    add_partitions(context.instance, stale)  # a year another instance published into this folder
    current = table[table["company_id"] == table["current_id"]]
    former = table[table["company_id"] != table["current_id"]]
    yield dg.MaterializeResult(
        asset_key="company_identities",
        metadata={
            **table_metadata(table, path, schema, preview=former.head(10) if len(former) else current.head(10)),
            "years": dg.MetadataValue.json(resolved_years),
            "current_ids": len(current),
            "former_ids": len(former),
            YEARS_TO_REPUBLISH: dg.MetadataValue.json(stale),
        },
    )

    stability = identities.stability
    yield dg.AssetCheckResult(
        asset_key="company_identities",
        check_name=STABLE_IDS,
        passed=all(v >= MIN_STABILITY for v in stability.values()),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "lowest": dg.MetadataValue.float(min(stability.values(), default=1.0)),
            "by_year_pair": dg.MetadataValue.json({k: round(v, 5) for k, v in stability.items()}),
        },
    )
    cvrs = ids_with_two_cvrs(ids, {y: output.read(RESOLVED, y, columns=["company_id", "cvr"]) for y in resolved_years})
    yield dg.AssetCheckResult(
        asset_key="company_identities",
        check_name=ONE_CVR_PER_IDENTITY,
        passed=not cvrs,
        metadata={"ids_with_two_cvrs": dg.MetadataValue.json(cvrs[:20]), "count": len(cvrs)},
    )
    dangling = table[~is_in(table["current_id"], current["company_id"])]
    yield dg.AssetCheckResult(
        asset_key="company_identities",
        check_name=FORMER_IDS,
        passed=dangling.empty,
        metadata={"dangling": dg.MetadataValue.json(dangling["company_id"].head(20).tolist())},
    )


@dg.multi_asset(
    partitions_def=years,
    backfill_policy=ONE_RUN_FOR_MANY_YEARS,
    group_name="companies",
    specs=[
        dg.AssetSpec(
            "companies",
            deps=["resolved_companies", RESOLVED, "company_identities", IDS],
            kinds={"parquet"},
            automation_condition=IDENTITIES_CHANGED,
            description=tables.table("companies").description,
        ),
        dg.AssetSpec(
            "memberships",
            deps=["resolved_companies", RESOLVED, "company_identities", IDS],
            kinds={"parquet"},
            automation_condition=IDENTITIES_CHANGED,
            description=tables.table("memberships").description,
        ),
    ],
    check_specs=[
        declared_check("memberships", ONE_COMPANY_PER_ROW),
        declared_check("companies", ONE_CVR_PER_COMPANY),
        declared_check("companies", DISTINCT_RATIO),
        declared_check("companies", KNOWN_IDS),
    ],
    can_subset=False,
)
def identified_companies(context: dg.AssetExecutionContext, output: OutputFolder):
    ids = output.read(IDS)
    identities = output.read("company_identities")
    yield from for_each_year(context, lambda year: _identify_year(year, ids, identities, output))


def _identify_year(year: int, ids: pd.DataFrame, identities: pd.DataFrame, output: OutputFolder):
    members = output.read("accepted_members", year)
    companies = apply_ids(output.read("resolved_companies", year), ids, year)
    memberships = apply_ids(output.read(RESOLVED, year), ids, year)

    schema = tables.schema("companies")
    path = output.write("companies", companies, year)
    top = companies.sort_values(["n_clusters", "company_id"], ascending=[False, True]).head(10)
    yield dg.MaterializeResult(
        asset_key="companies",
        metadata={
            **table_metadata(companies, path, schema, preview=top),
            "companies (actor_type company)": int((companies["actor_type"] == "company").sum()),
        },
    )
    published = memberships[tables.columns("memberships")]
    schema = tables.schema("memberships")
    path = output.write("memberships", published, year)
    rules = published["match_rule"].value_counts().rename_axis("match_rule").reset_index(name="rows")
    yield dg.MaterializeResult(
        asset_key="memberships",
        metadata={**table_metadata(published, path, schema), "match_rules": dg.MetadataValue.md(markdown_table(rules))},
    )

    unmatched = memberships["company_id"].isna() | ~is_in(memberships["company_id"], companies["company_id"])
    yield dg.AssetCheckResult(
        asset_key="memberships",
        check_name=ONE_COMPANY_PER_ROW,
        passed=bool(len(memberships) == len(members) and not unmatched.any() and companies["company_id"].is_unique),
        metadata={
            "accepted_rows": len(members),
            "memberships": len(memberships),
            "rows_without_company": int(unmatched.sum()),
        },
    )
    cvrs = memberships.dropna(subset=["cvr"]).groupby("company_id")["cvr"].nunique()
    yield dg.AssetCheckResult(
        asset_key="companies",
        check_name=ONE_CVR_PER_COMPANY,
        passed=bool((cvrs <= 1).all()),
        metadata={"companies_with_two_cvrs": int((cvrs > 1).sum())},
    )
    ratio = len(companies) / len(memberships) if len(memberships) else 1.0
    yield dg.AssetCheckResult(
        asset_key="companies",
        check_name=DISTINCT_RATIO,
        passed=MIN_RATIO <= ratio <= 1.0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"ratio": dg.MetadataValue.float(ratio), "companies": len(companies), "memberships": len(memberships)},
    )
    unknown = ids_not_current(companies["company_id"], identities)
    yield dg.AssetCheckResult(
        asset_key="companies",
        check_name=KNOWN_IDS,
        passed=not unknown,
        metadata={"unknown_ids": dg.MetadataValue.json(unknown[:20]), "count": len(unknown)},
    )
