"""Adding an indicator is a row of the indicator_targets seed and its measure in
indicator_status.sql: shown on a copy of the project's files (CLUSTER_PIPELINE_PROJECT_DIR),
run end to end by the command users type."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from cluster_pipeline.lib.project_files import project_dir

SEVENTH = (
    'sme_innovation,"At least 1,000 SMEs annually develop new innovations through the clusters",'
    "new_products_sme,1000,,,,2018,companies\n"
)
MEASURE = "    union all select 'new_products_sme', new_products_sme, null, null from national\n"


def project_copy(root: Path, measure: bool) -> Path:
    copy = root / "project"
    for folder in ("data_contracts", "dbt_like_sql"):
        shutil.copytree(project_dir() / folder, copy / folder)
    with (copy / "dbt_like_sql" / "seeds" / "indicator_targets.csv").open("a", encoding="utf-8") as seed:
        seed.write(SEVENTH)
    if measure:
        model = copy / "dbt_like_sql" / "models" / "indicator_status.sql"
        lines = model.read_text(encoding="utf-8").splitlines(keepends=True)
        header = next(i for i, line in enumerate(lines) if " as measure," in line)  # the measures' first row
        model.write_text("".join([*lines[: header + 1], MEASURE, *lines[header + 1 :]]), encoding="utf-8")
    return copy


def run_one_year(root: Path, project: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"CLUSTER_PIPELINE_PROJECT_DIR": str(project)}
    cli = [sys.executable, "-m", "cluster_pipeline.cli"]
    landing, output = root / "landing", root / "published"
    subprocess.run(
        [*cli, "sample-data", "--landing", str(landing), "--years", "2016", "--scale", "0.2"],
        env=env,
        check=True,
        capture_output=True,
    )
    return subprocess.run(
        [*cli, "run", "--landing", str(landing), "--output", str(output), "--years", "2016"],
        env=env,
        capture_output=True,
        text=True,
    )


def test_a_seed_row_and_its_measure_publish_a_seventh_indicator_checked_and_in_the_report(tmp_path):
    result = run_one_year(tmp_path, project_copy(tmp_path, measure=True))

    assert result.returncode == 0, result.stdout + result.stderr
    status = pd.read_parquet(tmp_path / "published" / "indicator_status" / "year=2016" / "data.parquet")
    assert len(status) == 7
    (row,) = status[status["indicator_id"] == "sme_innovation"].itertuples()
    companies = pd.read_parquet(tmp_path / "published" / "national_outcomes" / "year=2016" / "data.parquet")
    assert row.value == companies["new_products_sme"].iat[0] > 0
    assert "every_indicator_in_the_seed" not in result.stdout  # the run lists every check that did not pass
    report = (tmp_path / "published" / "reports" / "2016.html").read_text(encoding="utf-8")
    assert "At least 1,000 SMEs annually develop new innovations through the clusters" in report


def test_a_seed_row_whose_measure_the_sql_lacks_fails_the_indicator_check(tmp_path):
    result = run_one_year(tmp_path, project_copy(tmp_path, measure=False))

    assert "check not passed: indicator_status / every_indicator_in_the_seed" in result.stdout
    status = pd.read_parquet(tmp_path / "published" / "indicator_status" / "year=2016" / "data.parquet")
    assert status.set_index("indicator_id").at["sme_innovation", "detail"] == "no data"
