"""A failed step ends its run on the route the UI, the schedule and the sensor take (the code
location's job, Dagster's in-process executor): the run ends failed, within a minute, and the
failure alert goes out. No output of the graph is optional, since Dagster 1.13's in-process
executor spins for ever when a step downstream of an output left out is also downstream of a
failed step (dagster-io/dagster#33661)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

from cluster_pipeline.definitions import ASSETS
from cluster_pipeline.defs.operations.sensors import failure_alerts
from cluster_pipeline.defs.partitions import add_partitions
from cluster_pipeline_tests.files import cluster_batch
from cluster_pipeline_tests.operations.test_alerts import alert_env, inbox  # noqa: F401 (the fixture)
from cluster_pipeline_tests.processes import free_port

BIN = Path(sys.executable).parent
PROJECT = Path(__file__).resolve().parents[2]


def test_no_asset_of_the_graph_has_an_optional_output():
    optional = [key.to_user_string() for asset in ASSETS for key, spec in asset.specs_by_key.items() if spec.skippable]
    assert optional == []


def test_a_failed_step_on_the_uis_route_ends_the_run_failed_within_a_minute_and_alerts(tmp_path, inbox, monkeypatch):  # noqa: F811
    handler, smtp = inbox
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    cluster_batch(tmp_path / "landing" / "2016", 0)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        add_partitions(instance, [2016])
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "CLUSTER_PIPELINE_LANDING_DIR": str(tmp_path / "landing"),
        "CLUSTER_PIPELINE_OUTPUT_DIR": str(tmp_path / "out"),
        "CLUSTER_PIPELINE_REGISTER_DIR": str(tmp_path / "no_register"),  # its outputs written as not measured
        # the warehouse's PostgreSQL down: nothing listens on the port
        "CLUSTER_PIPELINE_WAREHOUSE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/warehouse",
    }
    started = time.monotonic()
    run = subprocess.run(
        [BIN / "dagster", "asset", "materialize", "-m", "cluster_pipeline.definitions", "--select", "*"]
        + ["--partition", "2016"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0 and time.monotonic() - started < 60, run.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (record,) = instance.get_run_records()
        assert record.dagster_run.status == dg.DagsterRunStatus.FAILURE
        events = instance.all_logs(record.dagster_run.run_id)
        failure = next(e for e in events if e.dagster_event and e.dagster_event.is_run_failure)
        for variable, value in alert_env(smtp).items():
            monkeypatch.setenv(variable, value)
        failure_alerts(
            dg.build_run_status_sensor_context(
                sensor_name="failure_alerts",
                dagster_event=failure.dagster_event,
                dagster_instance=instance,
                dagster_run=record.dagster_run,
            ).for_run_failure()
        )
    (message,) = handler.messages
    assert message["Subject"] == "cluster-pipeline: run failed (year 2016)"
    body = message.get_payload(decode=True).decode()
    assert "Why: PostgreSQL at 127.0.0.1:" in body and "refuses connections" in body
    assert "the previous figures stay published, unchanged" in body and "To do: start PostgreSQL" in body
