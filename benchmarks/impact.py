"""The impact measurement against the time to read the register files, side by side in one run.

    .venv/bin/python benchmarks/impact.py                  # scales 1 and 10
    .venv/bin/python benchmarks/impact.py --scales 1
    .venv/bin/python benchmarks/impact.py --steps 10     # the step's profile: each step's time and memory

Per scale, the five sample years and their register (2010-2018) are generated once under
benchmarks/.data/ and run through `cluster-pipeline run` once (not timed), so the published
companies exist. Then, each in a fresh process (wall time and peak RSS from wait4):
- floor: read every register file into pandas (semicolon CSV, every column as text);
- reading and validating the register alone (Arrow's CSV reader, GX);
- the impact step as its two assets run it: read and validate the register (GX) and measure
  (panel, estimates by group, balance, event study, staggered adoption, coverage), without
  Dagster's fixed cost;
- the same two assets through `dagster asset materialize` (scale 1);
- above scale 1, the whole run end to end: `cluster-pipeline run` of the five years with the
  register into a fresh output folder and Dagster home, against its own floor (the landing
  files and the register read into pandas: benchmarks/pipeline.py's floor).
Results: benchmarks/results/impact.md.
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
RESULTS = HERE / "results" / "impact.md"
BIN = Path(sys.executable).parent
YEARS = "2014-2018"

FLOOR = """
import sys
from pathlib import Path
import pandas as pd
rows = 0
for path in sorted(Path(sys.argv[1]).glob("firms_*.csv")):
    rows += len(pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig"))
print(rows, "rows")
"""

READ = """
import sys
from pathlib import Path
from cluster_pipeline.lib.impact.register import read_register
extract = read_register(Path(sys.argv[1]))
print(len(extract.firms), "firm-years")
"""

STEP = """
import sys
from pathlib import Path
from cluster_pipeline.lib.impact.measurement import measure_impact
from cluster_pipeline.lib.impact.register import read_register
from cluster_pipeline.lib.publish.parquet_store import read_partition
register, output = Path(sys.argv[1]), Path(sys.argv[2])
companies = {y: read_partition(output, "companies", y) for y in range(2014, 2019)}
memberships = {y: read_partition(output, "memberships", y) for y in range(2014, 2019)}
# the firm-years handed over, not kept, as the impact asset does (the measurement lets them go)
measured = measure_impact(read_register(register).firms, companies, memberships)
print(len(measured.tables["impact_estimates"]), "estimates")
"""

# the impact step once more, in the foreground, saying after each step its seconds, the memory
# the process holds and its peak so far (VmRSS and VmHWM, MiB)
STEPS = """
import sys, time
from pathlib import Path
from cluster_pipeline.lib.impact.measurement import measure_impact
from cluster_pipeline.lib.impact.register import read_register
from cluster_pipeline.lib.publish.parquet_store import read_partition
last = [time.perf_counter()]
def done(step):
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    now, held, peak = time.perf_counter(), int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0])
    print(f"| {step} | {now - last[0]:.1f} s | {held // 1024:,} MB | {peak // 1024:,} MB |", flush=True)
    last[0] = now
