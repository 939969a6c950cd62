"""The whole pipeline against its floor, side by side in one run.

    .venv/bin/python benchmarks/pipeline.py                 # scale 1: five years and one year, every path
                                                            #   (and `run` over three years)
    .venv/bin/python benchmarks/pipeline.py --scales 1 20 100   # + the survey pipeline at scale 20 (five
                                                                #   years and one), one year at scale 100

The floor is what any pipeline must do: read every file the run reads into pandas frames in
one cold Python process: the landing files of the year(s) (python-calamine for XLSX after the
zip check, pandas for CSV after decoding) and, at scale 1, the firm register's files (the
impact step reads all of them in every run; above scale 1 the survey pipeline runs without
them). Each measurement is a fresh process (wall time and peak RSS from wait4); times are
reported as multiples of the floor measured in the same run, since this machine is shared
and noisy. Sample data is generated once per scale under benchmarks/.data/ (not timed).
Results: benchmarks/results/pipeline.md.
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
FIVE_YEARS = [2014, 2015, 2016, 2017, 2018]
THREE_YEARS = [2014, 2015, 2016]  # `run` over three years as well (its first run only)
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
REGISTER_FLOOR = """
import sys
from pathlib import Path
import pandas as pd
for path in sorted(Path(sys.argv[1]).glob("firms_*.csv")):
    pd.read_csv(path, sep=";", dtype=str)
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
    """The sample's landing folder at this scale; at scale 1 with its firm register (above it the
    register is left out: the impact step is measured on its own in benchmarks/impact.py)."""
    from cluster_pipeline.sample_data.generate import generate

    landing = DATA / f"landing_scale{scale:g}"
    if not all((landing / str(y)).is_dir() for y in years):
        generate(landing, years, scale=scale, register=register_for(landing) if scale == 1 else None)
    return landing


def register_for(landing: Path) -> Path:
    """The sample's firm register, beside its landing folder (the run measures the impact step too)."""
    return landing.with_name(landing.name.replace("landing", "register"))


def floor(landing: Path, years: list[int], register: bool = True) -> tuple[float, float]:
    """The landing files of the years and (when the run reads it) the register's files."""
    files, rss = measure([sys.executable, "-c", FLOOR, *[str(landing / str(y)) for y in years]])
    if not register:
        return files, rss
    register_seconds, register_rss = measure([sys.executable, "-c", REGISTER_FLOOR, str(register_for(landing))])
    return files + register_seconds, max(rss, register_rss)


def _measured(again: bool, run) -> tuple[float, float]:
    """run(output, home) in fresh folders; again: the second of two runs in the same folders
    (the night after: everything published, the register validated before), not the first."""
    with tempfile.TemporaryDirectory() as output, tempfile.TemporaryDirectory() as home:
        if again:
            run(output, home)
        return run(output, home)


def cli(landing: Path, years: list[int], register: bool = True, again: bool = False) -> tuple[float, float]:
    def run(output, home):
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
                register_for(landing) if register else Path(output) / "no_register",
            ],
            env={"DAGSTER_HOME": home},
        )

    return _measured(again, run)


def through_dagster(landing: Path, years: list[int], again: bool = False) -> tuple[float, float]:
    """How the UI, the schedule and the sensor run years: `dagster asset materialize` of every
    asset, one year by --partition, several as one single-run backfill by --partition-range."""
    span = ["--partition", str(years[0])] if len(years) == 1 else ["--partition-range", f"{years[0]}...{years[-1]}"]

    def run(output, home):
        env = {
            "DAGSTER_HOME": home,
            "CLUSTER_PIPELINE_LANDING_DIR": str(landing),
            "CLUSTER_PIPELINE_OUTPUT_DIR": output,
            "CLUSTER_PIPELINE_REGISTER_DIR": str(register_for(landing)),
        }
        # the years with landing files are partitions first (what the sensor does; not timed)
        subprocess.run([BIN / "cluster-pipeline", "partitions"], env={**os.environ, **env}, check=True)
        return measure(
            [BIN / "dagster", "asset", "materialize", "-m", "cluster_pipeline.definitions", "--select", "*", *span],
            env=env,
        )

    return _measured(again, run)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", nargs="+", type=float, default=[1])
    args = parser.parse_args()
    rows = []

    def record(what, scale, years, seconds, rss, floor_seconds):
        rows.append(
            (what, f"{scale:g}", years, f"{seconds:.1f} s", f"{seconds / floor_seconds:.1f}x", f"{rss:,.0f} MB")
        )
        print(rows[-1], flush=True)

    def span(years):
        return f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])

    for scale in args.scales:
        measured = [FIVE_YEARS, [ONE_YEAR]] if scale <= 20 else [[ONE_YEAR]]
        landing = landing_for(scale, sorted({y for years in measured for y in years}))
        # the survey pipeline alone (no register: the impact step is skipped), then with the register
        for years in measured if scale > 1 else measured[:1]:
            floor_seconds, rss = floor(landing, years, register=False)
            record("floor: read the landing files into pandas", scale, span(years), floor_seconds, rss, floor_seconds)
            seconds, rss = cli(landing, years, register=False)
            record("`cluster-pipeline run`, no register", scale, span(years), seconds, rss, floor_seconds)
        if scale > 1:  # the register's step above scale 1: benchmarks/impact.py
            continue
        for years in [FIVE_YEARS, THREE_YEARS, [ONE_YEAR]]:
            floor_seconds, rss = floor(landing, years)
            record("floor: read the files and the register", scale, span(years), floor_seconds, rss, floor_seconds)
            seconds, rss = cli(landing, years)
            record("`cluster-pipeline run`", scale, span(years), seconds, rss, floor_seconds)
            if years == THREE_YEARS:
                continue
            seconds, rss = cli(landing, years, again=True)
            record("`cluster-pipeline run`, the night after", scale, span(years), seconds, rss, floor_seconds)
            what = "`dagster asset materialize` (UI path)" if len(years) == 1 else "single-run backfill (UI path)"
            seconds, rss = through_dagster(landing, years)
            record(what, scale, span(years), seconds, rss, floor_seconds)
            seconds, rss = through_dagster(landing, years, again=True)
            record(f"{what}, the night after", scale, span(years), seconds, rss, floor_seconds)

    lines = [
        "# Pipeline against its floor",
        "",
        f"`{' '.join(['.venv/bin/python', 'benchmarks/pipeline.py', '--scales', *[f'{s:g}' for s in args.scales]])}`, "
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}.",
        "Each row is a fresh process; x = wall time over the floor of the same years and scale, measured in this run. "
        "'The night after' is the second of two runs into the same output folder: everything published before, "
        "the register files validated before (not validated again while their bytes, the contracts and the code "
        "are unchanged).",
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
