"""Company identity across years: five sample years resolved, then linked to one id per
organisation (lib/companies/identities.py), at several scales.

    .venv/bin/python benchmarks/identity.py --scales 1 10 100

Per scale, in a fresh process: the five years' members rows are made in memory (as
validation accepts them; not timed), each year is resolved on its own (timed, summed),
then the years are linked (timed: what the company_identities asset does). Scored against
the generator's truth: pairwise precision and recall over all five years, and the share
of organisations present in two consecutive years that keep their id. Peak RSS is the
whole process (the five years' rows are in memory). Results: benchmarks/results/identity.md.
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
RESULTS = HERE / "results" / "identity.md"
YEARS = [2014, 2015, 2016, 2017, 2018]


def one(scale: float) -> dict:
    from cluster_pipeline.lib import seeds
    from cluster_pipeline.lib.companies.identities import link_years
    from cluster_pipeline.lib.companies.quality import resolution_quality
    from cluster_pipeline.lib.companies.resolution import resolve_companies
    from cluster_pipeline.sample_data.organisations import build_universe
    from cluster_pipeline.sample_data.years import accepted_member_rows

    universe = build_universe(np.random.default_rng(2016), scale, YEARS)
    municipalities = seeds.municipalities()
    truth, resolved, resolve_seconds = {}, {}, 0.0
    for year in YEARS:
        rows = accepted_member_rows(universe, year, YEARS[0], scale, 2016)
        truth[year] = rows["entity"].to_numpy()
        started = time.perf_counter()
        resolved[year] = resolve_companies(rows.drop(columns=["entity"]), municipalities).memberships
        resolve_seconds += time.perf_counter() - started
        del rows
    started = time.perf_counter()
    identities = link_years(resolved)
    link_seconds = time.perf_counter() - started

    ids, entity = [], []
    for year in YEARS:
        mapping = identities.ids[identities.ids["year"] == year].set_index("local_id")["company_id"]
        ids.append(resolved[year]["company_id"].map(mapping).to_numpy())
        entity.append(truth[year])
    frame = pd.DataFrame(
        {"year": np.repeat(YEARS, [len(i) for i in ids]), "id": np.concatenate(ids), "entity": np.concatenate(entity)}
    )
    quality = resolution_quality(frame["id"], frame["entity"])
    per_entity = frame.groupby(["entity", "year"])["id"].first().unstack()
    kept = [
        float((both[a] == both[b]).mean()) for a, b in zip(YEARS, YEARS[1:]) for both in [per_entity[[a, b]].dropna()]
    ]
    return {
        "scale": scale,
        "rows": len(frame),
        "resolve_seconds": round(resolve_seconds, 1),
        "link_seconds": round(link_seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "precision": quality.pairwise_precision,
        "recall": quality.pairwise_recall,
        "lowest_kept": min(kept),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 10, 100])
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.scales[0])))
        return
    results = []
    for scale in args.scales:
        out = subprocess.run(
            [sys.executable, __file__, "--one", "--scales", str(scale)], check=True, capture_output=True, text=True
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(results[-1], flush=True)
    lines = [
        "# Company identity across five years",
        "",
        f"Command: `.venv/bin/python benchmarks/identity.py --scales {' '.join(f'{s:g}' for s in args.scales)}`, "
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, 2 cores, Python {platform.python_version()}.",
        "Five sample years; resolve = the five yearly resolutions (summed); link = company_identities over the "
        "five years. Precision and recall are pairwise over all five years' rows against the generator's truth "
        "(one entity across years); kept = the lowest share, over consecutive year pairs, of organisations "
        "present in both that keep their id.",
        "",
        "| scale | rows (5 years) | resolve s | link s | peak RSS MB | precision | recall | kept |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['scale']:g} | {r['rows']:,} | {r['resolve_seconds']} | {r['link_seconds']} | {r['peak_rss_mb']:,} | "
        f"{r['precision']:.5f} | {r['recall']:.5f} | {r['lowest_kept']:.4f} |"
        for r in results
    ]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
