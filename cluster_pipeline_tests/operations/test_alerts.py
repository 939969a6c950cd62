"""Failures reach a person: a failed run e-mails the year, the failed step and the first lines of
its error; without alert settings the sensor does nothing and says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from email import message_from_bytes
from pathlib import Path

import dagster as dg
import pytest
from aiosmtpd.controller import Controller

from cluster_pipeline.definitions import ASSETS
from cluster_pipeline.defs.operations.sensors import failure_alerts
from cluster_pipeline.defs.partitions import add_partitions
from cluster_pipeline.defs.resources import resources_from_env
from cluster_pipeline_tests.processes import free_port

BIN = Path(sys.executable).parent
PROJECT = Path(__file__).resolve().parents[2]


class Inbox:
    """An SMTP server's handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, f"127.0.0.1:{controller.port}"
    finally:
        controller.stop()


def alert_env(smtp: str) -> dict:
    return {
        "CLUSTER_PIPELINE_ALERT_SMTP": smtp,
        "CLUSTER_PIPELINE_ALERT_TO": "statistik@example.dk, drift@example.dk",
        "CLUSTER_PIPELINE_UI_URL": "http://dagster.example.dk",
    }


def failed_run_context(instance: dg.DagsterInstance, tmp_path: Path) -> dg.RunFailureSensorContext:
    """A real failed run (2016 has no landing folder) and the context Dagster gives the sensor."""
    add_partitions(instance, [2016])
    result = dg.materialize(
        ASSETS,
        selection=dg.AssetSelection.assets("landed_files").required_multi_asset_neighbors(),
        partition_key="2016",
        instance=instance,
        resources=resources_from_env(
            str(tmp_path / "landing"), str(tmp_path / "out"), register=str(tmp_path / "no_register")
        ),
        raise_on_error=False,
    )
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = next(e for e in instance.all_logs(result.run_id) if e.dagster_event and e.dagster_event.is_run_failure)
    return dg.build_run_status_sensor_context(
        sensor_name="failure_alerts", dagster_event=failure.dagster_event, dagster_instance=instance, dagster_run=run
    ).for_run_failure()


def test_without_alert_settings_the_sensor_sends_nothing_and_says_why(tmp_path, monkeypatch):
    for variable in ("CLUSTER_PIPELINE_ALERT_SMTP", "CLUSTER_PIPELINE_ALERT_TO"):
        monkeypatch.delenv(variable, raising=False)
    with dg.instance_for_test() as instance:
        skipped = failure_alerts(failed_run_context(instance, tmp_path))
    assert isinstance(skipped, dg.SkipReason)
    assert "alerts are not configured: set CLUSTER_PIPELINE_ALERT_SMTP" in skipped.skip_message


def test_the_alert_names_the_year_the_failed_asset_the_error_and_the_run(tmp_path, monkeypatch, inbox):
    handler, smtp = inbox
    for variable, value in alert_env(smtp).items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("CLUSTER_PIPELINE_ALERT_PASSWORD", "")
    with dg.instance_for_test() as instance:
        context = failed_run_context(instance, tmp_path)
        failure_alerts(context)
    (message,) = handler.messages
    body = message.get_payload()
    assert message["Subject"] == "cluster-pipeline: run failed (year 2016)"
    assert message["To"] == "statistik@example.dk, drift@example.dk"
    assert "Failed: landed_files" in body and "No landing folder for 2016" in body
    assert f"http://dagster.example.dk/runs/{context.dagster_run.run_id}" in body


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1)
    raise TimeoutError(what)


def test_the_daemon_emails_a_failed_run_on_a_real_instance(tmp_path, inbox):
    handler, smtp = inbox
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **os.environ,
        **alert_env(smtp),
        "DAGSTER_HOME": str(home),
        "CLUSTER_PIPELINE_LANDING_DIR": str(tmp_path / "landing"),
        "CLUSTER_PIPELINE_OUTPUT_DIR": str(tmp_path / "out"),
        "CLUSTER_PIPELINE_REGISTER_DIR": str(tmp_path / "no_register"),
    }
    log = tmp_path / "daemon.log"
    with log.open("w") as out:
        daemon = subprocess.Popen(
            [BIN / "dagster-daemon", "run", "-m", "cluster_pipeline.definitions"],
            cwd=PROJECT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # a run-failure sensor starts watching at its first tick: fail a run only after it
        wait_for(
            lambda: "Initiating failure_alerts" in log.read_text(), 180, f"the sensor never ticked:\n{log.read_text()}"
        )
        instance = dg.DagsterInstance.from_config(str(home))  # 2016 a partition, without a landing folder
        add_partitions(instance, [2016])
        instance.dispose()
        failed = subprocess.run(
            [
                BIN / "dagster",
                "asset",
                "materialize",
                "-m",
                "cluster_pipeline.definitions",
                "--select",  # the step that lands the files writes its cells too: one selection
                "landed_files,landed_members_cells,landed_profile_cells",
                "--partition",
                "2016",
            ],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert failed.returncode != 0
        wait_for(lambda: handler.messages, 180, f"no e-mail arrived:\n{log.read_text()[-6000:]}")
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait(timeout=30)
    (message,) = handler.messages
    assert message["Subject"] == "cluster-pipeline: run failed (year 2016)"
    assert "No landing folder for 2016" in message.get_payload()
