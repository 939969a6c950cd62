"""The Definitions object: every area's assets, checks and jobs, with resources from the environment."""

from __future__ import annotations

import dagster as dg

from cluster_pipeline.defs.companies.assets import (
    company_identities,
    identified_companies,
    identity_follow_ups,
    resolved_companies,
)
from cluster_pipeline.defs.contracts.assets import validate_submissions
from cluster_pipeline.defs.contracts.manifest import ingest_manifest
from cluster_pipeline.defs.impact.assets import impact_measurement, register_extract
from cluster_pipeline.defs.ingest.assets import landed_files
from cluster_pipeline.defs.ingest.automation import JOB as YEARLY_JOB
from cluster_pipeline.defs.ingest.automation import landing_files_sensor, nightly_latest_year
from cluster_pipeline.defs.operations.sensors import (
    current_year_freshness,
    failure_alerts,
    freshness_checks,
    freshness_sensor,
)
from cluster_pipeline.defs.partitions import years
from cluster_pipeline.defs.publish.assets import sql_warehouse, yearly_report
from cluster_pipeline.defs.resources import resources_from_env
from cluster_pipeline.defs.statistics.assets import statistics_assets

ASSETS = [
    landed_files,
    validate_submissions,
    ingest_manifest,
    resolved_companies,
    company_identities,
    identified_companies,
    *statistics_assets,
    sql_warehouse,
    register_extract,
    impact_measurement,
    yearly_report,
]

yearly_statistics = dg.define_asset_job(
    YEARLY_JOB,
    selection=dg.AssetSelection.all(),
    partitions_def=years,
    description="Everything for one reporting year, from the landing folder to the published tables.",
    # transient failures (a crashed run process) are retried twice by the daemon (deploy/dagster.yaml
    # enables run retries but not for asset failures, which bad data would only repeat)
    tags={"dagster/max_retries": 2, "dagster/retry_strategy": "FROM_FAILURE"},
)


def build_definitions(
    landing: str | None = None, output: str | None = None, warehouse: str | None = None, register: str | None = None
) -> dg.Definitions:
    # In-process by measurement (benchmarks/results/pipeline.md): a year is ~10 steps of
    # 0.1-1 s; a process per step paid 2-3 s of imports each. The UI still shows every step.
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=[current_year_freshness],
        jobs=[yearly_statistics, freshness_checks],
        schedules=[nightly_latest_year],
        sensors=[landing_files_sensor, identity_follow_ups, failure_alerts, freshness_sensor],
        executor=dg.in_process_executor,
        resources=resources_from_env(landing, output, warehouse, register),
    )


defs = build_definitions()