register, output = Path(sys.argv[1]), Path(sys.argv[2])
print("| step | seconds | held after | peak so far |")
print("|---|---|---|---|")
handed = [read_register(register).firms]  # handed over below, not kept (as the impact asset does)
done("read and validate the register")
companies = {y: read_partition(output, "companies", y) for y in range(2014, 2019)}
memberships = {y: read_partition(output, "memberships", y) for y in range(2014, 2019)}
done("read the published companies and memberships")
measure_impact(handed.pop(), companies, memberships, done)
"""


def measure(command: list, env: dict | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a fresh process and its children."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(c) for c in command],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"{command} failed: {process.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def prepared(scale: float) -> tuple[Path, Path, Path]:
    """The sample, its register and the published tables of the five years at this scale."""
    root = DATA / f"impact_scale{scale:g}"
    landing, register, output = root / "landing", root / "register", root / "published"
    if not (register / "firms_2018.csv").exists():
        subprocess.run(
            [
                BIN / "cluster-pipeline",
                "sample-data",
                "--landing",
                landing,
                "--register",
                register,
                "--years",
                YEARS,
                "--scale",
                str(scale),
            ],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
    if not (output / "impact_estimates" / "data.parquet").exists():
        subprocess.run(
            [
                BIN / "cluster-pipeline",
                "run",
                "--landing",
                landing,
                "--register",
                register,
                "--output",
                output,
                "--years",
                YEARS,
            ],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
    return landing, register, output


def through_dagster(landing: Path, register: Path, output: Path) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as home:
        return measure(
            [BIN / "dagster", "asset", "materialize", "-m", "cluster_pipeline.definitions", "--select", "group:impact"],
            env={
                "DAGSTER_HOME": home,
                "CLUSTER_PIPELINE_LANDING_DIR": str(landing),
                "CLUSTER_PIPELINE_REGISTER_DIR": str(register),
                "CLUSTER_PIPELINE_OUTPUT_DIR": str(output),
            },
        )


def end_to_end(landing: Path, register: Path) -> list[tuple[str, float, float]]:
    """The five years and the register through `cluster-pipeline run` from nothing, and its floor."""
    from pipeline import FLOOR as LANDING_FLOOR  # this folder's other benchmark: one floor for both

    years = [str(landing / str(y)) for y in range(2014, 2019)]
    landing_seconds, landing_rss = measure([sys.executable, "-c", LANDING_FLOOR, *years])
    register_seconds, register_rss = measure([sys.executable, "-c", FLOOR, register])
    with tempfile.TemporaryDirectory() as output, tempfile.TemporaryDirectory() as home:
        command = [BIN / "cluster-pipeline", "run", "--landing", landing, "--register", register, "--output", output]
        run = measure([*command, "--years", YEARS], env={"DAGSTER_HOME": home})
    return [
        (
            "floor: read the landing files and the register into pandas",
            landing_seconds + register_seconds,
            max(landing_rss, register_rss),
        ),
        ("`cluster-pipeline run`, five years with the register, end to end", *run),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", nargs="+", type=float, default=[1, 10])
    parser.add_argument("--steps", type=float, help="only the impact step's profile at this scale, printed")
    args = parser.parse_args()
    if args.steps is not None:
        _, register, output = prepared(args.steps)
        subprocess.run([sys.executable, "-c", STEPS, register, output], check=True, cwd=ROOT)
        return
    rows = []
    for scale in args.scales:
        landing, register, output = prepared(scale)
        floor, floor_rss = measure([sys.executable, "-c", FLOOR, register])
        measured = [("floor: read the register files into pandas", floor, floor_rss)]
        measured.append(("read and validate the register (GX)", *measure([sys.executable, "-c", READ, register])))
        measured.append(
            ("impact step (read, validate with GX, measure)", *measure([sys.executable, "-c", STEP, register, output]))
        )
        if scale == 1:
            measured.append(
                ("`dagster asset materialize --select group:impact`", *through_dagster(landing, register, output))
            )
        groups = [measured, end_to_end(landing, register) if scale > 1 else []]
        for group in filter(None, groups):  # each against its own floor, its first row
            for what, seconds, rss in group:
                rows.append((what, f"{scale:g}", f"{seconds:.1f} s", f"{seconds / group[0][1]:.1f}x", f"{rss:,.0f} MB"))
                print(rows[-1], flush=True)
    lines = [
        "# Impact measurement against reading the register",
        "",
        f"`.venv/bin/python benchmarks/impact.py --scales {' '.join(f'{s:g}' for s in args.scales)}`, "
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}.",
        "Register years 2010-2018 (about 63,000 firms a year at scale 1); each row a fresh process; x = wall time over "
        "the floor of the same scale, measured in this run.",
        "",
        "| what | scale | wall | x floor | peak RSS |",
        "|---|---|---|---|---|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(RESULTS.read_text())


if __name__ == "__main__":
    sys.exit(main())
