"""Runs started at once stay consistent, and the CLI and the UI share one instance."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import requests

from cluster_pipeline.lib.publish.parquet_store import read_partition, read_table
from cluster_pipeline.sample_data.generate import generate
from cluster_pipeline_tests.processes import free_port

CLI = Path(sys.executable).parent / "cluster-pipeline"
YEARS = [2016, 2017]


def run(project: Path, landing: Path, output: Path, years: str, home: Path | None = None) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    if home is not None:
        env["DAGSTER_HOME"] = str(home)
    return subprocess.Popen(
        [CLI, "run", "--landing", landing, "--output", output, "--register", project / "none", "--years", years],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def row_ids(output: Path) -> pd.DataFrame:
    frames = [read_partition(output, "memberships", y) for y in YEARS]
    return (
        pd.concat(frames)[["source_file", "source_sheet", "source_row", "company_id"]]
        .sort_values(["source_file", "source_sheet", "source_row"])
        .reset_index(drop=True)
    )


def test_two_runs_of_different_years_at_once_end_as_one_run_after_the_other(tmp_path):
    landing = tmp_path / "landing"
    generate(landing, YEARS, scale=0.2, seed=11)
    together, apart = tmp_path / "together", tmp_path / "apart"
    started = [run(tmp_path, landing, together, str(year), tmp_path / "new_home") for year in YEARS]
    outputs = [process.communicate(timeout=600)[0] for process in started]
    assert [p.returncode for p in started] == [0, 0], outputs
    assert any("waiting for another run" in out for out in outputs), outputs
    sequential = run(tmp_path, landing, apart, ",".join(map(str, YEARS)), tmp_path / "other_home")
    assert sequential.communicate(timeout=600) and sequential.returncode == 0
    identities = read_table(together, "company_identities")
    current = set(identities.loc[identities["company_id"] == identities["current_id"], "company_id"])
    for year in YEARS:
        assert set(read_partition(together, "companies", year)["company_id"]) <= current
    pd.testing.assert_frame_equal(row_ids(together), row_ids(apart))


def test_the_ui_opens_the_instance_the_demo_years_ran_on(tmp_path):
    landing, output = tmp_path / "landing", tmp_path / "published"
    years = "2014-2018"
    generate(landing, list(range(2014, 2019)), scale=0.05)
    demo_years = run(tmp_path, landing, output, years)  # no DAGSTER_HOME: data/dagster_home
    assert demo_years.communicate(timeout=600) and demo_years.returncode == 0
    assert (tmp_path / "data" / "dagster_home").is_dir()
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    ui = subprocess.Popen(
        [CLI, "ui", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    query = """{ assetNodes(assetKeys: [{path: ["indicator_status"]}]) {
                   assetMaterializations(limit: 10) { partition runId } } }"""
    try:
        deadline, answer = time.monotonic() + 180, None
        while time.monotonic() < deadline:
            try:
                answer = requests.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=5).json()
                break
            except (requests.ConnectionError, requests.Timeout, ValueError):
                time.sleep(1)
        assert answer is not None, "the UI did not answer"
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        try:
            ui.wait(timeout=60)
        except subprocess.TimeoutExpired:  # dagster dev's children can be slow to stop on a busy machine
            os.killpg(ui.pid, signal.SIGKILL)
            ui.wait(timeout=30)
    (node,) = answer["data"]["assetNodes"]
    assert {m["partition"] for m in node["assetMaterializations"]} == {str(y) for y in range(2014, 2019)}
