"""The whole pipeline against its floor, side by side in one run.

    .venv/bin/python benchmarks/pipeline.py                 # scale 1 (3 years CLI, 1 year UI path), scale 10
    .venv/bin/python benchmarks/pipeline.py --scales 1 10 100

The floor is what any pipeline must do: read every landing file of the year(s) into
pandas frames in one cold Python process (python-calamine for XLSX after the zip check,
pandas for CSV after decoding). Each measurement is a fresh process (wall time and peak
RSS from wait4); times are reported as multiples of the floor measured in the same run,
since this machine is shared and noisy. Sample data is generated once per scale under
benchmarks/.data/ (not timed). Results: benchmarks/results/pipeline.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
DATA = HERE / ".data"
RESULTS = HERE / "results" / "pipeline.md"
BIN = Path(sys.executable).parent
CLI_YEARS = [2014, 2015, 2016]
ONE_YEAR = 2016

FLOOR = """
import sys, io
from pathlib import Path
import pandas as pd
from python_calamine import CalamineWorkbook
from cluster_pipeline.lib.ingest.landing import check_xlsx_container, decode, sniff_delimiter
frames = 0
for folder in sys.argv[1:]:
    for path in sorted(Path(folder).iterdir()):
        if path.suffix == ".xlsx":
            try:
                check_xlsx_container(path)
                book = CalamineWorkbook.from_path(str(path))
            except Exception:
                continue
            for name in book.sheet_names:
                rows = book.get_sheet_by_name(name).to_python()
                if rows:
                    pd.DataFrame(rows[1:], columns=range(len(rows[0]))); frames += 1
        elif path.suffix == ".csv" and path.stat().st_size:
            text = decode(path.read_bytes())
            try:
                pd.read_csv(io.StringIO(text), sep=sniff_delimiter(text.split("\\n", 1)[0]), dtype=str); frames += 1
            except Exception:
                continue
print(frames, "frames")
"""


def measure(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a fresh process and its children."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"{command} failed: {process.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def landing_for(scale: float, years: list[int]) -> Path:
    landing = DATA / f"landing_scale{scale:g}"
    if not all((landing / str(y)).is_dir() for y in years):
        subprocess.run(
            [
                BIN / "cluster-pipeline",
                "sample-data",
                "--landing",
                landing,
                "--years",
                ",".join(map(str, years)),
                "--scale",
                str(scale),
                "--register",
                register_for(landing),
            ],
            check=True,
            cwd=ROOT,
        )
    return landing


def register_for(landing: Path) -> Path:
    """The sample's firm register, beside its landing folder (the run measures the impact step too)."""
    return landing.with_name(landing.name.replace("landing", "register"))


def floor(landing: Path, years: list[int]) -> tuple[float, float]:
    return measure([sys.executable, "-c", FLOOR, *[str(landing / str(y)) for y in years]])


def cli(landing: Path, years: list[int]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as output, tempfile.TemporaryDirectory() as home:
        return measure(
            [
                BIN / "cluster-pipeline",
                "run",
                "--landing",
                landing,
                "--output",
                output,
                "--years",
                ",".join(map(str, years)),
                "--register",
                register_for(landing),
            ],
            env={"DAGSTER_HOME": home},
        )


def ui_path(landing: Path, year: int) -> tuple[float, float]:
    """How the UI, the schedule and the sensor run a year: dagster asset materialize."""
    with tempfile.TemporaryDirectory() as output, tempfile.TemporaryDirectory() as home:
        return measure(
            [
                BIN / "dagster",
                "asset",
                "materialize",
                "-m",
                "cluster_pipeline.definitions",
                "--select",
                "*",
                "--partition",
                str(year),
            ],
            env={
                "DAGSTER_HOME": home,
                "CLUSTER_PIPELINE_LANDING_DIR": str(landing),
                "CLUSTER_PIPELINE_OUTPUT_DIR": output,
                "CLUSTER_PIPELINE_REGISTER_DIR": str(register_for(landing)),
            },
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", nargs="+", type=float, default=[1, 10])
    args = parser.parse_args()
    rows = []

    def record(what, scale, years, seconds, rss, floor_seconds):
        rows.append(
            (what, f"{scale:g}", years, f"{seconds:.1f} s", f"{seconds / floor_seconds:.1f}x", f"{rss:,.0f} MB")
        )
        print(rows[-1], flush=True)

    for scale in args.scales:
        if scale == 1:
            landing = landing_for(1, CLI_YEARS)
            f3, r3 = floor(landing, CLI_YEARS)
            record("floor: read the files into pandas", 1, "2014-2016", f3, r3, f3)
            seconds, rss = cli(landing, CLI_YEARS)
            record("`cluster-pipeline run`", 1, "2014-2016", seconds, rss, f3)
            f1, r1 = floor(landing, [ONE_YEAR])
            record("floor: read the files into pandas", 1, str(ONE_YEAR), f1, r1, f1)
            seconds, rss = ui_path(landing, ONE_YEAR)
            record("`dagster asset materialize` (UI path)", 1, str(ONE_YEAR), seconds, rss, f1)
            seconds, rss = cli(landing, [ONE_YEAR])
            record("`cluster-pipeline run`", 1, str(ONE_YEAR), seconds, rss, f1)
        else:
            landing = landing_for(scale, [ONE_YEAR])
            f1, r1 = floor(landing, [ONE_YEAR])
            record("floor: read the files into pandas", scale, str(ONE_YEAR), f1, r1, f1)
            seconds, rss = cli(landing, [ONE_YEAR])
            record("`cluster-pipeline run`", scale, str(ONE_YEAR), seconds, rss, f1)

    lines = [
        "# Pipeline against its floor",
        "",
        f"`{' '.join(['.venv/bin/python', 'benchmarks/pipeline.py', '--scales', *[f'{s:g}' for s in args.scales]])}`, "
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}.",
        "Each row is a fresh process; x = wall time over the floor of the same years and scale, measured in this run.",
        "",
        "| what | scale | years | wall | x floor | peak RSS |",
        "|---|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(RESULTS.read_text())


if __name__ == "__main__":
    sys.exit(main())
