"""Contracts: validate the landed cells against data_contracts/ with Great Expectations,
quarantine broken rows and files with every reason, normalise what passes."""

import dagster as dg
import pandas as pd

from cluster_pipeline.defs.ingest.assets import KINDS, cells_of
from cluster_pipeline.defs.metadata import declared_check, markdown_table, table_metadata, warn_when_any
from cluster_pipeline.defs.partitions import ONE_RUN_FOR_MANY_YEARS, for_each_year, years
from cluster_pipeline.defs.resources import OutputFolder
from cluster_pipeline.lib import seeds, tables
from cluster_pipeline.lib.contracts.submissions import (
    PROFILE_CONFLICT,
    clusters_not_reported,
    clusters_without_members,
    implausible_first_years,
    member_count_jumps,
    rules_summary,
    validate_year,
    year_quarantine,
)
from cluster_pipeline.lib.survey.template import load_template

QUARANTINE_RATE = "quarantine_rate"
MAX_QUARANTINE_RATE = seeds.thresholds()["max_quarantine_rate"]  # above it, someone should look at the files
CLUSTERS_WITH_MEMBERS = "every_cluster_with_a_profile_has_members"
STEADY_MEMBERS = "member_counts_steady_from_last_year"
MAX_CHANGE = seeds.thresholds()["max_member_count_change"]
ONE_PROFILE = "one_profile_per_cluster"
FIRST_YEAR_SIZES = "first_year_cluster_sizes_plausible"
EVERY_CLUSTER_REPORTED = "every_cluster_of_last_year_reported"
LANDED = ["landed_files", *map(cells_of, KINDS)]  # what validation reads


@dg.multi_asset(
    partitions_def=years,
    backfill_policy=ONE_RUN_FOR_MANY_YEARS,
    group_name="contracts",
    specs=[
        dg.AssetSpec(
            "accepted_profiles",
            deps=LANDED,
            kinds={"parquet"},
            description="Profile rows that passed the contract, normalised (region codes, English labels, dates).",
        ),
        dg.AssetSpec(
            "accepted_members",
            deps=LANDED,
            kinds={"parquet"},
            description="Members rows that passed the contract, normalised (CVR digits with check status, "
            "booleans, 4-digit postal codes, English actor types).",
        ),
        dg.AssetSpec(
            "quarantine",
            deps=LANDED,
            kinds={"parquet"},
            description=tables.table("quarantine").description,
        ),
    ],
    check_specs=[
        declared_check("quarantine", QUARANTINE_RATE),
        dg.AssetCheckSpec(
            CLUSTERS_WITH_MEMBERS,
            asset="accepted_members",
            description="Warns about clusters with an accepted profile but no accepted members: their "
            "members file was set aside or never sent, and they are missing from every figure.",
        ),
        dg.AssetCheckSpec(
            STEADY_MEMBERS,
            asset="accepted_members",
            description=f"Warns about clusters whose accepted members rows changed more than "
            f"{MAX_CHANGE:g}-fold from the previous year (a test file, a half list).",
        ),
        dg.AssetCheckSpec(
            ONE_PROFILE,
            asset="accepted_profiles",
            description="Warns about clusters with different profile rows this year: every one of them is quarantined "
            "and the cluster's members are set aside as for a cluster without a profile.",
        ),
        dg.AssetCheckSpec(
            FIRST_YEAR_SIZES,
            asset="accepted_members",
            description="Warns about a cluster in its first year far larger than any other (more than "
            "first_year_cluster_factor times the year's largest other cluster, or first_year_cluster_limit rows: "
            "the thresholds seed).",
        ),
        dg.AssetCheckSpec(
            EVERY_CLUSTER_REPORTED,
            asset="accepted_members",
            description="Warns about clusters with accepted rows the previous year and none this year: a "
            "secretariat that did not send, or whose files were all set aside or ignored, is missing from "
            "every figure.",
        ),
    ],
)
def validate_submissions(context: dg.AssetExecutionContext, output: OutputFolder):
    template = load_template()
    yield from for_each_year(context, lambda year: _validate_year(year, template, output))


