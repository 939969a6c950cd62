"""Automation conditions shared by the areas: a yearly table follows an upstream change."""

import dagster as dg


def follows(upstream_updated: dg.AutomationCondition, label: str) -> dg.AutomationCondition:
    """True for a partition when the upstream changed since it was last requested or
    materialised, and nothing it needs is missing or running. Unlike eager(), every year
    qualifies, not only the latest time window: identities change old years too."""
    return (
        upstream_updated.since(
            dg.AutomationCondition.newly_requested() | dg.AutomationCondition.newly_updated()
        ).with_label(label)
        & ~dg.AutomationCondition.any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    )
