"""A year's submissions end to end, without Dagster: landing folder -> accepted rows,
quarantine and the ingest manifest. The Dagster assets call these same steps."""

from __future__ import annotations

import pandas as pd

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.contracts.compiler import RuleInputs
from cluster_pipeline.lib.contracts.template import Template
from cluster_pipeline.lib.contracts.validation import QUARANTINE_COLUMNS, Validated, validate_versions
from cluster_pipeline.lib.ingest.intake import FileRecord
from cluster_pipeline.lib.publish.tables import columns


def reference_data() -> dict[str, set[str]]:
    return {"municipalities.municipality_code": set(seeds.municipalities()["municipality_code"])}


def validate_year(cells: dict[str, pd.DataFrame], template: Template, year: int) -> dict[str, Validated]:
    """Profiles first: a members row must name a cluster with an accepted profile."""
    profiles = validate_versions(cells["profile"], template, "profile", RuleInputs(year, reference_data()))
    keys = {"profile.cluster_id": set(profiles.accepted["cluster_id"])}
    members = validate_versions(cells["members"], template, "members", RuleInputs(year, reference_data(), keys))
    return {"profile": profiles, "members": members}


def records_frame(records: list[FileRecord]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_file": [r.file.name for r in records],
            "sha256": [r.file.sha256 for r in records],
            "size_bytes": [r.file.size_bytes for r in records],
            "mtime": [r.file.mtime for r in records],
            "kind": [r.kind for r in records],
            "status": [r.status for r in records],
            "rows_read": [r.rows_read for r in records],
            "reasons": [r.reasons for r in records],
            "ignored_columns": [r.ignored_columns for r in records],
            "header_found": ["; ".join(r.header_found) or None for r in records],
            "tie": [r.tie for r in records],
            "template_version": pd.array([r.template_version for r in records], dtype="Int64"),
        }
    )


def file_quarantine(files: pd.DataFrame) -> pd.DataFrame:
    broken = files[files["status"] == "quarantined"]
    return pd.DataFrame(
        {
            "source_file": broken["source_file"].to_numpy(),
            "source_sheet": None,
            "source_row": pd.array([None] * len(broken), dtype="Int64"),
            "level": "file",
            "reasons": broken["reasons"].to_numpy(),
            "record": None,
        },
        columns=QUARANTINE_COLUMNS,
    )


def year_quarantine(files: pd.DataFrame, validated: dict[str, Validated]) -> pd.DataFrame:
    """Every file set aside whole and every broken row, with their reasons."""
    return pd.concat([file_quarantine(files), *(v.quarantined for v in validated.values())], ignore_index=True)


def ingest_manifest(files: pd.DataFrame, accepted: list[pd.DataFrame], quarantine: pd.DataFrame) -> pd.DataFrame:
    """The manifest's row counts are counted from what was published, not carried along,
    so the accounting check compares independent numbers."""
    accepted_rows = pd.concat([a["source_file"] for a in accepted]).value_counts()
    quarantined_rows = quarantine.loc[quarantine["level"] == "row", "source_file"].value_counts()
    manifest = files.copy()
    manifest["rows_accepted"] = manifest["source_file"].map(accepted_rows).fillna(0).astype("int64")
    manifest["rows_quarantined"] = manifest["source_file"].map(quarantined_rows).fillna(0).astype("int64")
    manifest["reason"] = manifest["reasons"].map(lambda r: "; ".join(r) if len(r) else None)
    return manifest[columns("ingest_manifest")]


def unaccounted_files(manifest: pd.DataFrame) -> pd.DataFrame:
    """Ingested files whose rows read differ from rows accepted + rows quarantined (a lost row)."""
    ingested = manifest[manifest["status"] == "ingested"]
    return ingested[ingested["rows_read"] != ingested["rows_accepted"] + ingested["rows_quarantined"]]


def clusters_without_members(profiles: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Clusters with an accepted profile but no accepted members rows."""
    missing = profiles[~profiles["cluster_id"].isin(set(members["cluster_id"]))]
    return missing[["cluster_id", "cluster_name"]].sort_values("cluster_id").reset_index(drop=True)


def member_count_jumps(previous: pd.DataFrame | None, members: pd.DataFrame, factor: float) -> pd.DataFrame:
    """Clusters whose accepted members rows changed more than `factor`-fold from the previous year."""
    columns = ["cluster_id", "previous_year", "this_year"]
    if previous is None:
        return pd.DataFrame(columns=columns)
    counts = (
        pd.DataFrame(
            {"previous_year": previous["cluster_id"].value_counts(), "this_year": members["cluster_id"].value_counts()}
        )
        .dropna()
        .astype(int)
    )
    ratio = counts["this_year"] / counts["previous_year"]
    jumps = counts[(ratio > factor) | (ratio < 1 / factor)]
    return jumps.rename_axis("cluster_id").reset_index()[columns].sort_values("cluster_id").reset_index(drop=True)
