"""Named parts of the asset graph, the one home of each: the yearly job, the follow-up sensor
and `cluster-pipeline run` (year_runs.py) all select from here, so a new asset joins every
path that runs its part of the graph.

    UP_TO_RESOLUTION[Y] -> IDENTITIES (all years) -> AFTER_IDENTITIES[Y] -> IMPACT (all years) -> REPORTS[Y]
"""

import dagster as dg

UP_TO_RESOLUTION = dg.AssetSelection.groups("ingest", "contracts") | dg.AssetSelection.assets("resolved_companies")
IDENTITIES = dg.AssetSelection.assets("company_identities")
IMPACT = dg.AssetSelection.groups("impact")
REPORTS = dg.AssetSelection.assets("yearly_report")  # last: it shows the impact measurement of every year
# every other asset is a yearly one after the identities: a new one is run without being named here
AFTER_IDENTITIES = dg.AssetSelection.all() - UP_TO_RESOLUTION - IDENTITIES - IMPACT - REPORTS
# what other years re-publish after the identities changed (the identity_follow_ups sensor's target)
REPUBLISH = dg.AssetSelection.assets("companies", "memberships", "sql_warehouse")
