"""Releases and revisions, as a statistics office keeps them.

Every run that changes a published figure is a release. A figure is compared as published
(rounded to its measure's decimals, so recomputing the same figure is no release), keyed by
table, year, its dimensions and measure. A figure that had a value before and has another
now (or none) is a revision; a figure published for the first time is not. The cause is what
the pipeline can see changed in the year's inputs since the previous release: files added,
replaced, removed or set aside, rows quarantined or accepted, company identities re-linked,
register files for the impact measurement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

KEY = ["table", "year", "dimensions", "measure"]
INPUT_KEY = ["year", "source_file"]
IMPACT_INPUTS = -1  # the year under which the register's files are kept in the inputs' state
RELEASE_COLUMNS = ["release_id", "released_at", "dagster_run_id", "years", "tables", "figures_changed"]
REVISION_COLUMNS = [
    "table",
    "year",
    "dimensions",
    "measure",
    "previous_value",
    "new_value",
    "previous_release",
    "release",
    "cause",
]


@dataclass(frozen=True)
class Release:
    """What one release adds: its row of `releases`, its rows of `revisions`."""

    release: dict
    revisions: pd.DataFrame

    @property
    def release_id(self) -> str:
        return self.release["release_id"]


def _compared(previous: pd.DataFrame | None, current: pd.DataFrame) -> pd.DataFrame:
    if previous is None:
        previous = current.iloc[:0]
    both = previous.merge(current, on=KEY, how="outer", suffixes=("_before", "_now"), indicator=True)
    before, now = both["value_before"], both["value_now"]
    both["added"] = both["_merge"].eq("right_only")
    both["revised"] = both["_merge"].eq("left_only") | (
        both["_merge"].eq("both") & ~((before == now) | (before.isna() & now.isna()))
    )
    return both


def _release_id(previous: pd.DataFrame | None, released_at: datetime) -> str:
    number = 1 if previous is None or previous.empty else len(previous) + 1
    return f"{released_at:%Y-%m-%d}.{number}"


def new_release(
    previous_figures: pd.DataFrame | None,
    figures: pd.DataFrame,
    previous_releases: pd.DataFrame | None,
    causes: dict[int | None, str],
    released_at: datetime,
    dagster_run_id: str,
) -> Release | None:
    """The release this run makes, or None when no published figure changed. causes: by year
    (None for the tables over all years), what changed in the inputs."""
    compared = _compared(previous_figures, figures)
    changed = compared[compared["added"] | compared["revised"]]
    if changed.empty:
        return None
    release_id = _release_id(previous_releases, released_at)
    previous_id = (
        None if previous_releases is None or previous_releases.empty else previous_releases["release_id"].iloc[-1]
    )
    revised = compared[compared["revised"]]
    revisions = pd.DataFrame(
        {
            "table": revised["table"],
            "year": revised["year"].astype("Int64"),
            "dimensions": revised["dimensions"],
            "measure": revised["measure"],
            "previous_value": revised["value_before"],
            "new_value": revised["value_now"],
            "previous_release": previous_id,
            "release": release_id,
            "cause": [causes.get(None if pd.isna(y) else int(y), UNKNOWN_CAUSE) for y in revised["year"]],
        },
        columns=REVISION_COLUMNS,
    ).reset_index(drop=True)
    release = {
        "release_id": release_id,
        "released_at": released_at,
        "dagster_run_id": dagster_run_id,
        "years": sorted({int(y) for y in changed["year"].dropna()}),
        "tables": sorted(changed["table"].unique()),
        "figures_changed": int(len(changed)),
    }
    return Release(release, revisions)


UNKNOWN_CAUSE = "no input changed: the pipeline's rules or code changed"


def _described(added, removed, replaced, set_aside, accepted_change, quarantined_change) -> list[str]:
    parts = []
    for what, files in (
        ("file added", added),
        ("file removed", removed),
        ("file replaced", replaced),
        ("file set aside", set_aside),
    ):
        if files:
            parts.append(f"{what}{'s' if len(files) > 1 else ''}: {', '.join(sorted(files))}")
    if quarantined_change:
        parts.append(f"rows quarantined {quarantined_change:+d}")
    if accepted_change:
        parts.append(f"rows accepted {accepted_change:+d}")
    return parts


def causes(previous_inputs: pd.DataFrame | None, inputs: pd.DataFrame) -> dict[int | None, str]:
    """What changed in each year's inputs: `inputs` has one row per year and file (year, source_file,
    sha256, status, rows_accepted, rows_quarantined) plus a row per year whose source_file is
    IDENTITIES with the digest of its company ids in sha256; the register's files under IMPACT_INPUTS."""
    if previous_inputs is None:
        return {}
    found: dict[int | None, str] = {}
    survey_changed = False
    for year in sorted(set(inputs["year"]) | set(previous_inputs["year"])):
        before = previous_inputs[previous_inputs["year"] == year].set_index("source_file")
        now = inputs[inputs["year"] == year].set_index("source_file")
        files_before, files_now = set(before.index) - {IDENTITIES}, set(now.index) - {IDENTITIES}
        common = sorted(files_before & files_now)
        parts = _described(
            files_now - files_before,
            files_before - files_now,
            [f for f in common if before.at[f, "sha256"] != now.at[f, "sha256"]],
            [
                f
                for f in common
                if now.at[f, "status"] != before.at[f, "status"] and before.at[f, "status"] == "ingested"
            ],
            int(now["rows_accepted"].sum() - before["rows_accepted"].sum()),
            int(now["rows_quarantined"].sum() - before["rows_quarantined"].sum()),
        )
        if _relinked(before, now):
            parts.append("company identities re-linked")
        if year == IMPACT_INPUTS:
            continue
        survey_changed |= bool(parts)
        if parts:
            found[int(year)] = "; ".join(parts)
    register = _register_cause(previous_inputs, inputs)
    found[None] = "; ".join(filter(None, [register, "survey years changed" if survey_changed else ""])) or UNKNOWN_CAUSE
    return found


IDENTITIES = "(company identities)"  # its sha256: "<digest of the rows>:<digest of the rows and their ids>"


def _relinked(before: pd.DataFrame, now: pd.DataFrame) -> bool:
    """The same rows under other company ids (when the rows changed, whether ids did is not told)."""
    if IDENTITIES not in before.index or IDENTITIES not in now.index:
        return False
    was, is_now = str(before.at[IDENTITIES, "sha256"]).split(":"), str(now.at[IDENTITIES, "sha256"]).split(":")
    if len(was) != 2 or len(is_now) != 2:  # kept by an earlier version of the pipeline: not told
        return False
    return was[0] == is_now[0] and was[1] != is_now[1]


def _register_cause(previous_inputs: pd.DataFrame, inputs: pd.DataFrame) -> str:
    before = previous_inputs[previous_inputs["year"] == IMPACT_INPUTS].set_index("source_file")["sha256"]
    now = inputs[inputs["year"] == IMPACT_INPUTS].set_index("source_file")["sha256"]
    changed = sorted(
        set(before.index) ^ set(now.index) | {f for f in set(before.index) & set(now.index) if before[f] != now[f]}
    )
    return f"register files added or replaced: {', '.join(changed)}" if changed else ""
