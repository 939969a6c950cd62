"""How the other years follow a change of identities: one rule, evaluated by dagster-daemon's
`identity_follow_ups` sensor in a deployment and by `cluster-pipeline run` in process
(year_runs.py), so both re-publish the same years.

The rule: a year is re-published when the latest company_identities found that its published
companies hold other ids than the identities give them now (its `years_to_republish`, read from
the output folder, so a year another instance published counts too), and the year has not been
published since.
"""

import dagster as dg

from cluster_pipeline.defs.selections import REPUBLISH

IDENTITIES = dg.AssetKey("company_identities")
YEARS_TO_REPUBLISH = "years_to_republish"  # company_identities' metadata: the rule's years


def _latest(instance: dg.DagsterInstance, key: dg.AssetKey, year: str | None = None):
    """The latest materialisation record of the asset (of one year's partition), or None."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[year] if year else None), limit=1, ascending=False
    ).records
    return records[0] if records else None


def years_to_republish(instance: dg.DagsterInstance) -> tuple[int | None, list[str]]:
    """The latest identities' event id and the years it found published under other ids."""
    record = _latest(instance, IDENTITIES)
    if record is None:
        return None, []
    materialisation = record.asset_materialization
    listed = materialisation.metadata.get(YEARS_TO_REPUBLISH) if materialisation else None
    return record.storage_id, [str(year) for year in (listed.value if listed else [])]


class PublishedUnderOldIds(dg.AutomationCondition):
    """True for the years the latest company_identities listed as published under other ids,
    where this asset was not materialised after it."""

    @property
    def name(self) -> str:
        return "published_under_old_ids"

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        instance = context.asset_graph_view.instance
        identities, listed = years_to_republish(instance)
        behind = set()
        for year in listed:
            published = _latest(instance, context.key, year)
            if published is None or published.storage_id < identities:
                behind.add(year)
        known = behind & set(instance.get_dynamic_partitions(context.partitions_def.name))
        return dg.AutomationResult(context, context.candidate_subset.compute_intersection_with_partition_keys(known))


# Requested once when the year falls behind (or the identities change again while it is behind),
# not on every tick after a failed run; never while it or what it reads is being written.
_BEHIND = PublishedUnderOldIds()
IDENTITIES_CHANGED = (
    (
        _BEHIND.newly_true()
        | (
            _BEHIND
            & dg.AutomationCondition.any_deps_match(dg.AutomationCondition.newly_updated()).allow(
                dg.AssetSelection.assets(IDENTITIES)
            )
        )
    )
    .since(dg.AutomationCondition.newly_requested() | dg.AutomationCondition.newly_updated())
    .with_label("published under ids company_identities has since changed")
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
)

identity_follow_ups = dg.AutomationConditionSensorDefinition(
    "identity_follow_ups",
    target=REPUBLISH,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    # the rule reads the identities' metadata: Python that runs where the code is
    use_user_code_server=True,
    description="After company_identities changes, re-publishes the other years' companies and memberships under "
    "the new ids, and their warehouse copy (on by default: it only acts after a run changed identities).",
)
