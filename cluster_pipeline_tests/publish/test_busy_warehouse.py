"""A warehouse that is busy or away for a moment is waited for, within the bounds of the
thresholds seed; then the run fails with the database's own error. Real locks, real ports."""

from __future__ import annotations

import subprocess
import sys
import time

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa

from cluster_pipeline.defs import resources
from cluster_pipeline.defs.resources import OutputFolder, Warehouse
from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.publish.warehouse import replace_tables
from cluster_pipeline_tests.processes import free_port

SCHEMA = pa.schema([("year", pa.int64()), ("companies", pa.int64())])
TABLE = {"national_figures": (pd.DataFrame({"year": [2016], "companies": [12_000]}), SCHEMA)}
HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")  # what a DB browser with unsaved changes holds
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
"""


def held_for(path, seconds: float) -> subprocess.Popen:
    """Another program holding the SQLite file for `seconds`, from the moment this returns."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


def with_limits(monkeypatch, **limits):
    found = {**seeds.thresholds(), **limits}
    monkeypatch.setattr(resources.seeds, "thresholds", lambda: found)


def test_a_sqlite_warehouse_another_program_holds_is_waited_for(tmp_path):
    output = OutputFolder(path=str(tmp_path))
    with Warehouse().connect(output) as engine:
        replace_tables(engine, TABLE)
    holder = held_for(tmp_path / "warehouse.sqlite", 7)  # longer than sqlite3's own 5 s
    started = time.monotonic()
    with Warehouse().connect(output) as engine:
        assert replace_tables(engine, TABLE) == {"national_figures": 1}
    assert time.monotonic() - started > 6  # it waited for the lock rather than failing
    holder.wait(timeout=30)


def test_a_sqlite_warehouse_held_beyond_the_bound_fails_with_the_lock_named(tmp_path, monkeypatch):
    with_limits(monkeypatch, warehouse_busy_seconds=1)
    output = OutputFolder(path=str(tmp_path))
    with Warehouse().connect(output) as engine:
        replace_tables(engine, TABLE)
    holder = held_for(tmp_path / "warehouse.sqlite", 6)
    started = time.monotonic()
    with pytest.raises(sa.exc.OperationalError, match="database is locked"), Warehouse().connect(output) as engine:
        replace_tables(engine, TABLE)
    assert time.monotonic() - started < 5
    holder.wait(timeout=30)


def test_an_unreachable_postgresql_is_retried_within_the_bound_then_fails(tmp_path, monkeypatch):
    with_limits(monkeypatch, warehouse_connect_seconds=2)
    warehouse = Warehouse(url=f"postgresql://postgres@127.0.0.1:{free_port()}/warehouse")
    started = time.monotonic()
    with pytest.raises(sa.exc.OperationalError, match="refused"), warehouse.connect(OutputFolder(path=str(tmp_path))):
        pass
    assert 1 < time.monotonic() - started < 10
