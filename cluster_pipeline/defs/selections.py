"""Named parts of the asset graph, the one home of each: the yearly job, the follow-up sensor
and `cluster-pipeline run` (year_runs.py) all select from here, so a new asset joins every
path that runs its part of the graph.

    UP_TO_RESOLUTION[Y] -> IDENTITIES (all years) -> AFTER_IDENTITIES[Y] -> IMPACT (all years) -> REPORTS[Y]
        -> SITE (all years: the release, then the statistics site)
"""

import dagster as dg

UP_TO_RESOLUTION = dg.AssetSelection.groups("ingest", "contracts") | dg.AssetSelection.assets(
    "resolved_companies", "resolved_memberships"
)
IDENTITIES = dg.AssetSelection.assets("company_identities", "company_ids")
IMPACT = dg.AssetSelection.groups("impact")
REPORTS = dg.AssetSelection.assets("yearly_report")  # it shows the impact measurement of every year
# last: it links every report
SITE = dg.AssetSelection.assets("releases", "revisions", "release_figures", "release_inputs", "statistics_site")
# every other asset is a yearly one after the identities: a new one is run without being named here
AFTER_IDENTITIES = dg.AssetSelection.all() - UP_TO_RESOLUTION - IDENTITIES - IMPACT - REPORTS - SITE
# what other years re-publish after the identities changed (the identity_follow_ups sensor's target,
# and what `cluster-pipeline run` evaluates the same conditions of)
REPUBLISH = dg.AssetSelection.assets("companies", "memberships", "sql_warehouse")

# What `cluster-pipeline run` calls its runs of each part (the job name the UI lists them under)
SURVEY = UP_TO_RESOLUTION | IDENTITIES | AFTER_IDENTITIES  # many years through to the warehouse in one run
RUN_NAMES = [
    (SURVEY, "survey_to_warehouse"),
    (UP_TO_RESOLUTION, "intake_and_resolution"),
    (IDENTITIES, "company_identities"),
    (AFTER_IDENTITIES, "published_tables"),
    (REPUBLISH, "republication_after_identities"),
    (IMPACT, "impact_measurement"),
    (REPORTS, "yearly_reports"),
    (SITE, "release_and_statistics_site"),
]


def run_name(selection: dg.AssetSelection) -> str:
    return next(name for part, name in RUN_NAMES if part is selection)
