"""End to end through the UI's own server: `dagster dev` on a temporary DAGSTER_HOME, a run
of one year launched through the GraphQL API, and the asset graph in headless Chromium
(saved as cluster_pipeline_tests/artifacts/asset_graph.png)."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest
from dagster_graphql import DagsterGraphQLClient

from cluster_pipeline.defs.partitions import add_partitions
from cluster_pipeline.sample_data.generate import generate
from cluster_pipeline_tests.browser import needs_chromium, screenshot

PROJECT = Path(__file__).resolve().parents[1]
YEAR = 2016


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float, server: subprocess.Popen) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        assert server.poll() is None, "dagster dev exited early"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@pytest.fixture
def dagster_dev(tmp_path):
    landing, output, home = tmp_path / "landing", tmp_path / "published", tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")  # no welcome pop-up
    generate(landing, [YEAR], scale=0.05)
    instance = dg.DagsterInstance.from_config(str(home))  # the year a partition, as `cluster-pipeline ui` does
    add_partitions(instance, [YEAR])
    instance.dispose()
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "CLUSTER_PIPELINE_LANDING_DIR": str(landing),
        "CLUSTER_PIPELINE_OUTPUT_DIR": str(output),
        "CLUSTER_PIPELINE_REGISTER_DIR": str(tmp_path / "no_register"),
    }
    log = (tmp_path / "dagster_dev.log").open("w")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster"),
            "dev",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=PROJECT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        load_seconds = wait_for(f"http://127.0.0.1:{port}/server_info", 180, server)
        yield port, output, load_seconds
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


@needs_chromium
def test_a_year_runs_through_the_graphql_api_and_the_asset_graph_renders(dagster_dev, tmp_path):
    port, output, load_seconds = dagster_dev
    print(f"dagster dev answered after {load_seconds:.1f}s")
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    run_id = client.submit_job_execution("yearly_statistics", tags={"dagster/partition": str(YEAR)})
    deadline = time.monotonic() + 300
    while (status := client.get_run_status(run_id).value) not in ("SUCCESS", "FAILURE", "CANCELED"):
        assert time.monotonic() < deadline, f"run {run_id} still {status}"
        time.sleep(2)
    assert status == "SUCCESS"
    assert (output / "indicator_status" / f"year={YEAR}" / "data.parquet").exists()

    shot = screenshot(f"http://127.0.0.1:{port}/asset-groups", "asset_graph.png", tmp_path / "chromium")
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
