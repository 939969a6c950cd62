"""The commands that need no Dagster start without it (importing dagster and the definitions costs seconds)."""

import subprocess
import sys

import pytest

PROBE = """
import sys
from cluster_pipeline.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("loaded:", " ".join(sorted({m.split('.')[0] for m in sys.modules} & {"dagster", "great_expectations"})))
"""


def loaded_by(*args: str) -> str:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    return next(line for line in done.stdout.splitlines() if line.startswith("loaded:")).removeprefix("loaded:").strip()


@pytest.mark.parametrize("command", [["--help"], ["check", "--help"], ["explain", "--help"]])
def test_help_imports_no_dagster(command):
    assert loaded_by(*command) == ""


def test_explain_imports_no_dagster(tmp_path):
    assert "dagster" not in loaded_by(
        "explain", "--output", str(tmp_path), "--year", "2016", "--indicator", "innovation"
    )


def test_check_imports_no_dagster(tmp_path):
    members = tmp_path / "medlemmer.csv"
    members.write_text("klynge_id,år,navn\nDK-CL-001,2016,Fjordtek A/S\n", encoding="utf-8")
    assert "dagster" not in loaded_by("check", str(members))
