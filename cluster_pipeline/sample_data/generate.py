"""A deterministic synthetic national data set, written as clusters really send it.

Calibrated to the source document: 47 clusters (2016: 8 gold, 3 silver, 36 bronze),
about 12,000 distinct companies a year, many in 2-4 clusters, knowledge institutions
and public actors in every cluster, outcome counts near the 2014 status and the 2015
figures. Every dialect of the template appears, with realistic noise, planted broken
rows and files, and a truth file per year (<landing>/_truth/) that tests compare with.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from cluster_pipeline.lib.survey.template import load_template
from cluster_pipeline.lib.vocabulary import FLAGS  # noqa: F401  (re-exported for the tests)
from cluster_pipeline.sample_data.files import (
    BAD_MEMBER_ROWS,
    BAD_MEMBER_ROWS_V2,
    DIALECTS,
    MEMBER_COLUMNS,
    PROFILE_COLUMNS,
    Dialect,
    Sheet,
    bad_xlsx_with_entities,
    member_columns,
    table_values,
    write_csv,
    write_xlsx,
    zip_bomb,
)
from cluster_pipeline.sample_data.organisations import N_CLUSTERS, Universe, build_universe
from cluster_pipeline.sample_data.register import PLANTED, Effects, generate_register, write_register_truth
from cluster_pipeline.sample_data.truth import load_truth_rows, year_truth  # noqa: F401  (load_truth_rows: the tests' entry)
from cluster_pipeline.sample_data.years import noisy_member_rows, services_used, year_memberships, year_profiles

PLAIN = Dialect("csv", False, ",", "utf-8")
# planted broken profile rows, for clusters that have no members (so nothing else depends on them)
NEW_CLUSTERS = [
    ("DK-CL-901", "platinum", 2, 2.0, "1081", ["label.allowed_values"]),
    ("DK-CL-902", "gold", None, 3.0, "1082", ["label_valid_until.required_when"]),
    ("DK-CL-903", "bronze", 2, "-1", "Fyn", ["region_code.allowed_values", "staff_fte.range"]),
    ("DK-CL-904", "silver", "31.02.", 1.5, "1083", ["label_valid_until.date"]),
]
BAD_FILES = [
    {"source_file": "tom_fil.csv", "reason": "empty file"},
    {"source_file": "ødelagt_arbejdsbog.xlsx", "reason": "not a valid XLSX"},
    {"source_file": "entity_attack.xlsx", "reason": "entity"},
    {"source_file": "zip_bomb.xlsx", "reason": "zip bomb"},
    {"source_file": "members_uden_postnr.csv", "reason": "missing required column(s): postal_code"},
    {"source_file": "kun_overskrift.csv", "reason": "no data rows"},
]
# In the transition year of a template version, a few secretariats still use the old layout
# (accepted with a warning); the year after, one does, and its file is set aside.
OLD_LAYOUT_CLUSTERS = (10, 15)
OLD_LAYOUT_FILE = {
    "source_file": "gammel_skabelon_medlemmer.csv",
    "reason": "follows template version 1",
    "missing": ["member_type", "services_used"],
}


def layouts(year: int) -> tuple[int, dict[int, int]]:
    """The template version of the year (from the contracts) and the clusters that write an older one."""
    template = load_template()
    current = template.current("members", year)
    older = template.accepted("members", year)[1:]
    return current.template_version, {c: older[0].template_version for c in OLD_LAYOUT_CLUSTERS} if older else {}


def bad_files(year: int) -> list[dict]:
    version, _ = layouts(year)
    return BAD_FILES + ([OLD_LAYOUT_FILE] if version > 1 and not layouts(year)[1] else [])


def member_sheets(rng, universe: Universe, memberships: pd.DataFrame, year: int) -> dict[int, Sheet]:
    """Each cluster's members rows as its secretariat writes them, in a random order."""
    rows = noisy_member_rows(universe, memberships, year, rng)
    rows = rows.iloc[rng.permutation(len(rows))]
    version, old_layouts = layouts(year)
    sheets = {}
    for c, group in rows.groupby("cluster_index"):
        columns = member_columns(old_layouts.get(c, version))
        sheets[c] = Sheet("members", group[columns].to_dict("records"), group["entity"].tolist(), columns=columns)
    # a company listed twice in one cluster's file: both rows accepted, counted once
    twice = sheets[3]
    twice.rows.append(dict(twice.rows[0]))
    twice.truth.append(twice.truth[0])
    return sheets


