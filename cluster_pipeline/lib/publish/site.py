"""The statistics site: <output>/site/, one self-contained folder that works opened from disk
and from any static web server (relative links, charts as inline SVG, nothing fetched).

    index.html                      the latest year's headline figures and indicators, every year
    <year>/index.html               the national page (headline figures, revisions marked)
    <year>/report.html              the yearly report as it is
    <year>/regions.html             the regions
    <year>/clusters.html            the cluster catalogue (sortable)
    clusters/<cluster_id>.html      a page per cluster: its figures over the years against all
                                    clusters and its peers (the same size band)
    downloads.html                  every table per year as CSV and Parquet, every statistic as
                                    JSON-stat (English, Danish) and PX, releases and revisions
    data/                           the files downloads.html lists

Every figure is read from the published tables; the site is written anew by every run.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cluster_pipeline.lib import seeds, tables
from cluster_pipeline.lib.publish import cubes, jsonstat, px
from cluster_pipeline.lib.publish.exports import CSV_FORMAT, write_table_csv
from cluster_pipeline.lib.publish.parquet_store import (
    partition_path,
    read_partition,
    read_table,
    table_path,
    years_written,
)
from cluster_pipeline.lib.vocabulary import outcomes

SITE = "site"
SOURCE = {
    "en": "Cluster statistics Denmark: the yearly surveys of the cluster organisations",
    "da": "Klyngestatistik Danmark: klyngeorganisationernes årlige indberetninger",
}
INNOVATION = "new_products"  # the outcome the strategy's innovation indicator counts
COMPANY = "company"  # the actor type the statistics count (knowledge institutions and public actors are not)


@dataclass(frozen=True)
class SiteFigures:
    years: list[int]
    statistics: dict[str, pd.DataFrame]  # each statistic, every year (a `year` column on the yearly ones)
    clusters: pd.DataFrame  # the catalogue, every year
    quarantined_rows: pd.DataFrame  # year, cluster_id, rows (row-level quarantine by the cluster the row named)
    files_set_aside: pd.DataFrame  # year, source_file, reason
    releases: pd.DataFrame | None
    revisions: pd.DataFrame | None
    clusters_by_year: dict[int, pd.DataFrame]  # catalogue and outcomes side by side, size band, shares
    services: pd.DataFrame  # year, cluster_id, band, companies (private companies by services used)


def _every_year(root: Path, table: str, years: list[int], columns: list[str] | None = None) -> pd.DataFrame:
    frames = [read_partition(root, table, year, columns).assign(year=year) for year in years]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _quarantined_rows(root: Path, years: list[int]) -> pd.DataFrame:
    quarantine = _every_year(root, "quarantine", years)
    rows = quarantine[quarantine["level"] != "file"].dropna(subset=["record"])
    named = [json.loads(r).get("cluster_id") for r in rows["record"]]
    counted = rows.assign(cluster_id=named).dropna(subset=["cluster_id"])
    return counted.groupby(["year", "cluster_id"]).size().rename("rows").reset_index()


def published_statistics(root: Path) -> dict[str, pd.DataFrame]:
    """Every statistic published as a cube, over every year (a `year` column on the yearly ones):
    what the site shows and a release compares."""
    years = years_written(root, "national_outcomes")
    statistics = {}
    for name in cubes.STATISTICS:
        if cubes.cube_spec(name).yearly:
            statistics[name] = _every_year(root, name, [y for y in years_written(root, name) if y in years])
        elif (found := read_table(root, name)) is not None:
            statistics[name] = found
    return statistics


def site_figures(root: Path) -> SiteFigures:
    root = Path(root)
    years = years_written(root, "national_outcomes")
    statistics = published_statistics(root)
    manifest = _every_year(root, "ingest_manifest", years, ["source_file", "status", "reason"])
    clusters = _every_year(root, "clusters", years)
    memberships = _every_year(root, "memberships", years, ["cluster_id", "company_id", "services_used", "actor_type"])
    return SiteFigures(
        years=years,
        statistics=statistics,
        clusters=clusters,
        quarantined_rows=_quarantined_rows(root, years),
        files_set_aside=manifest[manifest["status"] == "quarantined"],
        releases=read_table(root, "releases"),
        revisions=read_table(root, "revisions"),
        clusters_by_year={y: _cluster_year(clusters, statistics["cluster_outcomes"], y) for y in years},
        services=_services(memberships),
    )


def _cluster_year(clusters: pd.DataFrame, outcomes_: pd.DataFrame, year: int) -> pd.DataFrame:
    """Every cluster with a profile in the year: catalogue and outcomes side by side, its size band
    (the cluster_size_bands seed) and the share of its companies with each outcome."""
    catalogue = clusters[clusters["year"] == year]
    counts = outcomes_[outcomes_["year"] == year].drop(columns=["companies"])
    joined = catalogue.merge(counts, on=["cluster_id", "year"], how="left")
    joined["size_band"] = seeds.cluster_size_band_of(joined["companies"].fillna(0))
    for o in outcomes():
        joined[f"{o.flag}_share"] = joined[o.flag] / joined["companies"].where(joined["companies"] > 0)
    return joined


def _services(memberships: pd.DataFrame) -> pd.DataFrame:
    """Private companies of each cluster and year by band of services used (as service_intensity
    bands them), where the year's files report services."""
    members = memberships[memberships["actor_type"] == COMPANY].dropna(subset=["services_used"])
    members = members.assign(band=seeds.band_of_services(members["services_used"]))
    counted = members.groupby(["cluster_id", "year", "band"])["company_id"].nunique()
    return counted.rename("companies").reset_index()


