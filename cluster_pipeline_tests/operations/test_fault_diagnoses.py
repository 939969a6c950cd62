"""The faults around the files, made to happen for real (a full file system, a read-only one, a
port nothing listens on, Ctrl-C, a SQLite file another program holds): each run ends in one line
saying what failed, why, what is published and what to do, with the traceback in a log file; the
exit code tells a fault from bad input; the published figures are those of the year before it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from cluster_pipeline.lib.operations import diagnosis
from cluster_pipeline_tests.files import cluster_batch
from cluster_pipeline_tests.processes import free_port

BIN = Path(sys.executable).parent
PROJECT = Path(__file__).resolve().parents[2]
LOG = re.compile(r"\(full traceback: (?P<path>[^)]+)\)$")


def mounted_tmpfs(folder: Path, megabytes: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"this machine does not let the tests mount a small file system: {done.stderr.decode().strip()}")
    return folder


@pytest.fixture
def published(tmp_path):
    """A year published once on a small file system of its own; unmounted afterwards."""
    output = mounted_tmpfs(tmp_path / "published", 64)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    cluster_batch(tmp_path / "landing" / "2016", 1)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    env.pop("CLUSTER_PIPELINE_WAREHOUSE_URL", None)
    command = [BIN / "cluster-pipeline", "run", "--years", "2016", "--landing", str(tmp_path / "landing")]
    command += ["--output", str(output), "--register", str(tmp_path / "no_register")]
    first = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    try:
        yield output, command, env
    finally:
        subprocess.run(["umount", "-l", str(output)], check=False)


def companies_file(output: Path) -> bytes:
    return (output / "companies" / "year=2016" / "data.parquet").read_bytes()


def last_line(stderr: str) -> str:
    return [line for line in stderr.splitlines() if line.strip()][-1]


def assert_one_line(done: subprocess.CompletedProcess, why: str, code: int) -> None:
    line = last_line(done.stderr)
    assert done.returncode == code, (done.returncode, done.stderr[-2000:])
    assert line.startswith("failed: ") and why in line and "the previous figures stay published" in line, line
    log = Path(LOG.search(line)["path"])
    assert "Traceback" in log.read_text() or "Stack Trace" in log.read_text()


def test_a_full_output_disk_ends_in_one_line_with_the_room_it_needs_and_the_year_unchanged(published):
    output, command, env = published
    before = companies_file(output)
    free = os.statvfs(output).f_bavail * os.statvfs(output).f_frsize
    (output / "filler").write_bytes(b"\0" * (free - 64 * 1024))
    done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
    assert_one_line(done, "the output disk is full", diagnosis.FAULT)
    assert "free at least" in last_line(done.stderr)
    assert companies_file(output) == before


def test_a_read_only_output_folder_ends_in_one_line_and_the_year_unchanged(published):
    output, command, env = published
    before = companies_file(output)
    subprocess.run(["mount", "-o", "remount,ro", str(output)], check=True)
    done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
    assert_one_line(done, "is read-only", diagnosis.FAULT)
    assert companies_file(output) == before


def test_an_unreachable_postgresql_ends_in_one_line_naming_host_and_port(published):
    output, command, env = published
    before = companies_file(output)
    port = free_port()
    env = {**env, "CLUSTER_PIPELINE_WAREHOUSE_URL": f"postgresql://postgres@127.0.0.1:{port}/warehouse"}
    done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
    assert_one_line(done, f"PostgreSQL at 127.0.0.1:{port} refuses connections", diagnosis.FAULT)
    assert companies_file(output) == before


def test_ctrl_c_ends_the_run_in_one_line_and_the_year_unchanged(published):
    output, command, env = published
    before = companies_file(output)
    run = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in run.stdout:  # once the run has started on the year
        if "2016" in line:
            break
    time.sleep(1)
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=120)
    assert_one_line(subprocess.CompletedProcess(command, run.returncode, "", stderr), "interrupted", 130)
    assert companies_file(output) == before


def test_a_sqlite_file_another_program_holds_is_diagnosed_as_locked(tmp_path):
    path = tmp_path / "warehouse.sqlite"
    holder = sa.create_engine(f"sqlite:///{path}", connect_args={"isolation_level": None})
    with holder.connect() as held:
        held.exec_driver_sql("BEGIN EXCLUSIVE")
        waiting = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.2})
        with pytest.raises(sa.exc.OperationalError) as raised, waiting.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        held.exec_driver_sql("ROLLBACK")
    found = diagnosis.diagnose(str(raised.value), tmp_path)
    assert "locked by another program" in found.why and found.exit_code == diagnosis.FAULT


def test_bad_input_and_a_fault_have_exit_codes_of_their_own(tmp_path):
    assert diagnosis.diagnose("landed_files: No landing folder for 2016", tmp_path).exit_code == diagnosis.BAD_INPUT
    assert diagnosis.diagnose("OSError: [Errno 28] No space left on device", tmp_path).exit_code == diagnosis.FAULT
    assert diagnosis.BAD_INPUT != diagnosis.FAULT != diagnosis.INTERRUPTED