def _validate_year(year: int, template, output: OutputFolder):
    cells = {kind: output.read(cells_of(kind), year) for kind in template.kinds}
    validated = validate_year(cells, template, year)
    files = output.read("landed_files", year)

    for kind, asset in (("profile", "accepted_profiles"), ("members", "accepted_members")):
        accepted = validated[kind].accepted
        path = output.write(asset, accepted, year)
        yield dg.MaterializeResult(asset_key=asset, metadata=table_metadata(accepted, path))

    quarantine = year_quarantine(files, validated)
    schema = tables.schema("quarantine")
    path = output.write("quarantine", quarantine, year)
    summary = rules_summary(quarantine)
    yield dg.MaterializeResult(
        asset_key="quarantine",
        metadata={
            **table_metadata(quarantine, path, schema),
            "reasons_summary": dg.MetadataValue.md(markdown_table(summary, max_rows=30)),
        },
    )

    set_aside_rows = int(files.loc[files["status"] == "quarantined", "rows_read"].sum())
    rows_read = int(sum(len(c) for c in cells.values())) + set_aside_rows
    rows_quarantined = int((quarantine["level"] == "row").sum()) + set_aside_rows
    rate = rows_quarantined / rows_read if rows_read else 0.0
    yield dg.AssetCheckResult(
        asset_key="quarantine",
        check_name=QUARANTINE_RATE,
        passed=rate <= MAX_QUARANTINE_RATE,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rate": dg.MetadataValue.float(rate),
            "rows_read": rows_read,
            "rows_quarantined": rows_quarantined,
            "rows_in_files_set_aside": set_aside_rows,
            "files_quarantined": int((quarantine["level"] == "file").sum()),
        },
    )
    members = validated["members"].accepted
    silent = clusters_without_members(validated["profile"].accepted, members)
    yield warn_when_any(CLUSTERS_WITH_MEMBERS, silent, "clusters", "accepted_members")
    conflicting = quarantine[
        quarantine["reasons"].map(lambda rs: any(r.startswith(PROFILE_CONFLICT) for r in rs)).astype(bool)
    ]
    yield warn_when_any(ONE_PROFILE, conflicting[["source_file", "source_row", "reasons"]], "rows", "accepted_profiles")
    previous = output.file("accepted_members", year - 1)
    last_year = output.read("accepted_members", year - 1) if previous.exists() else None
    limits = seeds.thresholds()
    large = implausible_first_years(
        last_year, members, limits["first_year_cluster_factor"], int(limits["first_year_cluster_limit"])
    )
    yield warn_when_any(FIRST_YEAR_SIZES, large, "clusters", "accepted_members")
    jumps = member_count_jumps(last_year, members, MAX_CHANGE)
    compared = year - 1 if previous.exists() else "no previous year"
    yield warn_when_any(STEADY_MEMBERS, jumps, "clusters", "accepted_members", compared_with=compared)
    gone = clusters_not_reported(_reported(output, year - 1), _reported(output, year, validated))
    yield warn_when_any(
        EVERY_CLUSTER_REPORTED,
        gone,
        "clusters",
        "accepted_members",
        compared_with=compared,
        cluster_ids=", ".join(gone["cluster_id"]) or "none",
    )


def _reported(output: OutputFolder, year: int, validated: dict | None = None) -> pd.DataFrame | None:
    """The clusters with accepted rows of either kind in the year (None before its first run)."""
    if validated is not None:
        profiles, members = validated["profile"].accepted, validated["members"].accepted
    elif output.file("accepted_profiles", year).exists() and output.file("accepted_members", year).exists():
        profiles = output.read("accepted_profiles", year, columns=["cluster_id", "cluster_name"])
        members = output.read("accepted_members", year, columns=["cluster_id"])
    else:
        return None
    return pd.concat([profiles[["cluster_id", "cluster_name"]], members[["cluster_id"]]], ignore_index=True)
