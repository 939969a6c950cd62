"""A year's submissions end to end, without Dagster: landing folder -> accepted rows,
quarantine and the ingest manifest. The Dagster assets call these same steps."""

from __future__ import annotations

import re

import pandas as pd

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.columns import is_in
from cluster_pipeline.lib.contracts.compiler import RuleInputs
from cluster_pipeline.lib.contracts.validation import QUARANTINE_COLUMNS, Validated, quarantine_rows, validate_versions
from cluster_pipeline.lib.ingest.intake import FileRecord
from cluster_pipeline.lib.survey.template import Template
from cluster_pipeline.lib.tables import columns


def reference_data() -> dict[str, set[str]]:
    return {"municipalities.municipality_code": set(seeds.municipalities()["municipality_code"])}


PROFILE_DUPLICATE, PROFILE_CONFLICT = "profile.duplicate", "profile.conflict"


def _where(rows: pd.DataFrame) -> str:
    """ "a.csv rows 2 and 3" / "a.csv row 2 and b.csv row 4" """
    parts = []
    for (file, sheet), group in rows.groupby(["source_file", rows["source_sheet"].fillna("")], sort=False):
        numbers = [str(n) for n in group["source_row"]]
        label = f"row {numbers[0]}" if len(numbers) == 1 else f"rows {', '.join(numbers[:-1])} and {numbers[-1]}"
        parts.append(f"{file}{f' sheet {sheet!r}' if sheet else ''} {label}")
    return " and ".join(parts)


def one_profile_per_cluster(profiles: Validated, template: Template, year: int) -> Validated:
    """A cluster has one profile a year: identical rows count once (the copies quarantined as
    duplicates); different rows for one cluster are all quarantined, naming each other, and
    the cluster's members are then handled as for a cluster without a profile."""
    accepted = profiles.accepted
    values = [c for c in accepted.columns if c not in ("source_file", "source_sheet", "source_row")]
    repeated = accepted[accepted.duplicated("cluster_id", keep=False)]
    set_aside, reasons = [], []
    for cluster, rows in repeated.groupby("cluster_id"):
        first = rows.iloc[[0]]
        if len(rows.drop_duplicates(subset=values)) == 1:
            for index in rows.index[1:]:
                set_aside.append(index)
                reasons.append([f"{PROFILE_DUPLICATE}: the same profile of {cluster} as {_where(first)}: counted once"])
        else:
            for index in rows.index:
                set_aside.append(index)
                reasons.append(
                    [
                        f"{PROFILE_CONFLICT}: {cluster} has {len(rows)} different profiles this year ({_where(rows)}): "
                        "none is used, and its members are set aside as for a cluster without a profile; "
                        "send one profile"
                    ]
                )
    if not set_aside:
        return profiles
    contract = template.current("profile", year)
    # the record holds the row as validated (normalised values, as text)
    text = accepted.loc[set_aside].astype(object).map(lambda v: None if pd.isna(v) else str(v))
    quarantined = quarantine_rows(text, reasons, contract)
    return Validated(
        accepted.drop(index=set_aside).reset_index(drop=True),
        pd.concat([profiles.quarantined, quarantined], ignore_index=True),
    )


def validate_year(cells: dict[str, pd.DataFrame], template: Template, year: int) -> dict[str, Validated]:
    """Profiles first: a members row must name a cluster with one accepted profile."""
    profiles = validate_versions(cells["profile"], template, "profile", RuleInputs(year, reference_data()))
    profiles = one_profile_per_cluster(profiles, template, year)
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
            "conflict": [r.conflict for r in records],
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
    missing = profiles[~is_in(profiles["cluster_id"], members["cluster_id"])]
    return missing[["cluster_id", "cluster_name"]].sort_values("cluster_id").reset_index(drop=True)


def rule_in_words(reason: str) -> str:
    """A reason as a person reads it: without its rule id, the value it got and the file's context."""
    words = reason.split(": ", 1)[1] if ": " in reason else reason
    return re.split(r" \(got |; the rest of the file", words)[0]


def rules_summary(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows by rule (a row breaking two rules counts under each): rule id, the rule
    in words (from the first reason that names it) and rows."""
    reasons = [reason for reasons in quarantine.loc[quarantine["level"] == "row", "reasons"] for reason in reasons]
    frame = pd.DataFrame({"rule": [r.split(":", 1)[0] for r in reasons], "words": [rule_in_words(r) for r in reasons]})
    if frame.empty:
        return pd.DataFrame(columns=["rule", "words", "rows"])
    counted = frame.groupby("rule", sort=False).agg(words=("words", "first"), rows=("words", "size")).reset_index()
    return counted.sort_values(["rows", "rule"], ascending=[False, True]).reset_index(drop=True)


def clusters_not_reported(last_year: pd.DataFrame | None, this_year: pd.DataFrame) -> pd.DataFrame:
    """Clusters that reported last year (accepted rows of either kind: `cluster_id`, and
    `cluster_name` where known) and have no accepted rows this year: a secretariat that did not
    send, or whose files were all set aside or ignored, drops out of the figures quietly."""
    columns = ["cluster_id", "cluster_name"]
    if last_year is None or last_year.empty:
        return pd.DataFrame(columns=columns)
    gone = last_year[~last_year["cluster_id"].isin(set(this_year["cluster_id"]))]
    named = gone.assign(cluster_name=gone.get("cluster_name"))[columns]
    # one row per cluster, its name where any row gave one
    return named.sort_values(["cluster_id", "cluster_name"]).drop_duplicates("cluster_id").reset_index(drop=True)


def implausible_first_years(
    previous: pd.DataFrame | None, members: pd.DataFrame, factor: float, limit: int
) -> pd.DataFrame:
    """Clusters in their first year (no members rows the year before) with more than `limit` rows,
    or more than `factor` times the rows of the year's largest other cluster (a test file, a
    register extract sent as a members list)."""
    columns = ["cluster_id", "rows", "largest_other_cluster"]
    counts = members["cluster_id"].value_counts()
    new = counts[~counts.index.isin(set(previous["cluster_id"]))] if previous is not None else counts
    found = []
    for cluster, rows in new.items():
        largest = int(counts.drop(cluster).max()) if len(counts) > 1 else 0
        if rows > limit or (largest and rows > factor * largest):
            found.append({"cluster_id": cluster, "rows": int(rows), "largest_other_cluster": largest})
    return pd.DataFrame(found, columns=columns)


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
