"""Keeping the current year fresh: a sensor on the landing folder and a nightly schedule.
Both only ever request years that have a landing folder with files in it, and make such a
year a partition first."""

import json
from datetime import datetime

import dagster as dg

from cluster_pipeline.defs.partitions import add_partitions, new_partitions, year_range, years
from cluster_pipeline.defs.resources import LandingFolder
from cluster_pipeline.lib.ingest.landing_state import file_hashes, fingerprint, year_folders

JOB = "yearly_statistics"

yearly_statistics = dg.define_asset_job(
    JOB,
    selection=dg.AssetSelection.all(),
    partitions_def=years,
    description="Everything for one reporting year, from the landing folder to the published tables.",
    # transient failures (a crashed run process) are retried twice by the daemon (deploy/dagster.yaml
    # enables run retries but not for asset failures, which bad data would only repeat)
    # A run that still hangs anyway is ended by the daemon's run monitoring (deploy/dagster.yaml) after
    # an hour, far above a national year's few minutes, and its failure alerted like any other.
    tags={"dagster/max_retries": 2, "dagster/retry_strategy": "FROM_FAILURE", "dagster/max_runtime": 3600},
)


@dg.sensor(
    job_name=JOB,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Requests a run for a year when a file in its landing folder is added, removed or changed "
    "(by content hash). One run per distinct content of a year: run keys never repeat a content.",
)
def landing_files_sensor(context: dg.SensorEvaluationContext, landing: LandingFolder):
    cursor = json.loads(context.cursor) if context.cursor else {}
    new_cursor = {}
    requests = []
    for year, folder in year_folders(landing.root, *year_range()).items():
        before = cursor.get(str(year), {})
        state = file_hashes(folder, before.get("files"))
        content = fingerprint(state)
        new_cursor[str(year)] = {"fingerprint": content, "files": state}
        if before.get("fingerprint") != content:
            requests.append(
                dg.RunRequest(
                    run_key=f"{year}-{content[:20]}",
                    partition_key=str(year),
                    tags={"cluster_pipeline/trigger": "landing_files"},
                )
            )
    # the cursor holds every year seen in this evaluation, so nothing is skipped next time
    context.update_cursor(json.dumps(new_cursor))
    if not requests:
        return dg.SkipReason("no new or changed landing files")
    # a year whose folder holds files for the first time becomes a partition in the same tick
    added = new_partitions(context.instance, [r.partition_key for r in requests])
    return dg.SensorResult(
        run_requests=requests, dynamic_partitions_requests=[years.build_add_request(added)] if added else []
    )


@dg.schedule(
    job_name=JOB,
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/Copenhagen",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every night: materialise the latest year that has submissions; nothing when there is none.",
)
def nightly_latest_year(context: dg.ScheduleEvaluationContext, landing: LandingFolder):
    found = year_folders(landing.root, *year_range())
    if not found:
        return dg.SkipReason(f"no year in {landing.root} has submissions")
    latest = max(found)
    add_partitions(context.instance, [latest])  # a schedule cannot ask for partitions: it adds the year itself
    stamp = context.scheduled_execution_time or datetime.now()
    return dg.RunRequest(
        run_key=f"nightly-{latest}-{stamp:%Y%m%d}",
        partition_key=str(latest),
        tags={"cluster_pipeline/trigger": "nightly"},
    )
