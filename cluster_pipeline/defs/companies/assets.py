"""Companies: resolve the same organisation across clusters, so national counts are of
distinct companies, not sums of cluster lists."""

import dagster as dg

from cluster_pipeline.defs.metadata import markdown_table, table_metadata
from cluster_pipeline.defs.partitions import year_of, years
from cluster_pipeline.defs.resources import OutputFolder
from cluster_pipeline.lib import seeds, tables
from cluster_pipeline.lib.entity_resolution import resolve_companies as resolve

ONE_COMPANY_PER_ROW = "every_row_has_one_company"
ONE_CVR_PER_COMPANY = "no_company_holds_two_cvrs"
DISTINCT_RATIO = "distinct_companies_per_membership"


@dg.multi_asset(
    partitions_def=years,
    group_name="companies",
    specs=[
        dg.AssetSpec("companies", deps=["accepted_members"], kinds={"parquet"},
                     description="One row per resolved organisation active in the year, with a stable company_id."),
        dg.AssetSpec("memberships", deps=["accepted_members"], kinds={"parquet"},
                     description="One row per accepted members row, with its company_id and how it was matched."),
    ],
    check_specs=[
        dg.AssetCheckSpec(ONE_COMPANY_PER_ROW, asset="memberships", blocking=True,
                          description="Every accepted members row has exactly one company, and that company is published."),
        dg.AssetCheckSpec(ONE_CVR_PER_COMPANY, asset="companies", blocking=True,
                          description="No company holds two different valid CVR numbers."),
        dg.AssetCheckSpec(DISTINCT_RATIO, asset="companies",
                          description="Reports distinct companies per membership; warns outside 0.3-1.0."),
    ],
)
def resolve_companies(context: dg.AssetExecutionContext, output: OutputFolder):
    year = year_of(context)
    members = output.read_work("accepted_members", year)
    resolution = resolve(members, seeds.municipalities(), seeds.thresholds()["sme_employee_limit"])
    companies, memberships = resolution.companies, resolution.memberships

    schema = tables.schema("companies")
    path = output.publish("companies", year, companies, schema)
    top = companies.sort_values(["n_clusters", "company_id"], ascending=[False, True]).head(10)
    yield dg.MaterializeResult(asset_key="companies", metadata={
        **table_metadata(companies, path, schema, preview=top),
        "companies (actor_type company)": int((companies["actor_type"] == "company").sum()),
    })
    published = memberships[tables.columns("memberships")]
    schema = tables.schema("memberships")
    path = output.publish("memberships", year, published, schema)
    rules = published["match_rule"].value_counts().rename_axis("match_rule").reset_index(name="rows")
    yield dg.MaterializeResult(asset_key="memberships", metadata={
        **table_metadata(published, path, schema), "match_rules": dg.MetadataValue.md(markdown_table(rules))})

    unmatched = memberships["company_id"].isna() | ~memberships["company_id"].isin(companies["company_id"])
    yield dg.AssetCheckResult(
        asset_key="memberships", check_name=ONE_COMPANY_PER_ROW,
        passed=bool(len(memberships) == len(members) and not unmatched.any() and companies["company_id"].is_unique),
        metadata={"accepted_rows": len(members), "memberships": len(memberships), "rows_without_company": int(unmatched.sum())},
    )
    cvrs = memberships.dropna(subset=["cvr"]).groupby("company_id")["cvr"].nunique()
    yield dg.AssetCheckResult(asset_key="companies", check_name=ONE_CVR_PER_COMPANY, passed=bool((cvrs <= 1).all()),
                              metadata={"companies_with_two_cvrs": int((cvrs > 1).sum())})
    ratio = len(companies) / len(memberships) if len(memberships) else 1.0
    yield dg.AssetCheckResult(asset_key="companies", check_name=DISTINCT_RATIO, passed=0.3 <= ratio <= 1.0,
                              severity=dg.AssetCheckSeverity.WARN,
                              metadata={"ratio": dg.MetadataValue.float(ratio), "companies": len(companies),
                                        "memberships": len(memberships)})
