"""Entity resolution: our rule-based resolver against Splink 5 (DuckDB) on the same data.

    .venv/bin/pip install -e ".[dev,bench]"
    .venv/bin/python benchmarks/entity_resolution.py --scales 1 10 100 --splink-scales 1 10

For each scale, one sample year's members rows (as validation accepts them: CVRs cleaned,
failing CVRs set aside) are written once to benchmarks/.data/, then each resolver runs in
a fresh process (time and peak RSS are per process; loading the data is not timed) and is
scored against the generator's truth: pairwise precision/recall/F1 and cluster-level F1.
Splink gets the same normalised name, postal code, address and legal form, blocking on
postal code + the name's first two letters or the CVR, and the CVR rule as a fixed prior
(same CVR: m=0.99, u=1e-7; two different CVRs: m=1e-6), so it cannot learn that different
CVRs match. Results: benchmarks/results/entity_resolution.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
DATA = HERE / ".data"
RESULTS = HERE / "results" / "entity_resolution.md"
YEAR = 2016


def data_path(scale: float) -> Path:
    return DATA / f"members_scale{scale:g}.parquet"


def prepare(scale: float) -> Path:
    """One sample year's members rows at this scale, as accepted by validation."""
    from cluster_pipeline.sample_data.organisations import build_universe
    from cluster_pipeline.sample_data.years import accepted_member_rows

    path = data_path(scale)
    if path.exists():
        return path
    universe = build_universe(np.random.default_rng(2016), scale, [YEAR])
    DATA.mkdir(exist_ok=True)
    accepted_member_rows(universe, YEAR, YEAR, scale, 2016).to_parquet(path)
    return path


def peak_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def run_ours(scale: float) -> dict:
    from cluster_pipeline.lib import seeds
    from cluster_pipeline.lib.companies.quality import resolution_quality
    from cluster_pipeline.lib.companies.resolution import resolve_companies

    rows = pd.read_parquet(data_path(scale))
    municipalities = seeds.municipalities()
    before = peak_mb()
    started = time.perf_counter()
    result = resolve_companies(rows.drop(columns=["entity"]), municipalities)
    seconds = time.perf_counter() - started
    quality = resolution_quality(result.memberships["company_id"], rows["entity"])
    return {
        "resolver": "cluster_pipeline",
        "scale": scale,
        "rows": len(rows),
        "seconds": round(seconds, 2),
        "peak_rss_mb": peak_mb(),
        "rss_before_mb": before,
        **quality.__dict__,
    }


def splink_settings():
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    cvr = cl.CustomComparison(
        output_column_name="cvr",
        comparison_levels=[
            {"sql_condition": "cvr_l IS NULL OR cvr_r IS NULL", "label_for_charts": "missing", "is_null_level": True},
            {
                "sql_condition": "cvr_l = cvr_r",
                "label_for_charts": "same CVR",
                "m_probability": 0.99,
                "u_probability": 1e-7,
                "fix_m_probability": True,
                "fix_u_probability": True,
            },
            {
                "sql_condition": "ELSE",
                "label_for_charts": "different CVRs",
                "m_probability": 1e-6,
                "u_probability": 0.999999,
                "fix_m_probability": True,
                "fix_u_probability": True,
            },
        ],
    )
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cvr,
            cl.LevenshteinAtThresholds("name_key", [1, 3]),
            cl.ExactMatch("address_key"),
            cl.ExactMatch("legal_form"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("postal_code", "substr(name_key, 1, 2)"),
            block_on("cvr"),
        ],
        retain_intermediate_calculation_columns=False,
    )


def run_splink(scale: float) -> dict:
    from splink import DuckDBAPI, Linker, block_on

    from cluster_pipeline.lib.companies.quality import resolution_quality
    from cluster_pipeline.lib.companies.resolution import normalise_address, normalise_name, split_legal_form

    rows = pd.read_parquet(data_path(scale))
    before = peak_mb()
    started = time.perf_counter()
    frame = pd.DataFrame(
        {
            "unique_id": np.arange(len(rows)),
            "cvr": rows["cvr"],
            "name_key": normalise_name(rows["name"]),
            "postal_code": rows["postal_code"],
            "address_key": normalise_address(rows["address"]),
            "legal_form": split_legal_form(rows["name"])[1].replace("", None),
        }
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(frame), splink_settings(), log_level=None)
    linker.training.estimate_probability_two_random_records_match([block_on("cvr")], recall=0.85)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("postal_code", "substr(name_key, 1, 2)")
    )
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.9).as_pandas_dataframe()
    seconds = time.perf_counter() - started
    label = clusters.set_index("unique_id")["cluster_id"].reindex(frame["unique_id"]).to_numpy()
    quality = resolution_quality(pd.Series(label), rows["entity"])
    return {
        "resolver": "splink 5 (duckdb)",
        "scale": scale,
        "rows": len(rows),
        "seconds": round(seconds, 2),
        "peak_rss_mb": peak_mb(),
        "rss_before_mb": before,
        **quality.__dict__,
    }


def in_subprocess(resolver: str, scale: float) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--one", resolver, "--scales", str(scale)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 10, 100])
    parser.add_argument("--splink-scales", type=float, nargs="*", default=[1, 10])
    parser.add_argument("--one", choices=["ours", "splink"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps((run_ours if args.one == "ours" else run_splink)(args.scales[0])))
        return
    results = []
    for scale in sorted(set(args.scales) | set(args.splink_scales)):
        prepare(scale)
        jobs = (["ours"] if scale in args.scales else []) + (["splink"] if scale in args.splink_scales else [])
        for job in jobs:
            results.append(in_subprocess(job, scale))
            print(json.dumps(results[-1]), flush=True)
    lines = [
        "# Entity resolution: cluster_pipeline vs Splink 5",
        "",
        "Command: `.venv/bin/python benchmarks/entity_resolution.py --scales "
        f"{' '.join(f'{s:g}' for s in args.scales)} "
        f"--splink-scales {' '.join(f'{s:g}' for s in args.splink_scales)}`",
        f"Machine: {platform.machine()}, 2 cores, Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}. "
        "One sample year (2016) of members rows; seconds and peak RSS of a fresh process (data loading not timed).",
        "",
        "| resolver | scale | rows | seconds | peak RSS MB | pairwise precision | pairwise recall | "
        "pairwise F1 | cluster F1 | entities (truth) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['resolver']} | {r['scale']:g} | {r['rows']:,} | {r['seconds']} | {r['peak_rss_mb']:,} | "
            f"{r['pairwise_precision']:.5f} | {r['pairwise_recall']:.5f} | {r['pairwise_f1']:.5f} | "
            f"{r['cluster_f1']:.5f} | {r['predicted_entities']:,} ({r['true_entities']:,}) |"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
