"""The ingest manifest: every landing file of the year with its status and rows read, accepted
and quarantined, counted from what validation accepted and quarantined (so it sits in the
contracts group, downstream of the validation it accounts for)."""

import dagster as dg
import pandas as pd

from cluster_pipeline.defs.metadata import declared_check, markdown_table, table_metadata, warn_when_any
from cluster_pipeline.defs.partitions import ONE_RUN_FOR_MANY_YEARS, for_each_year, years
from cluster_pipeline.defs.resources import OutputFolder
from cluster_pipeline.lib import tables
from cluster_pipeline.lib.contracts.submissions import ingest_manifest as build_manifest
from cluster_pipeline.lib.contracts.submissions import unaccounted_files
from cluster_pipeline.lib.ingest.intake import OTHER_VERSION
from cluster_pipeline.lib.survey.template import load_template

ACCOUNTING = "rows_accounted_for"
CURRENT_TEMPLATE = "files_follow_the_template_in_force"
CONFLICTS = "no_supersession_conflicts"
TIES = "no_supersession_ties"


def flagged_files(manifest: pd.DataFrame, flag: str) -> pd.DataFrame:
    return manifest[manifest[flag].fillna(False).astype(bool)][["source_file", "status", "reason"]]


@dg.asset(
    partitions_def=years,
    backfill_policy=ONE_RUN_FOR_MANY_YEARS,
    group_name="contracts",
    kinds={"parquet"},
    deps=["landed_files", "accepted_members", "accepted_profiles", "quarantine"],
    check_specs=[
        declared_check("ingest_manifest", ACCOUNTING),
        declared_check("ingest_manifest", CURRENT_TEMPLATE),
        declared_check("ingest_manifest", CONFLICTS),
        declared_check("ingest_manifest", TIES),
    ],
    description=tables.table("ingest_manifest").description,
)
def ingest_manifest(context: dg.AssetExecutionContext, output: OutputFolder):
    yield from for_each_year(context, lambda year: _manifest_year(year, output))


def _manifest_year(year: int, output: OutputFolder):
    files = output.read("landed_files", year)
    accepted = [output.read("accepted_members", year), output.read("accepted_profiles", year)]
    manifest = build_manifest(files, accepted, output.read("quarantine", year))
    schema = tables.schema("ingest_manifest")
    path = output.write("ingest_manifest", manifest, year)

    ingested = manifest[manifest["status"] == "ingested"]
    off = unaccounted_files(manifest)
    yield dg.MaterializeResult(
        metadata=table_metadata(manifest, path, schema, preview=manifest.drop(columns=["sha256"]))
    )
    yield dg.AssetCheckResult(
        check_name=ACCOUNTING,
        passed=off.empty,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "files_checked": len(ingested),
            "rows_read": int(ingested["rows_read"].sum()),
            "rows_accepted": int(ingested["rows_accepted"].sum()),
            "rows_quarantined": int(ingested["rows_quarantined"].sum()),
            "files_off": dg.MetadataValue.md(
                markdown_table(off[["source_file", "rows_read", "rows_accepted", "rows_quarantined"]])
                if len(off)
                else "none"
            ),
        },
    )
    yield warn_when_any(CONFLICTS, flagged_files(manifest, "conflict"), "files")
    yield warn_when_any(TIES, flagged_files(manifest, "tie"), "files")
    in_force = load_template().version_in_force(year)
    older = manifest[manifest["template_version"].notna() & (manifest["template_version"] < in_force)]
    other = manifest[manifest["reason"].map(lambda r: isinstance(r, str) and OTHER_VERSION in r).astype(bool)]
    behind = pd.concat([older, other])[["source_file", "status", "template_version", "reason"]]
    yield warn_when_any(CURRENT_TEMPLATE, behind, "files", template_version_in_force=in_force)
