"""The register is confidential at firm level (../shared/REGISTER_EXTRACT.md): published impact
tables hold aggregates only, and every figure rests on at least `min_firms_per_cell` firms
(the thresholds seed) in each group compared; a smaller cell is suppressed and marked."""

from __future__ import annotations

import re

import pandas as pd

from cluster_pipeline.lib import seeds

IDENTIFIER_COLUMNS = {"cvr", "company_id", "current_id", "entity", "firm", "firm_id", "name"}
# a CVR number, or a published company_id (CVR + 8 digits, N + 11 hex digits)
IDENTIFIER_TEXT = re.compile(r"\b(?:CVR)?\d{8}\b|\bN[0-9A-F]{11}\b")
# per table: the firm counts each row rests on, and the figures suppressed when one is too small
CELLS = {
    "impact_estimates": (["n_firms_treated", "n_firms_control"], ["estimate", "ci_low", "ci_high", "p_value"]),
    "impact_balance": (
        ["n_firms_treated", "n_firms_control"],
        ["mean_treated", "mean_control_before", "mean_control_after", "smd_before", "smd_after"],
    ),
    "impact_event_study": (["n_firms", "n_firms_control"], ["estimate", "ci_low", "ci_high"]),
}


def min_firms() -> int:
    return int(seeds.thresholds()["min_firms_per_cell"])


def suppress(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The figures of every row resting on fewer than min_firms() firms in a group set to null,
    and `suppressed` saying so."""
    counts, figures = CELLS[table]
    small = (frame[counts] < min_firms()).any(axis=1)
    out = frame.copy()
    out.loc[small, figures] = None
    out["suppressed"] = small.to_numpy()
    return out


def suppress_small_counts(frame: pd.DataFrame, columns: list[str], derived: tuple[str, ...] = ()) -> pd.DataFrame:
    """Counts of firms between 1 and min_firms() - 1 set to null (with `suppressed`), and the
    figures derived from them (a rate times a published count gives the count back)."""
    out = frame.copy()
    small = ((out[columns] > 0) & (out[columns] < min_firms())).any(axis=1)
    out.loc[small, [*columns, *derived]] = None
    out["suppressed"] = small.to_numpy()
    return out


def disclosure_problems(tables: dict[str, pd.DataFrame]) -> list[str]:
    """Why these tables may not be published: an identifier column, text that looks like a CVR
    or a company_id, or a figure shown for a cell of fewer than min_firms() firms."""
    problems = []
    for name, frame in tables.items():
        for column in sorted(IDENTIFIER_COLUMNS & set(frame.columns)):
            problems.append(f"{name}: has an identifier column {column!r}")
        for column in frame.columns:
            if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
                text = frame[column].dropna().astype(str)
                hits = text[text.str.contains(IDENTIFIER_TEXT)]
                if len(hits):
                    problems.append(f"{name}.{column}: {len(hits)} value(s) look like a CVR number or a company_id")
        if name in CELLS:
            counts, figures = CELLS[name]
            shown = frame[figures].notna().any(axis=1) & ~frame.get("suppressed", pd.Series(False, index=frame.index))
            small = shown & (frame[counts] < min_firms()).any(axis=1)
            if small.any():
                problems.append(
                    f"{name}: {int(small.sum())} row(s) show a figure resting on fewer than {min_firms()} "
                    f"firms in a group"
                )
    return problems