# --- revisions ---------------------------------------------------------------------------


class Revised:
    """Which published figures were revised, and their earlier values (the latest revision of each)."""

    def __init__(self, revisions: pd.DataFrame | None) -> None:
        self._by_key: dict[tuple, dict] = {}
        if revisions is not None:
            for row in revisions.to_dict("records"):
                year = None if pd.isna(row["year"]) else int(row["year"])
                self._by_key[(row["table"], year, row["dimensions"], row["measure"])] = row

    def __len__(self) -> int:
        return len(self._by_key)

    def of(self, table: str, year: int | None, measure: str, **dimensions: str) -> dict | None:
        key = "; ".join(f"{k}={v}" for k, v in dimensions.items())
        return self._by_key.get((table, year, key, measure))

    def revised_figures(self) -> set[tuple]:
        return set(self._by_key)


# --- the data files ----------------------------------------------------------------------


def _labels_for(figures: SiteFigures) -> dict[str, dict[str, str]]:
    """Category labels a statistic does not carry: clusters' names, regions' names."""
    names = dict(zip(figures.clusters["cluster_id"], figures.clusters["cluster_name"])) if len(figures.clusters) else {}
    regions = {f"region:{code}": name for code, name in seeds.region_names().items()}
    return {"cluster_id": names, "group": regions}


def statistic_cubes(figures: SiteFigures, revised: Revised) -> dict[str, cubes.Cube]:
    """Every statistic as a cube, its revised cells marked."""
    built = {}
    for name, frame in figures.statistics.items():
        cube = cubes.build_cube(name, frame, _labels_for(figures))
        marks = {}
        for table, year, key, measure in revised.revised_figures():
            if table != name:
                continue
            dims = dict(part.split("=", 1) for part in key.split("; ") if part)
            if year is not None:
                dims[cubes.YEAR] = str(year)
            try:
                marks[cube.flat_index(dims, measure)] = cubes.REVISED
            except StopIteration:  # a figure no longer published: nothing to mark
                continue
        built[name] = replace(cube, status={**cube.status, **marks})
    return built


