"""Publish: the year's published tables copied to the SQL warehouse in one transaction."""

import dagster as dg

from cluster_pipeline.defs.conditions import follows
from cluster_pipeline.defs.metadata import markdown_table
from cluster_pipeline.defs.partitions import year_of, years
from cluster_pipeline.defs.resources import OutputFolder, Warehouse
from cluster_pipeline.lib import tables
from cluster_pipeline.lib.warehouse import replace_year

import pandas as pd


@dg.asset(
    partitions_def=years,
    group_name="publish",
    kinds={"sql"},
    deps=list(tables.TABLES),
    # a year's tables re-published after the identities changed are copied again
    automation_condition=follows(dg.AutomationCondition.any_deps_updated(), "a published table updated since"),
    description="Every published table in the SQL database (SQLite beside the Parquet by default, PostgreSQL by "
    "CLUSTER_PIPELINE_WAREHOUSE_URL): one table each with a year column; the year is replaced in one transaction.",
)
def sql_warehouse(context: dg.AssetExecutionContext, output: OutputFolder, warehouse: Warehouse) -> dg.MaterializeResult:
    year = year_of(context)
    frames = {name: (output.read(name, year), tables.schema(name)) for name in tables.TABLES}
    engine = warehouse.engine(output)
    try:
        written = replace_year(engine, year, frames)
    finally:
        engine.dispose()
    summary = pd.DataFrame({"table": list(written), "rows": list(written.values())})
    return dg.MaterializeResult(metadata={
        "dagster/row_count": dg.MetadataValue.int(int(summary["rows"].sum())),
        "database": dg.MetadataValue.text(engine.url.render_as_string(hide_password=True)),
        "tables": dg.MetadataValue.md(markdown_table(summary, max_rows=20)),
    })