def plant_bad_member_rows(rng, sheets: dict[int, Sheet], version: int) -> dict[int, set[int]]:
    """Broken rows, each a corrupted copy of a good row, at a random place; returns, per cluster,
    the rows given an extra cell (an unquoted delimiter)."""
    extra_cells: dict[int, set[int]] = {}
    bad_rows = BAD_MEMBER_ROWS if version == 1 else BAD_MEMBER_ROWS_V2
    for mutate, rules in [*bad_rows, (None, ["row.shape"])]:
        c = int(rng.integers(N_CLUSTERS))
        # a slip in a column of the year's version goes to a file in that version's layout
        while not all(r.split(".")[0] in sheets[c].columns or r.startswith("row.") for r in rules):
            c = (c + 1) % N_CLUSTERS
        sheet = sheets[c]
        row = dict(sheet.rows[int(rng.integers(len(sheet.rows)))])
        position = int(rng.integers(len(sheet.rows) + 1))
        # later insertions shift earlier planted rows down by one
        sheet.expected = {(p + 1 if p >= position else p): r for p, r in sheet.expected.items()}
        extra_cells[c] = {(p + 1 if p >= position else p) for p in extra_cells.get(c, set())}
        if mutate is None:
            extra_cells[c].add(position)
        else:
            mutate(row)
        sheet.rows.insert(position, row)
        sheet.truth.insert(position, None)
        sheet.expected[position] = rules
    return extra_cells


def write_cluster_files(
    folder: Path,
    universe: Universe,
    profiles: pd.DataFrame,
    sheets: dict[int, Sheet],
    extra_cells: dict[int, set[int]],
    year: int,
) -> tuple[list[dict], list[dict]]:
    """Every cluster's members and profile in its dialect; the truth of each good row and each planted bad one."""
    truth_rows, bad_rows = [], []
    for c, cluster in universe.clusters.iterrows():
        dialect = DIALECTS[c % len(DIALECTS)]
        profile = Sheet("profile", [profiles.iloc[c].to_dict()], [None])
        members = sheets[c]
        members_values = table_values(members, members.columns, dialect, extra_cells.get(c, set()))
        profile_values = table_values(profile, PROFILE_COLUMNS, dialect)
        if dialect.container == "xlsx":
            names = ("Medlemmer", "Profil") if dialect.danish else ("members", "profile")
            member_file, sheet_name = f"{cluster['slug']}_{year}.xlsx", names[0]
            instructions = "Vejledning" if dialect.danish else "Instructions"
            write_xlsx(
                folder / member_file,
                {instructions: [["Udfyld arkene"]], names[0]: members_values, names[1]: profile_values},
            )
        else:
            word = ("medlemmer", "profil") if dialect.danish else ("members", "profile")
            member_file, sheet_name = f"{cluster['slug']}_{word[0]}_{year}.csv", None
            write_csv(folder / member_file, members_values, dialect)
            write_csv(folder / f"{cluster['slug']}_{word[1]}_{year}.csv", profile_values, dialect)
        for i, entity in enumerate(members.truth):
            source = {"source_file": member_file, "source_sheet": sheet_name, "source_row": i + 2}
            if entity is None:
                bad_rows.append({**source, "rules": sorted(members.expected[i])})
            else:
                row = members.rows[i]
                truth_rows.append(
                    {
                        **source,
                        "entity": entity,
                        "member_type": row.get("member_type"),
                        "services_used": row.get("services_used"),
                        "template_version": 2 if "services_used" in members.columns else 1,
                    }
                )
    return truth_rows, bad_rows


