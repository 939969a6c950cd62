"""Ingest + validation time and peak memory for one sample year.

    .venv/bin/python benchmarks/ingest_validation.py --scales 1 10 --year 2016

Each scale runs in a fresh process (peak RSS is per process). The sample data is written
first and not timed; the timed part is intake (discover, hash, read, map headers) and
validation (GX suite, quarantine, normalisation), as the Dagster assets run them.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "ingest_validation.md"


def measure(scale: float, year: int) -> dict:
    from cluster_pipeline.lib.contracts.submissions import validate_year
    from cluster_pipeline.lib.ingest.intake import intake_year
    from cluster_pipeline.lib.survey.template import load_template
    from cluster_pipeline.sample_data.generate import generate

    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), [year], scale=scale)
        import great_expectations  # noqa: F401  (import cost is not the pipeline's per-year cost)

        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        template = load_template()
        intake = intake_year(Path(tmp) / str(year), template, year)
        read = time.perf_counter()
        result = validate_year(intake.cells, template, year)
        done = time.perf_counter()
    rows = sum(len(c) for c in intake.cells.values())
    return {
        "scale": scale,
        "rows": rows,
        "files": len(intake.files),
        "intake_s": round(read - started, 2),
        "validation_s": round(done - read, 2),
        "total_s": round(done - started, 2),
        "rows_per_s": round(rows / (done - started)),
        "quarantined": sum(len(v.quarantined) for v in result.values()),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_before_mb": round(baseline / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 10])
    parser.add_argument("--year", type=int, default=2016)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.scales[0], args.year)))
        return
    rows = []
    for scale in args.scales:
        out = subprocess.run(
            [sys.executable, __file__, "--one", "--scales", str(scale), "--year", str(args.year)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    lines = [
        "# Ingest + validation, one sample year",
        "",
        "Command: `.venv/bin/python benchmarks/ingest_validation.py --scales "
        f"{' '.join(f'{s:g}' for s in args.scales)} --year {args.year}`",
        f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}",
        "",
        "| scale | rows | files | intake s | validation s | total s | rows/s | quarantined | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['scale']:g} | {r['rows']:,} | {r['files']} | {r['intake_s']} | {r['validation_s']} | "
            f"{r['total_s']} | {r['rows_per_s']:,} | {r['quarantined']} | {r['peak_rss_mb']:,} |"
        )
    lines += [
        "",
        "Peak RSS includes the Great Expectations import (imported before the clock starts: "
        f"{rows[0]['rss_before_mb']} MB at scale {rows[0]['scale']:g}).",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
