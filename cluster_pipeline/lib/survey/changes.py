"""What changed between two versions of a contract, column by column, and which changes break
files written for the old version (in the spirit of datacontract-cli's `changelog` and
`breaking`): a required column added, a column removed or replaced, a rule made stricter.
The same comparison tells a secretariat how to bring an old file up to date."""

from __future__ import annotations

from dataclasses import dataclass

from cluster_pipeline.lib.survey.model import Column, Contract
from cluster_pipeline.lib.survey.template import Template


@dataclass(frozen=True)
class Change:
    column: str
    change: str  # added, removed, replaced, changed
    breaking: bool  # files (or readers) of the old version no longer fit
    detail: str
    by: str | None = None  # for a replaced column: the column that replaces it


def _stricter(old: Column, new: Column) -> list[str]:
    """The ways the new column accepts less than the old one."""
    found = []
    if new.required and not old.required:
        found.append("now required")
    if new.logical_type != old.logical_type:
        found.append(f"type {old.logical_type} -> {new.logical_type}")
    if new.minimum is not None and (old.minimum is None or new.minimum > old.minimum):
        found.append(f"minimum {old.minimum} -> {new.minimum}")
    if new.maximum is not None and (old.maximum is None or new.maximum < old.maximum):
        found.append(f"maximum {old.maximum} -> {new.maximum}")
    if new.pattern != old.pattern and new.pattern is not None:
        found.append(f"pattern {new.pattern}")
    if old.valid_values and set(old.valid_values) - set(new.valid_values):
        found.append(f"values no longer allowed: {', '.join(sorted(set(old.valid_values) - set(new.valid_values)))}")
    lost = set(old.aliases) - set(new.aliases)
    if lost:
        found.append(f"headers no longer read: {', '.join(sorted(lost))}")
    return found


def _column_text(column: Column) -> str:
    kind = column.logical_type
    if column.valid_values:
        kind = " or ".join(column.valid_values)
    elif column.minimum is not None or column.maximum is not None:
        kind += f" {column.minimum:g}-{column.maximum:g}" if column.maximum is not None else f" >= {column.minimum:g}"
    headers = "/".join((column.name, *column.aliases))
    return f"{headers} ({kind}, {'required' if column.required else 'optional'})"


def contract_changes(old: Contract, new: Contract) -> list[Change]:
    olds, news = {c.name: c for c in old.columns}, {c.name: c for c in new.columns}
    replaced = {c.derives[0]: c.name for c in new.columns if c.derives and c.derives[0] in olds}
    changes = []
    for name, column in olds.items():
        if name in replaced:
            values = ", ".join(news[replaced[name]].derives[1])  # type: ignore[index]  # replaced: derives set
            changes.append(
                Change(
                    name,
                    "replaced",
                    True,
                    f"replaced by {replaced[name]}; {name} is derived from it (true for {values})",
                    by=replaced[name],
                )
            )
        elif name not in news:
            changes.append(Change(name, "removed", True, "no longer in the template (a file's column is ignored)"))
        elif not column.same_rules(news[name]):
            stricter = _stricter(column, news[name])
            changes.append(
                Change(name, "changed", bool(stricter), "; ".join(stricter) or "rules relaxed (old files still fit)")
            )
    for name, column in news.items():
        if name not in olds:
            changes.append(
                Change(
                    name,
                    "added",
                    column.required,
                    f"{_column_text(column)}: {'old files lack it' if column.required else 'old files still fit'}",
                )
            )
    return changes


def layout_advice(old: Contract, new: Contract) -> str:
    """What a file in the old layout needs to follow the new one: columns to add and rename."""
    changes = contract_changes(old, new)
    steps = [f"replace column {c.column} by {_column_text(new.column(c.by))}" for c in changes if c.by]
    replacing = {c.by for c in changes if c.change == "replaced"}
    added = [new.column(c.column) for c in changes if c.change == "added" and c.breaking and c.column not in replacing]
    if added:
        steps.append("add column(s) " + ", ".join(_column_text(c) for c in added))
    return "; ".join(steps) or "no change needed"


def changelog(template: Template) -> str:
    """Every kind's changes from one template version to the next, column by column."""
    lines = []
    for kind in template.kinds:
        versions = template.versions(kind)
        if len(versions) == 1:
            (only,) = versions
            lines += [f"{kind}: unchanged ({only.source} {only.version} serves every template version)", ""]
            continue
        for old, new in zip(versions, versions[1:]):
            transition = (
                f"; version {old.template_version} accepted with a warning until {old.transition_until}"
                if old.transition_until
                else ""
            )
            lines.append(
                f"{kind}: template version {old.template_version} -> {new.template_version} "
                f"({old.source} {old.version} -> {new.source} {new.version}, from {new.years_from}{transition})"
            )
            for change in contract_changes(old, new):
                verdict = "breaking" if change.breaking else "not breaking"
                lines.append(f"  {change.column}: {change.change} ({verdict}): {change.detail}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
