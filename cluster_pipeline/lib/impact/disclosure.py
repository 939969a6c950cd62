"""The register is confidential at firm level (../shared/REGISTER_EXTRACT.md): published impact
tables hold aggregates only, and a figure is suppressed (and marked with its reason) when
- min_firms: it rests on fewer than `min_firms_per_cell` firms in a group compared;
- dominance: it is a mean of a magnitude (employment, productivity) whose
  `dominance_top_firms` largest firms make up more than `dominance_max_share` of the cell's
  total (the (n, k) rule);
- secondary: it would give a suppressed figure back. The effect for all participants is about
  the groups' effects weighted by their participants (published beside them), so a group
  suppressed alone in its family (outcome, estimand, method, group_by) could be recovered
  from that margin and the other groups: the smallest other group is suppressed with it; the
  slope over the bands, which rests on every band it names, is suppressed with such a band.
Parameters in the thresholds seed."""

from __future__ import annotations

import re

import pandas as pd

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.impact.methods import PER_SERVICE, SLOPE

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


def dominated(contributions: pd.Series) -> bool:
    """The (n, k) dominance rule: the n largest firms' contributions (each firm's total in the
    cell) make up more than k of the cell's total."""
    limits = seeds.thresholds()
    total = float(contributions.sum())
    top = float(contributions.nlargest(int(limits["dominance_top_firms"])).sum())
    return total > 0 and top > limits["dominance_max_share"] * total


def _groups(estimates: pd.DataFrame) -> pd.DataFrame:
    """The rows of a group of participants (not the margin, not the slope)."""
    return estimates[estimates["group_by"].notna() & (estimates["group"] != SLOPE)]


def _families(estimates: pd.DataFrame):
    """The groups that add up to one margin: same outcome, estimand, method and grouping."""
    for _, family in _groups(estimates).groupby(["outcome", "estimand", "method", "group_by"]):
        yield family


def secondary(estimates: pd.DataFrame, reason: pd.Series) -> pd.Series:
    """The reasons with the secondary suppressions added (see the module's docstring)."""
    reason = reason.copy()
    for family in _families(estimates):
        hidden = family.index[reason[family.index].notna()]
        others = family.drop(hidden)
        if len(hidden) == 1 and len(others):
            reason[others["n_treated"].idxmin()] = "secondary"
    grouped = _groups(estimates)
    bands = grouped[grouped["group_by"] == "services_band"]
    for index, row in estimates[estimates["group"] == SLOPE].iterrows():
        family = bands[
            (bands["outcome"] == row["outcome"])
            & (bands["estimand"] == row["estimand"].removesuffix(PER_SERVICE))
            & (bands["method"] == row["method"])
        ]
        if reason.isna()[index] and (reason[family.index] == "secondary").any():
            reason[index] = "secondary"
    return reason


def suppress(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The figures of every row a rule suppresses set to null, `suppressed` and
    `suppression_reason` saying so (a balance row's `dominated` is read and dropped)."""
    counts, figures = CELLS[table]
    reason = pd.Series(None, index=frame.index, dtype=object)
    reason[(frame[counts] < min_firms()).any(axis=1)] = "min_firms"
    out = frame.copy()
    if "dominated" in out:
        reason[out["dominated"].astype(bool) & reason.isna()] = "dominance"
        out = out.drop(columns="dominated")
    if "group_by" in out:
        reason = secondary(out, reason)
    out.loc[reason.notna(), figures] = None
    out["suppressed"] = reason.notna().to_numpy()
    out["suppression_reason"] = reason.to_numpy()
    return out


def suppress_small_counts(frame: pd.DataFrame, columns: list[str], derived: tuple[str, ...] = ()) -> pd.DataFrame:
    """Counts of firms between 1 and min_firms() - 1 set to null (with `suppressed`), and the
    figures derived from them (a rate times a published count gives the count back)."""
    out = frame.copy()
    small = ((out[columns] > 0) & (out[columns] < min_firms())).any(axis=1)
    out.loc[small, [*columns, *derived]] = None
    out["suppressed"] = small.to_numpy()
    out["suppression_reason"] = pd.Series("min_firms", index=out.index).where(small).to_numpy()
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
        if {"group_by", "suppressed"} <= set(frame.columns):
            alone = recoverable(frame)
            if len(alone):
                problems.append(f"{name}: {len(alone)} suppressed group(s) recoverable from the margin and the others")
    return problems


def recoverable(estimates: pd.DataFrame) -> pd.DataFrame:
    """Suppressed group rows that are the only suppressed group of their family while the family's
    margin (the row for all participants) is published: the attacker's subtraction gives them back."""
    alone = [
        family[family["suppressed"]]
        for family in _families(estimates)
        if family["suppressed"].sum() == 1 and len(family) > 1
    ]
    return pd.concat(alone) if alone else _groups(estimates).iloc[:0]