def write_draft(folder: Path, universe: Universe, sheets: dict[int, Sheet], year: int) -> str:
    """A second, earlier members file from one cluster: superseded by the final one."""
    early = universe.clusters.iloc[2]
    early_sheet = Sheet("members", sheets[2].rows[: max(1, len(sheets[2].rows) // 2)])
    superseded = f"{early['slug']}_members_{year}_udkast.csv"
    dialect = DIALECTS[2 % len(DIALECTS)]
    write_csv(folder / superseded, table_values(early_sheet, sheets[2].columns, dialect), dialect)
    return superseded


def write_new_cluster_profiles(folder: Path, year: int) -> list[dict]:
    """The planted broken profile rows (NEW_CLUSTERS); returns their truth."""
    new_clusters, bad_rows = Sheet("profile"), []
    for cid, label, until, staff, region, rules in NEW_CLUSTERS:
        valid_until = date(year + until, 1, 1) if isinstance(until, int) else until and until + str(year + 1)
        new_clusters.rows.append(
            {
                "cluster_id": cid,
                "reporting_year": year,
                "cluster_name": f"Ny klynge {cid[-3:]}",
                "region_code": region,
                "label": label,
                "label_valid_until": valid_until,
                "staff_fte": staff,
                "founded_year": year,
            }
        )
        bad_rows.append(
            {
                "source_file": "nye_klynger_profil.csv",
                "source_sheet": None,
                "source_row": len(new_clusters.rows) + 1,
                "rules": rules,
            }
        )
    write_csv(folder / "nye_klynger_profil.csv", table_values(new_clusters, PROFILE_COLUMNS, PLAIN), PLAIN)
    return bad_rows


def write_broken_files(rng, folder: Path, sheets: dict[int, Sheet], year: int) -> None:
    """Broken files (bad_files) and a file that is not a submission."""
    (folder / "tom_fil.csv").write_bytes(b"")
    (folder / "ødelagt_arbejdsbog.xlsx").write_bytes(rng.bytes(4096))
    bad_xlsx_with_entities(folder / "entity_attack.xlsx")
    zip_bomb(folder / "zip_bomb.xlsx")
    columns = member_columns(layouts(year)[0])
    no_postal = [c for c in columns if c != "postal_code"]
    write_csv(
        folder / "members_uden_postnr.csv", table_values(Sheet("members", sheets[5].rows[:20]), no_postal, PLAIN), PLAIN
    )
    write_csv(folder / "kun_overskrift.csv", table_values(Sheet("members"), columns, PLAIN), PLAIN)
    if OLD_LAYOUT_FILE in bad_files(year):  # a secretariat still on the old template after its transition year
        old = [{**row, "committed_member": row.get("member_type") == "committed"} for row in sheets[7].rows[:20]]
        write_csv(
            folder / OLD_LAYOUT_FILE["source_file"], table_values(Sheet("members", old), MEMBER_COLUMNS, PLAIN), PLAIN
        )
    (folder / "notes.txt").write_text("Husk at sende profilen inden fristen.\n", encoding="utf-8")


def stamp_times(folder: Path, year: int, superseded: str) -> None:
    """Modification times after the reporting year, the draft a day before the rest."""
    mtime = datetime(year + 1, 2, 1).timestamp()
    for i, name in enumerate(sorted(p.name for p in folder.iterdir())):
        stamp = mtime - 86400 if name == superseded else mtime + 60 * i
        os.utime(folder / name, (stamp, stamp))


def generate_year(universe: Universe, year: int, first_year: int, scale: float, landing: Path, seed: int) -> dict:
    rng = np.random.default_rng([seed, year])
    folder = landing / str(year)
    folder.mkdir(parents=True, exist_ok=True)
    profiles = year_profiles(rng, universe, year)
    memberships = year_memberships(rng, universe, year, first_year, scale)
    # the version 2 columns from their own stream, so the other draws stay those of every year
    memberships = services_used(np.random.default_rng([seed, year, 2]), memberships)
    sheets = member_sheets(rng, universe, memberships, year)
    extra_cells = plant_bad_member_rows(rng, sheets, layouts(year)[0])
    truth_rows, bad_rows = write_cluster_files(folder, universe, profiles, sheets, extra_cells, year)
    superseded = write_draft(folder, universe, sheets, year)
    bad_rows += write_new_cluster_profiles(folder, year)
    write_broken_files(rng, folder, sheets, year)
    stamp_times(folder, year, superseded)
    truth = year_truth(
        year,
        universe,
        profiles,
        memberships,
        truth_rows,
        bad_rows,
        bad_files(year),
        ignored=["notes.txt"],
        superseded=[superseded],
        old_layout_clusters=sorted(layouts(year)[1]),
    )
    return truth, pd.DataFrame(truth_rows)


def services_per_company(rows: pd.DataFrame) -> pd.Series:
    """entity -> the services it used that year, as the pipeline counts them: one figure per cluster
    (its members file; the highest when listed twice), summed; unknown when a row has none."""
    companies = rows[rows["entity"].str.startswith("C")]
    used = pd.to_numeric(companies["services_used"], errors="coerce")
    per_cluster = used.groupby([companies["entity"], companies["source_file"]]).max()
    known = per_cluster.notna().groupby(level=0).all()
    return per_cluster.groupby(level=0).sum().where(known)


def generate(
    landing: Path,
    years: list[int],
    scale: float = 1.0,
    seed: int = 2016,
    register: Path | None = None,
    effects: Effects = PLANTED,
) -> dict[int, dict]:
    """Write the sample landing folders for the years and their truth; returns the truth. With a
    register folder, also the firm register extract with the planted effects (truth in _truth/register.json)."""
    landing = Path(landing)
    universe = build_universe(np.random.default_rng(seed), scale, years)
    truth_dir = landing / "_truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    truths, participation, services = {}, {}, {}
    for year in years:
        if (landing / str(year)).exists():
            shutil.rmtree(landing / str(year))
        truth, rows = generate_year(universe, year, min(years), scale, landing, seed)
        (truth_dir / f"{year}.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False), encoding="utf-8")
        rows.to_csv(truth_dir / f"{year}_rows.csv", index=False)
        truths[year] = truth
        participation[year] = set(rows["entity"][rows["entity"].str.startswith("C")])
        services[year] = services_per_company(rows)
    if register is not None:
        truth = generate_register(register, universe, participation, years, scale, seed, effects, services)
        write_register_truth(landing, truth)
    return truths
