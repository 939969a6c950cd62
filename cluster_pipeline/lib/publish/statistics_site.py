"""The statistics site written, and the release it shows: what the publish group's `releases`
and `statistics_site` assets call (lib/publish/site.py reads the figures, site_pages.py
shapes the pages, releases.py compares them)."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import pandas as pd

from cluster_pipeline.lib import tables
from cluster_pipeline.lib.html_pages import template
from cluster_pipeline.lib.publish import cubes, releases, site, site_pages
from cluster_pipeline.lib.publish.exports import write_table_csv
from cluster_pipeline.lib.publish.parquet_store import arrow_table, read_partition, read_table, years_written


def published_figures(root: Path) -> pd.DataFrame:
    """Every published figure of the statistics, as released (rounded to its decimals)."""
    built = [cubes.build_cube(name, frame) for name, frame in site.published_statistics(Path(root)).items()]
    return pd.concat([cubes.figures(c) for c in built], ignore_index=True)


def _digest(frame: pd.DataFrame) -> str:
    return format(int(pd.util.hash_pandas_object(frame, index=False).sum()) & (2**64 - 1), "016x")


def release_inputs(root: Path) -> pd.DataFrame:
    """What the figures were computed from, as releases.causes compares it: each year's files
    (hash, status, rows accepted and quarantined), the digest of its rows' company ids, and the
    register's files (under releases.IMPACT_INPUTS)."""
    frames = []
    columns = ["source_file", "sha256", "status", "rows_accepted", "rows_quarantined"]
    for year in years_written(root, "ingest_manifest"):
        frames.append(read_partition(root, "ingest_manifest", year, columns).assign(year=year))
        ids = read_partition(root, "memberships", year, ["source_file", "source_row", "company_id"])
        digest = f"{_digest(ids[['source_file', 'source_row']])}:{_digest(ids)}"  # the rows, and their ids
        frames.append(pd.DataFrame([{"year": year, "source_file": releases.IDENTITIES, "sha256": digest}]))
    if (register := read_table(root, "register_manifest")) is not None:
        frames.append(
            register[["source_file", "sha256", "status", "rows_accepted", "rows_quarantined"]].assign(
                year=releases.IMPACT_INPUTS
            )
        )
    found = pd.concat(frames, ignore_index=True)
    return found.fillna({"rows_accepted": 0, "rows_quarantined": 0, "status": ""})[["year", *columns]]


def release_line(release_frame: pd.DataFrame | None) -> str:
    if release_frame is None or release_frame.empty:
        return "No release recorded yet"
    last = release_frame.iloc[-1]
    return f"Release {last['release_id']} of {pd.Timestamp(last['released_at']):%d %B %Y, %H:%M} UTC"


def _render(path: Path, name: str, **values) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(template(f"site/{name}").render(**values), encoding="utf-8")


def _releases_shown(figures: site.SiteFigures) -> list[dict]:
    if figures.releases is None:
        return []
    revised = figures.revisions["release"].value_counts() if figures.revisions is not None else pd.Series(dtype=int)
    return [
        {
            "release_id": r["release_id"],
            "released_at": f"{pd.Timestamp(r['released_at']):%Y-%m-%d %H:%M} UTC",
            "years": ", ".join(str(y) for y in r["years"]) or "all years (impact)",
            "figures_changed": r["figures_changed"],
            "revised": int(revised.get(r["release_id"], 0)),
        }
        for _, r in figures.releases.iloc[::-1].iterrows()
    ]


def write_site(root: Path, now: datetime) -> dict:
    """<root>/site/ written anew in a staging folder and swapped into place; returns what it holds.
    Its files say they were updated when the latest release was made (now, before any release)."""
    root = Path(root)
    figures = site.site_figures(root)
    made = figures.releases
    updated = now if made is None or made.empty else pd.Timestamp(made["released_at"].iloc[-1]).to_pydatetime()
    revised = site.Revised(figures.revisions)
    staging = root / "_staging" / "site"
    shutil.rmtree(staging, ignore_errors=True)
    built = site.statistic_cubes(figures, revised)
    statistics = site.write_data(staging, figures, built, updated)
    downloads = site.write_tables(root, staging, figures.years, previous=root / site.SITE)
    # always there, so downloads.html links to both (empty before a release)
    for name, frame in (("releases", figures.releases), ("revisions", figures.revisions)):
        schema = tables.schema(name)
        written = schema.empty_table() if frame is None else arrow_table(frame, schema)
        write_table_csv(written, staging / "data" / f"{name}.csv")
    reports = [y for y in figures.years if (root / "reports" / f"{y}.html").exists()]
    common = {"years": figures.years, "release_line": release_line(figures.releases)}
    latest = figures.years[-1]
    _render(
        staging / "index.html",
        "index.html.j2",
        base="",
        page=site_pages.national_page(figures, latest, revised),
        reports=reports,
        releases=_releases_shown(figures),
        **common,
    )
    for year in figures.years:
        folder = staging / str(year)
        page = site_pages.national_page(figures, year, revised)
        _render(folder / "index.html", "year.html.j2", base="../", page=page, has_report=year in reports, **common)
        _render(
            folder / "regions.html",
            "regions.html.j2",
            base="../",
            page=site_pages.regions_page(figures, year, revised),
            **common,
        )
        _render(
            folder / "clusters.html",
            "catalogue.html.j2",
            base="../",
            page=site_pages.catalogue_page(figures, year),
            **common,
        )
        if year in reports:
            shutil.copyfile(root / "reports" / f"{year}.html", folder / "report.html")
    clusters = site_pages.cluster_ids(figures)
    profiles = []
    for cluster_id in clusters:
        page = site_pages.cluster_page(figures, cluster_id, revised)
        _render(staging / "clusters" / f"{cluster_id}.html", "cluster.html.j2", base="../", page=page, **common)
        latest = page["history"][-1]
        profiles.append(
            {
                "cluster_id": cluster_id,
                "name": page["name"],
                "year": latest["year"],
                "companies": latest["companies"]["value"],
            }
            | {"rank": f"{latest['rank']} of {latest['of']}", "size_band": page["size_band"]}
        )
    _render(staging / "downloads.html", "downloads.html.j2", base="", statistics=statistics, tables=downloads, **common)
    target = root / site.SITE
    old = root / "_staging" / "site-old"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)  # the old site moves aside only once the new one is complete
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)
    return {
        "path": target,
        "pages": len(list(target.rglob("*.html"))),
        "profiles": pd.DataFrame(profiles),  # one row per cluster page, for the UI's preview
        "years": figures.years,
    }
