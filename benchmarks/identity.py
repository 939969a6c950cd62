"""Company identity across years: five sample years resolved, then linked to one id per
organisation (lib/companies/identities.py), at several scales.

    .venv/bin/python benchmarks/identity.py --scales 1 10 100

Per scale, two fresh processes, as the pipeline's two steps run:
- resolve: the five years' members rows are made in memory (as validation accepts them; not
  timed), each year is resolved on its own (timed, summed) and written as the
  resolved_memberships step writes it (Parquet), with the generator's truth beside it;
- link: what the company_identities asset does, timed: read each year's linked columns,
  keep its distinct spellings (year_evidence), hand it to the linking, link the years.
Scored against the generator's truth after the timing: pairwise precision and recall over all
five years' rows, and the share of organisations present in two consecutive years that keep
their id. Peak RSS is each process's own (the link's is taken before the scoring reads the
rows back). Results: benchmarks/results/identity.md.
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

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "identity.md"
YEARS = [2014, 2015, 2016, 2017, 2018]


def peak_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def resolve_years(scale: float, folder: Path) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from cluster_pipeline.lib import seeds
    from cluster_pipeline.lib.companies.resolution import resolve_companies
    from cluster_pipeline.sample_data.organisations import build_universe
    from cluster_pipeline.sample_data.years import accepted_member_rows

    universe = build_universe(np.random.default_rng(2016), scale, YEARS)
    municipalities = seeds.municipalities()
    seconds, rows_total = 0.0, 0
    for year in YEARS:
        rows = accepted_member_rows(universe, year, YEARS[0], scale, 2016)
        started = time.perf_counter()
        memberships = resolve_companies(rows.drop(columns=["entity"]), municipalities).memberships
        seconds += time.perf_counter() - started
        pq.write_table(pa.Table.from_pandas(memberships, preserve_index=False), folder / f"{year}.parquet")
        pd.DataFrame({"entity": rows["entity"].to_numpy()}).to_parquet(folder / f"{year}.truth.parquet")
        rows_total += len(rows)
        del rows, memberships
    return {"rows": rows_total, "resolve_seconds": round(seconds, 1), "resolve_peak_mb": peak_mb()}


def link_years_of(folder: Path) -> dict:
    import pyarrow.parquet as pq

    from cluster_pipeline.lib.companies.identities import LINKED_COLUMNS, link_years, year_evidence
    from cluster_pipeline.lib.companies.quality import resolution_quality

    started = time.perf_counter()
    # as the company_identities asset does: each year handed over as it is read
    evidence = (
        (year, year_evidence(pq.read_table(folder / f"{year}.parquet", columns=LINKED_COLUMNS).to_pandas()))
        for year in YEARS
    )
    identities = link_years(evidence)
    link_seconds = time.perf_counter() - started
    link_peak = peak_mb()

    ids, entity = [], []
    for year in YEARS:
        mapping = identities.ids[identities.ids["year"] == year].set_index("local_id")["company_id"]
        local = pq.read_table(folder / f"{year}.parquet", columns=["company_id"]).column(0).to_pandas()
        ids.append(local.map(mapping).to_numpy())
        entity.append(pd.read_parquet(folder / f"{year}.truth.parquet")["entity"].to_numpy())
    frame = pd.DataFrame(
        {"year": np.repeat(YEARS, [len(i) for i in ids]), "id": np.concatenate(ids), "entity": np.concatenate(entity)}
    )
    quality = resolution_quality(frame["id"], frame["entity"])
    per_entity = frame.groupby(["entity", "year"])["id"].first().unstack()
    kept = [
        float((both[a] == both[b]).mean()) for a, b in zip(YEARS, YEARS[1:]) for both in [per_entity[[a, b]].dropna()]
    ]
    return {
        "link_seconds": round(link_seconds, 1),
        "link_peak_mb": link_peak,
        "precision": quality.pairwise_precision,
        "recall": quality.pairwise_recall,
        "lowest_kept": min(kept),
    }


def step(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 10, 100])
    parser.add_argument("--resolve", help=argparse.SUPPRESS)  # folder: the resolve step, in its own process
    parser.add_argument("--link", help=argparse.SUPPRESS)  # folder: the link step, in its own process
    args = parser.parse_args()
    if args.resolve:
        print(json.dumps(resolve_years(args.scales[0], Path(args.resolve))))
        return
    if args.link:
        print(json.dumps(link_years_of(Path(args.link))))
        return
    results = []
    for scale in args.scales:
        with tempfile.TemporaryDirectory() as folder:
            result = {"scale": scale, **step("--resolve", folder, "--scales", str(scale)), **step("--link", folder)}
        results.append(result)
        print(result, flush=True)
    lines = [
        "# Company identity across five years",
        "",
        f"Command: `.venv/bin/python benchmarks/identity.py --scales {' '.join(f'{s:g}' for s in args.scales)}`, "
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, 2 cores, Python {platform.python_version()}.",
        "Five sample years; resolve = the five yearly resolutions (summed), in one process; link = what the "
        "company_identities asset does over the five years (read each year's linked columns from Parquet, keep "
        "its distinct spellings, link), in another. Peak RSS is each process's own. Precision and recall are "
        "pairwise over all five years' rows against the generator's truth (one entity across years); kept = the "
        "lowest share, over consecutive year pairs, of organisations present in both that keep their id.",
        "",
        "| scale | rows (5 years) | resolve s | resolve peak MB | link s | link peak MB | precision | recall | kept |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['scale']:g} | {r['rows']:,} | {r['resolve_seconds']} | {r['resolve_peak_mb']:,} | {r['link_seconds']} | "
        f"{r['link_peak_mb']:,} | "
        f"{r['precision']:.5f} | {r['recall']:.5f} | {r['lowest_kept']:.4f} |"
        for r in results
    ]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