def _revision_notes(name: str, revisions: pd.DataFrame | None, language: str) -> list[str]:
    if revisions is None or revisions.empty:
        return []
    mine = revisions[revisions["table"] == name]
    if mine.empty:
        return []
    latest = mine["release"].iloc[-1]
    if language == "da":
        return [f"{len(mine)} tal er revideret siden første offentliggørelse (senest i {latest}); se revisions.csv."]
    return [f"{len(mine)} figures were revised since first published (latest in {latest}); see revisions.csv."]


def write_data(site: Path, figures: SiteFigures, built: dict[str, cubes.Cube], updated: datetime) -> list[dict]:
    """site/data/: each statistic as JSON-stat (English and Danish) and PX. Returns what downloads.html
    lists of them."""
    data = site / "data"
    data.mkdir(parents=True, exist_ok=True)
    stamp = updated.strftime("%Y-%m-%dT%H:%M:%SZ")
    listed = []
    for name, cube in built.items():
        for language, suffix in (("en", ".json"), ("da", ".da.json")):
            notes = _revision_notes(name, figures.revisions, language)
            dataset = jsonstat.dataset(cube, language, stamp, SOURCE[language], notes)
            (data / f"{name}{suffix}").write_text(json.dumps(dataset, ensure_ascii=False), encoding="utf-8")
        notes_px = {lang: _revision_notes(name, figures.revisions, lang) for lang in ("da", "en")}
        (data / f"{name}.px").write_text(px.px_file(cube, updated, SOURCE, notes_px), encoding="utf-8")
        listed.append(
            {
                "table": name,
                "title": cube.title("en"),
                "json": f"{name}.json",
                "json_da": f"{name}.da.json",
                "px": f"{name}.px",
            }
        )
    return listed


SOURCES = "_sources.json"  # each download's Parquet hash and rows: what the next site can reuse


def write_tables(root: Path, site: Path, years: list[int], previous: Path | None = None) -> list[dict]:
    """Every published table as CSV and Parquet: one pair per year, or one for a table over all years.
    A CSV whose Parquet has the same bytes as in the previous site is copied from it, not written
    again (most years of a run are re-published unchanged)."""
    data = site / "data"
    known = {}
    if previous is not None and (previous / "data" / SOURCES).exists():
        known = json.loads((previous / "data" / SOURCES).read_text(encoding="utf-8"))
    found, sources = [], {}
    for name, spec in tables.published_tables().items():
        parts: list[tuple[Path, str, int | None]] = [(table_path(root, name), name, None)]
        if spec.scope == "year":
            parts = [(partition_path(root, name, y), str(y), y) for y in years]
        for source, stem, year in parts:
            if not source.exists():
                continue
            relative = f"{name}/{stem}"
            sources[relative] = _download(source, data, relative, known.get(relative), previous)
            rows = sources[relative]["rows"]
            found.append(
                {"table": name, "year": year, "rows": rows, "csv": f"{relative}.csv", "parquet": f"{relative}.parquet"}
            )
    (data / SOURCES).write_text(json.dumps(sources), encoding="utf-8")
    return found


def _download(source: Path, data: Path, relative: str, known: dict | None, previous: Path | None) -> dict:
    target = data / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = source.read_bytes()  # read once: hashed, copied and, when new, turned into CSV
    digest = hashlib.sha256(raw).hexdigest()
    target.with_suffix(".parquet").write_bytes(raw)
    earlier = previous / "data" / f"{relative}.csv" if previous is not None else None
    # reused when the table's bytes and the way CSV is written are both as they were
    if (
        known
        and known["sha256"] == digest
        and known.get("csv_format") == CSV_FORMAT
        and earlier is not None
        and earlier.exists()
    ):
        shutil.copyfile(earlier, target.with_suffix(".csv"))
        return known
    table = pq.read_table(pa.BufferReader(raw))
    write_table_csv(table, target.with_suffix(".csv"))
    return {"sha256": digest, "rows": table.num_rows, "csv_format": CSV_FORMAT}
