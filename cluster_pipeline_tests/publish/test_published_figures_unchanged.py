"""Every published figure of the sample years stays the same when the code changes for
speed or structure: each table's content is compared with a fingerprint recorded from an
earlier version of the pipeline (published_fingerprints.json).

A change meant to alter figures re-records them, and says why in its commit:

    CLUSTER_PIPELINE_RECORD_FINGERPRINTS=1 .venv/bin/pytest \
        cluster_pipeline_tests/publish/test_published_figures_unchanged.py

A recorded entry with "columns" covers the columns the table had when it was recorded: a
column added since (memberships.services_used in the years of template version 1) is
covered by its own tests, and the content the entry covers must stay the same. Re-recording
keeps these entries' columns, so only a deliberate edit widens them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from cluster_pipeline.lib import tables
from cluster_pipeline.lib.publish.parquet_store import read_partition, read_table
from cluster_pipeline_tests.runs import YEARS

RECORDED = Path(__file__).with_name("published_fingerprints.json")
# what differs between two runs over the same sample without any figure changing: the
# files' bytes (a workbook stores when it was written)
VOLATILE = {"ingest_manifest": ["sha256", "size_bytes"]}


def fingerprint(frame: pd.DataFrame) -> dict:
    """Row count and a hash of the rows in a canonical order (floats to 9 significant digits)."""
    text = frame.map(
        lambda v: (
            f"{v:.9g}"
            if isinstance(v, float)
            else json.dumps(v.tolist() if hasattr(v, "tolist") else v, default=str, ensure_ascii=False)
        )
    )
    rows = sorted("\x1f".join(row) for row in text.itertuples(index=False))
    return {"rows": len(frame), "sha256": hashlib.sha256("\x1e".join(rows).encode()).hexdigest()}


def covered(frame: pd.DataFrame, entry: dict | None) -> dict:
    """The fingerprint of the columns the recorded entry covers (every column without a list)."""
    columns = (entry or {}).get("columns")
    return fingerprint(frame[columns]) | {"columns": columns} if columns else fingerprint(frame)


def published_fingerprints(output: Path, recorded: dict) -> dict[str, dict]:
    found = {}
    for year in YEARS:
        for name in tables.TABLES:
            frame = read_partition(output, name, year).drop(columns=VOLATILE.get(name, []))
            found[f"{name}/{year}"] = covered(frame, recorded.get(f"{name}/{year}"))
    found["company_identities"] = fingerprint(read_table(output, "company_identities"))
    return found


def test_every_published_table_of_the_sample_years_has_its_recorded_content(five_years):
    recorded = json.loads(RECORDED.read_text())
    found = published_fingerprints(five_years[YEARS[0]].output, recorded)
    if os.environ.get("CLUSTER_PIPELINE_RECORD_FINGERPRINTS"):
        RECORDED.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"recorded {RECORDED.name}")
    changed = sorted(key for key in recorded if found.get(key) != recorded[key])
    assert not changed and found.keys() == recorded.keys(), f"published content changed: {changed}"
