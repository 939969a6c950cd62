"""The template's supersession rule, made so that it cannot lose a cluster: per kind and
cluster (each row's own cluster_id, among the clusters a part reports), the part of the file
modified last replaces earlier ones only when it is plausibly a new version of them.

- A members list replaces an earlier one when they share at least `min_shared_for_supersession`
  (the thresholds seed) of the smaller list's organisations (a CVR number, else the name):
  a final list replaces its draft; another cluster's list pasted under this cluster's id
  does not.
- Otherwise, and for two sheets of one kind in one workbook, it is a conflict: the rows of
  both are quarantined with a reason naming both files, and both files' records say so.
- On the same modification time the part with more rows wins (a draft is shorter than its
  final list), then the name later in alphabetical order; the tie is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.survey import normalise
from cluster_pipeline.lib.survey.model import canonical_token

if TYPE_CHECKING:  # intake calls this module
    from cluster_pipeline.lib.ingest.intake import Part


@dataclass(eq=False)
class Slice:
    """The rows of one part that name one cluster."""

    part: Part
    rows: pd.Series  # boolean mask over part.cells

    @property
    def size(self) -> int:
        return int(self.rows.sum())

    @property
    def file(self):
        return self.part.file


def cluster_ids(cells: pd.DataFrame) -> pd.Series:
    return cells["cluster_id"].str.strip().str.upper()


def reported_clusters(ids: pd.Series) -> list[str]:
    """The clusters a part reports: its largest, and every other that at least
    `min_share_of_file_for_its_cluster` of its rows name. A few rows naming another cluster (a
    mistyped id, a pasted row) are slips, counted row by row, never a list of that cluster."""
    counts = ids.dropna().value_counts()
    if counts.empty:
        return []
    share = seeds.thresholds()["min_share_of_file_for_its_cluster"]
    return [c for c, n in counts.items() if n == counts.iloc[0] or n >= share * counts.sum()]


def organisations(cells: pd.DataFrame) -> set[str]:
    """Who a members list names: the CVR number where it is valid, else the name."""
    digits = normalise.clean_cvr(cells["cvr"])
    valid = normalise.cvr_is_valid(digits)
    names = cells["name"].map(canonical_token, na_action="ignore")
    return set(("cvr:" + digits[valid]).tolist()) | set(("name:" + names[~valid].dropna()).tolist())


def shared_share(older: Slice, newer: Slice) -> float:
    """Share of the smaller list's organisations that the other list also names."""
    a, b = organisations(older.part.cells[older.rows]), organisations(newer.part.cells[newer.rows])
    return len(a & b) / max(min(len(a), len(b)), 1)


def _mark_conflict(slice_: Slice, reason: str, read_error: str) -> None:
    cells = slice_.part.cells
    before = cells.loc[slice_.rows, read_error]
    cells.loc[slice_.rows, read_error] = [f"{b}; {reason}" if isinstance(b, str) else reason for b in before]


def supersede(parts: list, records: dict, read_error: str) -> dict[int, pd.Series]:
    """Decide per kind and cluster; conflicting rows are marked (in `read_error`) to be
    quarantined; returns, per id(part), the rows it loses to a later version."""
    minimum = seeds.thresholds()["min_shared_for_supersession"]
    slices: dict[tuple[str, str], list[Slice]] = {}
    for part in parts:
        ids = cluster_ids(part.cells)
        for cluster in reported_clusters(ids):
            slices.setdefault((part.kind, cluster), []).append(Slice(part, ids == cluster))
    dropped = {id(p): pd.Series(False, index=p.cells.index) for p in parts}
    for (kind, cluster), found in slices.items():
        if len(found) < 2:
            continue
        # newest first; on the same modification time the longer list, then the later name
        found.sort(key=lambda s: (s.file.mtime, s.size, s.file.name), reverse=True)
        winner = found[0]
        for other in found[1:]:
            same_file = other.file is winner.file
            share = 1.0 if kind != "members" or same_file else shared_share(other, winner)
            if same_file or share < minimum:
                _conflict(kind, cluster, winner, other, share, same_file, records, read_error)
                continue
            dropped[id(other.part)] |= other.rows
            record = records[other.file.name]
            if other.file.mtime == winner.file.mtime:
                record.tie = True
                rule = (
                    "more rows" if other.size != winner.size else "the same rows: the name later in alphabetical order"
                )
                why = f"same modification time: the one with {rule} wins"
            else:
                why = "modified later"
            record.reasons.append(f"{kind} of {cluster} superseded by {winner.file.name} ({why}; {share:.0%} shared)")
    return dropped


def _conflict(kind, cluster, winner: Slice, other: Slice, share, same_file, records, read_error) -> None:
    if same_file:
        sheets = f"sheets {other.part.sheet!r} and {winner.part.sheet!r} of {winner.file.name}"
        reason = (
            f"{kind}.conflict: {sheets} both give the {kind} of {cluster}: a workbook holds one sheet of each "
            f"kind; both are quarantined (delete or hide the sheet that is not the list)"
        )
    else:
        reason = (
            f"{kind}.conflict: {other.file.name} and {winner.file.name} both give the {kind} of {cluster} but "
            f"share only {share:.0%} of their organisations, so neither is a new version of the other: both "
            f"are quarantined (send the right list again, or correct the cluster_id of the one that is not {cluster}'s)"
        )
    for mine, theirs in ((winner, other), (other, winner)):
        _mark_conflict(mine, reason, read_error)
        record = records[mine.file.name]
        record.conflict = True
        where = "another sheet of this workbook" if same_file else theirs.file.name
        record.reasons.append(f"{kind} of {cluster} conflicts with {where}: its rows are quarantined")
