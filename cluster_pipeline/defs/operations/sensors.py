"""Operating the nightly run: a failed run (or a failed blocking check, which fails its run)
e-mails the people responsible; the current year's published tables carry freshness checks,
evaluated by a sensor that alerts when they go stale. Both are on by default and do nothing
but say so in their tick log while alerts are not configured (settings.py)."""

import json
import time

import dagster as dg

from cluster_pipeline.defs.partitions import year_range
from cluster_pipeline.defs.resources import LandingFolder
from cluster_pipeline.lib.operations.alerts import (
    NOT_CONFIGURED,
    AlertSettings,
    failure_message,
    freshness_message,
    send,
)
from cluster_pipeline.lib.operations.freshness import FRESH_TABLES, current_year, limit_hours, stale_tables

FRESH = "current_year_fresh"
FRESHNESS_JOB = "freshness_checks"


def _years_of(run: dg.DagsterRun) -> list[str]:
    tags = run.tags
    found = tags.get("dagster/partition") or tags.get("cluster_pipeline/year")
    if found:
        return [found]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    return [f"{start}-{end}"] if start else []


@dg.run_failure_sensor(
    name="failure_alerts",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=10,
    monitor_all_code_locations=True,  # runs started by the CLI (cluster-pipeline run) carry no code location
    description="E-mails CLUSTER_PIPELINE_ALERT_TO when a run fails (a failed blocking check fails its run): the year, "
    "the failed asset or check, the first lines of the error and where to look.",
)
def failure_alerts(context: dg.RunFailureSensorContext):
    alert = AlertSettings.from_env()
    if alert is None:
        return dg.SkipReason(f"run {context.dagster_run.run_id} failed; {NOT_CONFIGURED}")
    failures = [
        (
            event.step_key or "(run)",
            event.event_specific_data.error.to_string() if event.event_specific_data.error else event.message,
        )
        for event in context.get_step_failure_events()
    ]
    send(
        alert,
        failure_message(
            alert.sender,
            alert.to,
            context.dagster_run.run_id,
            context.dagster_run.job_name,
            _years_of(context.dagster_run),
            failures,
        ),
    )
    context.log.info(f"alerted {len(alert.to)} address(es) about run {context.dagster_run.run_id}")


def last_updates(instance: dg.DagsterInstance, year: int) -> dict[str, float | None]:
    """When each fresh table's partition of the year was last materialised (None: never)."""
    found = {}
    for table in FRESH_TABLES:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(table), asset_partitions=[str(year)]), limit=1
        ).records
        found[table] = records[0].timestamp if records else None
    return found


def freshness(
    instance: dg.DagsterInstance, landing: LandingFolder, now: float | None = None
) -> tuple[int | None, dict]:
    """The current year and its stale tables ({} when fresh or when no year has submissions)."""
    year = current_year(landing.root, *year_range())
    if year is None:
        return None, {}
    return year, stale_tables(last_updates(instance, year), time.time() if now is None else now)


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            FRESH,
            asset=table,
            description=f"Warns when the current reporting year's {table} (the "
            f"latest year whose landing folder has files) was not updated for freshness_limit_hours "
            f"({limit_hours():g} h, the thresholds seed).",
        )
        for table in FRESH_TABLES
    ],
)
def current_year_freshness(context: dg.AssetCheckExecutionContext, landing: LandingFolder):
    year, stale = freshness(context.instance, landing)
    for table in FRESH_TABLES:
        yield dg.AssetCheckResult(
            asset_key=table,
            check_name=FRESH,
            passed=table not in stale,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"year": year or 0, "stale": stale.get(table, "fresh")},
        )


freshness_checks = dg.define_asset_job(
    FRESHNESS_JOB,
    selection=dg.AssetSelection.checks(current_year_freshness),
    description="The freshness checks of the current year's published tables.",
)


@dg.sensor(
    job=freshness_checks,
    minimum_interval_seconds=900,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Every 15 minutes: when the current year's published tables go stale (or fresh again), runs "
    "their freshness checks so the UI shows it, and e-mails an alert when they go stale.",
)
def freshness_sensor(context: dg.SensorEvaluationContext, landing: LandingFolder):
    year, stale = freshness(context.instance, landing)
    if year is None:
        return dg.SkipReason(f"no year in {landing.root} has submissions: nothing to keep fresh")
    state = json.dumps({"year": year, "stale": sorted(stale)})
    if state == (context.cursor or ""):
        return dg.SkipReason(f"{year}: " + ("stale, already reported" if stale else "fresh"))
    context.update_cursor(state)
    if stale:
        alert = AlertSettings.from_env()
        if alert is None:
            context.log.info(f"{year} is stale; {NOT_CONFIGURED}")
        else:
            send(alert, freshness_message(alert.sender, alert.to, year, stale))
    return dg.RunRequest(run_key=f"freshness-{year}-{int(time.time())}", tags={"cluster_pipeline/year": str(year)})
