"""A deterministic synthetic national data set, written as clusters really send it.

Calibrated to the source document: 47 clusters (2016: 8 gold, 3 silver, 36 bronze),
about 12,000 distinct companies a year, many in 2-4 clusters, knowledge institutions
and public actors in every cluster, outcome counts near the 2014 status and the 2015
figures. Every dialect of the template appears, with realistic noise, planted broken
rows and files, and a truth file per year (<landing>/_truth/) that tests compare with.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.tables import FLAGS

MEMBER_COLUMNS = ["cluster_id", "reporting_year", "cvr", "name", "address", "postal_code", "city",
                  "municipality_code", "actor_type", "employees", "committed_member", *FLAGS]
PROFILE_COLUMNS = ["cluster_id", "reporting_year", "cluster_name", "region_code", "label",
                   "label_valid_until", "staff_fte", "founded_year"]
DANISH_HEADERS = {
    "cluster_id": "klynge_id", "reporting_year": "år", "cvr": "cvr_nr", "name": "navn", "address": "adresse",
    "postal_code": "postnr", "city": "by", "municipality_code": "kommunekode", "actor_type": "aktørtype",
    "employees": "ansatte", "committed_member": "forpligtet_medlem", "new_ideas": "nye_ideer",
    "new_competences": "nye_kompetencer", "new_products": "nye_produkter", "partnership_project": "samarbejdsprojekt",
    "international_activity": "international_aktivitet", "cluster_name": "klyngenavn", "region_code": "regionskode",
    "label": "mærke", "label_valid_until": "mærke_gyldig_til", "staff_fte": "årsværk", "founded_year": "stiftet",
}
DANISH_VALUES = {"company": "virksomhed", "knowledge_institution": "videninstitution", "public_actor": "offentlig",
                 "gold": "guld", "silver": "sølv", "bronze": "bronze", "in_process": "i_proces", "none": "ingen"}
REGION_NAMES = {"1081": "Nordjylland", "1082": "Midtjylland", "1083": "Syddanmark", "1084": "Hovedstaden", "1085": "Sjælland"}

# National distinct companies with each flag, aimed at per year (seed: 2014 status, 2015 figures).
FLAG_TARGETS = {
    "new_ideas": [2600, 2700, 2800, 2900, 3000],
    "new_competences": [3000, 3100, 3200, 3300, 3400],
    "new_products": [1600, 1200, 1650, 1850, 2050],
    "partnership_project": [1800, 1900, 2100, 2300, 2450],
    "international_activity": [900, 1000, 1150, 1300, 1450],
}
# (gold, silver, bronze, in_process) per year; the rest of the 47 report none.
LABEL_MIX = {2014: (5, 2, 35, 5), 2015: (6, 3, 36, 2), 2016: (8, 3, 36, 0), 2017: (9, 4, 34, 0), 2018: (10, 5, 32, 0)}
N_CLUSTERS = 47
COMPANIES_PER_YEAR = 12_000
CLUSTERS_PER_COMPANY = ([1, 2, 3, 4], [0.70, 0.20, 0.07, 0.03])

THEMES = ["Wind", "Food", "Water", "Robot", "Life Science", "Maritime", "Energy", "Lifestyle", "Design", "Sound",
          "Health", "Game", "Fintech", "Logistics", "Building", "Cleantech", "Agro", "Packaging", "Materials",
          "Welfare Tech", "Tourism", "Textile", "Photonics", "Drone", "Space", "Nano", "Bio", "Furniture", "Aqua",
          "Offshore", "Smart City", "Mobility", "Circular", "Plastics", "Metal", "Electronics", "Software", "Security",
          "Education", "Media", "Fashion", "Dairy", "Seafood", "Forest", "Hydrogen", "Battery", "Quantum"]
NAME_A = ["Nord", "Syd", "Øst", "Vest", "Fjord", "Skov", "Strand", "Bølge", "Lys", "Sol", "Vind", "Sten", "Eg", "Bøg",
          "Ager", "Mølle", "Bro", "Havn", "Klit", "Dal", "Å", "Sø", "Ravn", "Falk", "Ørn", "Ulv", "Hjort", "Lærke",
          "Krone", "Stjerne", "Nova", "Alfa", "Delta", "Kappa", "Sigma", "Polar", "Aurora", "Nexus", "Vektor", "Prisme"]
NAME_B = ["tek", "data", "byg", "plast", "metal", "energi", "food", "mekanik", "design", "optik", "robotics",
          "consult", "software", "systems", "gruppen", "partner", "værk", "smedie", "trykkeri", "elektronik",
          "medico", "pharma", "agro", "marine", "logistik", "automation", "solutions", "labs", "invest", "service"]
NAME_C = ["", "", "", " Danmark", " Nordic", " Jensen", " Hansen", " & Søn", " Pedersen", " Group", " International",
          " Holm", " Larsen", " Teknik", " Innovation", " Scandinavia", " Aarhus", " København", " Vest", " Fyn"]
STREETS = ["Vestergade", "Østergade", "Nørregade", "Søndergade", "Industrivej", "Havnevej", "Skovvej", "Strandvejen",
           "Stationsvej", "Kirkevej", "Møllevej", "Ålykkevej", "Fabriksvej", "Erhvervsvej", "Teknologiparken"]
LEGAL_FORMS = (["A/S", "ApS", "I/S", "IVS", "P/S", "K/S", ""], [0.30, 0.50, 0.05, 0.06, 0.03, 0.02, 0.04])
LEGAL_VARIANTS = {"A/S": ["AS", "A.S.", "a/s", "Aktieselskab"], "ApS": ["APS", "Aps", "ApS.", "Anpartsselskab"],
                  "I/S": ["IS", "I.S."], "P/S": ["PS"], "K/S": ["KS"], "IVS": ["I.V.S."]}
KNOWLEDGE_INSTITUTIONS = ["Aarhus Universitet", "Aalborg Universitet", "Københavns Universitet", "Danmarks Tekniske Universitet",
                          "Syddansk Universitet", "Roskilde Universitet", "Copenhagen Business School", "IT-Universitetet",
                          "Teknologisk Institut", "FORCE Technology", "DHI", "Alexandra Instituttet", "DBI", "Bioneer",
                          "NBE", "Professionshøjskolen UCN", "VIA University College", "Københavns Professionshøjskole",
                          "UC SYD", "Zealand Erhvervsakademi", "Erhvervsakademi Aarhus", "Danish Technological Center",
                          "Aarhus Maskinmesterskole", "DELTA", "Agro Business Park Forskning"]
PUBLIC_ACTORS = ["Region Nordjylland", "Region Midtjylland", "Region Syddanmark", "Region Hovedstaden", "Region Sjælland",
                 "Aarhus Kommune", "Aalborg Kommune", "Odense Kommune", "Københavns Kommune", "Esbjerg Kommune",
                 "Vejle Kommune", "Herning Kommune", "Kolding Kommune", "Horsens Kommune", "Randers Kommune",
                 "Silkeborg Kommune", "Viborg Kommune", "Holstebro Kommune", "Næstved Kommune", "Roskilde Kommune",
                 "Erhvervshus Midtjylland", "Erhvervshus Nordjylland", "Erhvervshus Sydjylland", "Erhvervshus Fyn",
                 "Erhvervshus Sjælland", "Erhvervshus Hovedstaden", "Innovationsfonden", "Energistyrelsen"]

# Seven dialects: how a cluster's secretariat writes its files.
@dataclass(frozen=True)
class Dialect:
    container: str  # xlsx or csv
    danish: bool
    delimiter: str = ","
    encoding: str = "utf-8"
    booleans: tuple[str, str] = ("true", "false")
    date_format: str = "%Y-%m-%d"
    decimal_comma: bool = False
    header_style: str = "snake"  # snake, title, upper
    personal_column: str | None = None
    numeric_cells: bool = False


DIALECTS = [
    Dialect("xlsx", False, booleans=("TRUE", "FALSE"), personal_column="contact_email"),
    Dialect("xlsx", True, booleans=("ja", "nej"), date_format="%d-%m-%Y", numeric_cells=True),
    Dialect("csv", False, ",", "utf-8", ("yes", "no"), personal_column="contact_email"),
    Dialect("csv", True, ";", "cp1252", ("x", ""), "%d.%m.%Y", decimal_comma=True),
    Dialect("csv", False, "\t", "utf-8-sig", ("1", "0"), "%d-%m-%Y", header_style="title"),
    Dialect("csv", True, ";", "utf-8-sig", ("JA", "NEJ"), decimal_comma=True, header_style="upper",
            personal_column="kontakt_email"),
    Dialect("csv", False, ";", "cp1252", ("Yes", "No"), "%d.%m.%Y", decimal_comma=True),
]


def make_cvr(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    """n distinct valid CVR numbers (modulus-11 with weights 2,7,6,5,4,3,2,1)."""
    weights = np.array([2, 7, 6, 5, 4, 3, 2])
    out = []
    while len(out) < n:
        digits = rng.integers(0, 10, size=(n * 2, 7))
        digits[:, 0] = rng.integers(1, 10, size=n * 2)
        check = (-(digits @ weights)) % 11
        for row, c in zip(digits, check):
            if c == 10:
                continue
            cvr = "".join(map(str, row)) + str(c)
            if cvr not in taken:
                taken.add(cvr)
                out.append(cvr)
                if len(out) == n:
                    break
    return out


def mistype_cvr(cvr: str, rng: np.random.Generator) -> str | None:
    """Swap two adjacent differing digits so that the check fails (a typical typing slip)."""
    from cluster_pipeline.lib.normalise import cvr_check

    for i in rng.permutation(7):
        if cvr[i] != cvr[i + 1]:
            typo = cvr[:i] + cvr[i + 1] + cvr[i] + cvr[i + 2:]
            if typo[0] != "0" and not cvr_check(typo):
                return typo
    return None


@dataclass
class Universe:
    entities: pd.DataFrame  # one row per true organisation
    clusters: pd.DataFrame  # one row per cluster (static attributes)


def build_universe(rng: np.random.Generator, scale: float, years: list[int]) -> Universe:
    towns = seeds.municipalities()
    weights = np.where(towns["region_code"] == "1084", 2.0, 1.0) * rng.uniform(0.5, 1.5, len(towns))
    n_companies = int(COMPANIES_PER_YEAR * scale * (1 + 0.12 * (len(years) - 1)) * 1.02) + 10
    taken: set[str] = set()

    base = [f"{NAME_A[a]}{NAME_B[b]}{NAME_C[c]}" for a, b, c in zip(
        rng.integers(0, len(NAME_A), n_companies), rng.integers(0, len(NAME_B), n_companies),
        rng.integers(0, len(NAME_C), n_companies))]
    # make names unique enough by adding a second word where needed (like real registers)
    seen: dict[str, int] = {}
    for i, name in enumerate(base):
        k = seen.get(name, 0)
        seen[name] = k + 1
        if k:
            base[i] = f"{name} {NAME_A[(i + k) % len(NAME_A)]}{k}"
    town = rng.choice(len(towns), size=n_companies, p=weights / weights.sum())
    companies = pd.DataFrame({
        "entity": [f"C{i:07d}" for i in range(n_companies)],
        "actor_type": "company",
        "base_name": base,
        "legal_form": rng.choice(LEGAL_FORMS[0], size=n_companies, p=LEGAL_FORMS[1]),
        "cvr": make_cvr(rng, n_companies, taken),
        "municipality_code": towns["municipality_code"].to_numpy()[town],
        "postal_code": towns["main_postal_code"].to_numpy()[town],
        "city": towns["main_town"].to_numpy()[town],
        "address": [f"{STREETS[s]} {n}" for s, n in zip(rng.integers(0, len(STREETS), n_companies), rng.integers(1, 200, n_companies))],
        "employees": np.minimum(rng.lognormal(2.3, 1.4, n_companies).astype(int), 20000),
    })
    # hard cases: homonyms in other towns, same-name pairs in one town, parent and subsidiary
    n_special = max(1, n_companies // 200)
    idx = rng.choice(n_companies, size=3 * n_special, replace=False)
    homonym, same_town, parent = idx[:n_special], idx[n_special:2 * n_special], idx[2 * n_special:]
    for i, j in zip(homonym[::2], homonym[1::2]):
        companies.loc[j, ["base_name", "legal_form"]] = companies.loc[i, ["base_name", "legal_form"]].to_numpy()
    for i, j in zip(same_town[::2], same_town[1::2]):
        companies.loc[j, ["base_name", "legal_form", "municipality_code", "postal_code", "city"]] = \
            companies.loc[i, ["base_name", "legal_form", "municipality_code", "postal_code", "city"]].to_numpy()
    for i, j in zip(parent[::2], parent[1::2]):
        companies.loc[j, ["municipality_code", "postal_code", "city", "address"]] = \
            companies.loc[i, ["municipality_code", "postal_code", "city", "address"]].to_numpy()
        companies.loc[j, "base_name"] = companies.loc[i, "base_name"] + " Holding"
        companies.loc[j, "legal_form"] = "ApS"

    others = []
    for actor_type, names, prefix in (("knowledge_institution", KNOWLEDGE_INSTITUTIONS, "K"), ("public_actor", PUBLIC_ACTORS, "P")):
        t = rng.choice(len(towns), size=len(names))
        others.append(pd.DataFrame({
            "entity": [f"{prefix}{i:03d}" for i in range(len(names))], "actor_type": actor_type, "base_name": names,
            "legal_form": "", "cvr": make_cvr(rng, len(names), taken),
            "municipality_code": towns["municipality_code"].to_numpy()[t], "postal_code": towns["main_postal_code"].to_numpy()[t],
            "city": towns["main_town"].to_numpy()[t], "address": [f"{STREETS[k % len(STREETS)]} {k + 1}" for k in range(len(names))],
            "employees": rng.integers(50, 5000, len(names)),
        }))
    entities = pd.concat([companies, *others], ignore_index=True)
    entities["name"] = (entities["base_name"] + " " + entities["legal_form"]).str.strip()

    regions = sorted(REGION_NAMES)
    clusters = pd.DataFrame({
        "cluster_id": [f"DK-CL-{i + 1:03d}" for i in range(N_CLUSTERS)],
        "cluster_name": [f"{THEMES[i]} Cluster Denmark" if i % 3 else f"Danish {THEMES[i]} Cluster" for i in range(N_CLUSTERS)],
        "region_code": [regions[i % 5] for i in range(N_CLUSTERS)],
        "size_weight": rng.lognormal(0, 0.6, N_CLUSTERS),
        "founded_year": rng.integers(1995, 2014, N_CLUSTERS),
        "dialect": [i % len(DIALECTS) for i in range(N_CLUSTERS)],
        "slug": [THEMES[i].lower().replace(" ", "_") for i in range(N_CLUSTERS)],
    })
    return Universe(entities, clusters)


def year_profiles(rng: np.random.Generator, universe: Universe, year: int) -> pd.DataFrame:
    gold, silver, bronze, in_process = LABEL_MIX.get(year, LABEL_MIX[max(LABEL_MIX)] if year > max(LABEL_MIX) else LABEL_MIX[min(LABEL_MIX)])
    labels = ["gold"] * gold + ["silver"] * silver + ["bronze"] * bronze + ["in_process"] * in_process
    labels += ["none"] * (N_CLUSTERS - len(labels))
    # stable ranking so a cluster keeps or improves its label over the years
    order = np.argsort(-universe.clusters["size_weight"].to_numpy(), kind="stable")
    label = np.empty(N_CLUSTERS, dtype=object)
    label[order] = labels
    valid_until = [date(year + 1 + (i % 3), 6, 30) if lab in ("gold", "silver", "bronze") else None for i, lab in enumerate(label)]
    # one bronze label lapsed mid-year: reported, but not valid at the end of the year
    lapsed = next(i for i in order[::-1] if label[i] == "bronze")
    valid_until[lapsed] = date(year, 6, 30)
    staff = np.round(rng.uniform(1.0, 12.0, N_CLUSTERS), 1)
    staff[-1] = 0.5 if year % 2 else 2.0  # a small secretariat drops below one FTE in odd years
    return pd.DataFrame({
        "cluster_id": universe.clusters["cluster_id"], "reporting_year": year,
        "cluster_name": universe.clusters["cluster_name"], "region_code": universe.clusters["region_code"],
        "label": label, "label_valid_until": valid_until, "staff_fte": staff,
        "founded_year": universe.clusters["founded_year"],
    })


def choose_clusters(rng: np.random.Generator, counts: np.ndarray, weights: np.ndarray, chunk: int = 100_000) -> np.ndarray:
    """For each company, counts[i] distinct clusters drawn by weight (Gumbel top-k, vectorised);
    flattened in company order."""
    out = []
    for lo in range(0, len(counts), chunk):
        k = counts[lo:lo + chunk]
        keys = np.log(weights)[None, :] - np.log(-np.log(rng.random((len(k), len(weights)))))
        top = np.argsort(-keys, axis=1)[:, : k.max(initial=1)]
        out.append(top[np.arange(top.shape[1])[None, :] < k[:, None]])
    return np.concatenate(out) if out else np.array([], dtype=int)


def year_memberships(rng: np.random.Generator, universe: Universe, year: int, first_year: int, scale: float) -> pd.DataFrame:
    """True memberships of the year: entity, cluster, committed flag and the five flags."""
    ents = universe.entities
    companies = ents.index[ents["actor_type"] == "company"].to_numpy()
    n_active = int(COMPANIES_PER_YEAR * scale)
    # a sliding window over the pool: about 12% of the companies change each year
    start = int((year - first_year) * 0.12 * n_active)
    active = companies[start:start + n_active]
    n_clusters = rng.choice(CLUSTERS_PER_COMPANY[0], size=len(active), p=CLUSTERS_PER_COMPANY[1])
    weights = universe.clusters["size_weight"].to_numpy()
    weights = weights / weights.sum()
    rows_entity, rows_cluster = [np.repeat(active, n_clusters)], [choose_clusters(rng, n_clusters, weights)]
    # knowledge institutions and public actors: every cluster has some (but one has no public actor)
    knowledge = ents.index[ents["actor_type"] == "knowledge_institution"].to_numpy()
    public = ents.index[ents["actor_type"] == "public_actor"].to_numpy()
    for c in range(N_CLUSTERS):
        picks = list(rng.choice(knowledge, size=rng.integers(1, 5), replace=False))
        if c != N_CLUSTERS - 2:
            picks += list(rng.choice(public, size=rng.integers(1, 4), replace=False))
        rows_entity.append(np.array(picks))
        rows_cluster.append(np.full(len(picks), c))
    members = pd.DataFrame({"entity_index": np.concatenate(rows_entity), "cluster_index": np.concatenate(rows_cluster)})
    members["committed_member"] = rng.random(len(members)) < 0.85
    year_index = min(max(year - 2014, 0), 4)
    for flag in FLAGS:
        p = FLAG_TARGETS[flag][year_index] / COMPANIES_PER_YEAR
        holders = set(active[rng.random(len(active)) < p]) | set(np.concatenate([knowledge, public])[rng.random(len(knowledge) + len(public)) < 0.3])
        has = members["entity_index"].isin(holders).to_numpy()
        # each holder reports the flag in at least one of its clusters, often in more
        shuffled = members.sample(frac=1, random_state=int(rng.integers(1 << 31)))
        first_idx = shuffled.index[~shuffled["entity_index"].duplicated()]
        first = pd.Series(False, index=members.index)
        first[first_idx] = True
        members[flag] = has & (first.to_numpy() | (rng.random(len(members)) < 0.4))
    return members


SPELLED_OUT = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "Æ": "Ae", "Ø": "Oe", "Å": "Aa"})


def name_variant(base: str, legal_form: str, r: np.ndarray) -> str:
    """How a secretariat might write a name: legal-form variants, case, æøå spelled out, a typo.
    r: eight uniform random numbers for this row."""
    form = legal_form
    if form and r[0] < 0.25:
        variants = LEGAL_VARIANTS.get(form, [form])
        form = variants[int(r[6] * len(variants))]
    if form and r[1] < 0.05:
        form = ""
    name = base
    if r[2] < 0.10:
        name = name.translate(SPELLED_OUT)
    if r[3] < 0.03 and len(name) > 8:
        i = 3 + int(r[7] * (len(name) - 5))
        if name[i].isalpha() and name[i + 1].isalpha():
            name = name[:i] + name[i + 1] + name[i] + name[i + 2:]
    text = f"{name} {form}".strip()
    if r[4] < 0.06:
        text = text.upper()
    elif r[5] < 0.04:
        text = text.lower()
    return text


def cvr_variant(cvr: str, r: float, rng: np.random.Generator) -> str:
    if r < 0.12:
        return ""
    if r < 0.14:
        return mistype_cvr(cvr, rng) or ""
    if r < 0.26:
        return " ".join(cvr[i:i + 2] for i in range(0, 8, 2))
    if r < 0.34:
        return "DK" + cvr
    if r < 0.38:
        return "DK-" + cvr
    return cvr


def noisy_member_rows(universe: Universe, memberships: pd.DataFrame, year: int, rng: np.random.Generator) -> pd.DataFrame:
    """The members rows as the clusters write them (one per membership), with the true entity."""
    ents = universe.entities.iloc[memberships["entity_index"].to_numpy()].reset_index(drop=True)
    n = len(ents)
    r = rng.random((n, 8))
    r_cvr = rng.random(n)
    municipality = ents["municipality_code"].where(rng.random(n) >= 0.15, "")
    return pd.DataFrame({
        "cluster_id": universe.clusters["cluster_id"].to_numpy()[memberships["cluster_index"].to_numpy()],
        "reporting_year": year,
        "cvr": [cvr_variant(c, x, rng) for c, x in zip(ents["cvr"], r_cvr)],
        "name": [name_variant(b, f, x) for b, f, x in zip(ents["base_name"], ents["legal_form"], r)],
        "address": ents["address"], "postal_code": ents["postal_code"], "city": ents["city"],
        "municipality_code": municipality, "actor_type": ents["actor_type"], "employees": ents["employees"].astype(int),
        "committed_member": memberships["committed_member"].to_numpy(),
        **{f: memberships[f].to_numpy() for f in FLAGS},
        "entity": ents["entity"],
        "cluster_index": memberships["cluster_index"].to_numpy(),
    })


@dataclass
class Sheet:
    """Rows of one members or profile table before it is written; truth per row."""

    kind: str
    rows: list[dict] = field(default_factory=list)
    truth: list[str | None] = field(default_factory=list)  # entity per row; None for a planted bad row
    expected: dict[int, list[str]] = field(default_factory=dict)  # row position -> rules it must break


def _set(**values):
    return lambda row: row.update(values)


# Planted broken members rows: the change, and the rules the row must be quarantined for.
BAD_MEMBER_ROWS = [
    (_set(name=""), ["name.required"]),
    (_set(postal_code="12"), ["postal_code.range"]),
    (_set(postal_code="8OOO"), ["postal_code.integer"]),
    (_set(actor_type="firma"), ["actor_type.allowed_values"]),
    (_set(new_products="maybe"), ["new_products.boolean"]),
    (_set(cluster_id="DK-CL-9"), ["cluster_id.pattern", "cluster_id.foreign_key"]),
    (_set(cluster_id="DK-CL-099"), ["cluster_id.foreign_key"]),
    (_set(employees="-5"), ["employees.range"]),
    (_set(municipality_code="999"), ["municipality_code.reference"]),
    (_set(postal_code="", committed_member="perhaps"), ["postal_code.required", "committed_member.boolean"]),
    (_set(employees="mange"), ["employees.integer"]),
    (_set(actor_type=""), ["actor_type.required"]),
]


def render(value, column: str, dialect: Dialect):
    """A value as this secretariat writes it (Danish words, decimal commas, date styles)."""
    if value is None or value == "":
        return ""
    if isinstance(value, (bool, np.bool_)):
        return dialect.booleans[0] if value else dialect.booleans[1]
    if isinstance(value, date):
        return value.strftime(dialect.date_format)
    if column in ("actor_type", "label") and dialect.danish:
        return DANISH_VALUES.get(value, value)
    if column == "region_code" and dialect.danish:
        return REGION_NAMES[value]
    if isinstance(value, (float, np.floating)):
        text = f"{value:g}"
        return text.replace(".", ",") if dialect.decimal_comma else text
    if dialect.numeric_cells and column in ("cvr", "postal_code", "employees", "municipality_code", "reporting_year") \
            and str(value).isdigit():
        return int(value)
    return str(value) if not isinstance(value, (int, np.integer)) or not dialect.numeric_cells else int(value)


def header(column: str, dialect: Dialect) -> str:
    name = DANISH_HEADERS[column] if dialect.danish else column
    if dialect.header_style == "title":
        return name.replace("_", " ").title()
    if dialect.header_style == "upper":
        return name.upper()
    return name


def table_values(sheet: Sheet, columns: list[str], dialect: Dialect, extra_cells: set[int] = frozenset()) -> list[list]:
    head = [header(c, dialect) for c in columns]
    if dialect.personal_column and sheet.kind == "members":
        head.append(dialect.personal_column)
    values = [head]
    for i, row in enumerate(sheet.rows):
        cells = [render(row.get(c), c, dialect) for c in columns]
        if dialect.personal_column and sheet.kind == "members":
            cells.append(f"kontakt{i}@example.dk")
        if i in extra_cells:
            cells += ["", "unexpected extra cell"]
        values.append(cells)
    return values


def write_csv(path: Path, values: list[list], dialect: Dialect) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=dialect.delimiter, lineterminator="\r\n")
    writer.writerows([[("" if v is None else str(v)) for v in row] for row in values])
    path.write_bytes(buffer.getvalue().encode(dialect.encoding, errors="replace"))


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> None:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    for title, values in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in values:
            sheet.append(row)
    workbook.save(path)


def _bad_xlsx_with_entities(path: Path) -> None:
    write_xlsx(path, {"members": [["cluster_id", "name"], ["DK-CL-001", "x"]]})
    bomb = b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    with zipfile.ZipFile(path) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    sheet = next(n for n in parts if n.startswith("xl/worksheets/"))
    declaration, _, body = parts[sheet].rpartition(b"?>")
    parts[sheet] = (declaration + b"?>" if declaration else b"") + bomb + body
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def _zip_bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))


def generate_year(universe: Universe, year: int, first_year: int, scale: float, landing: Path, seed: int) -> dict:
    rng = np.random.default_rng([seed, year])
    folder = landing / str(year)
    folder.mkdir(parents=True, exist_ok=True)
    profiles = year_profiles(rng, universe, year)
    memberships = year_memberships(rng, universe, year, first_year, scale)

    rows = noisy_member_rows(universe, memberships, year, rng)
    rows = rows.iloc[rng.permutation(len(rows))]
    member_sheets = {}
    for c, group in rows.groupby("cluster_index"):
        member_sheets[c] = Sheet("members", group[MEMBER_COLUMNS].to_dict("records"), group["entity"].tolist())
    # a company listed twice in one cluster's file: both rows accepted, counted once
    twice = member_sheets[3]
    twice.rows.append(dict(twice.rows[0]))
    twice.truth.append(twice.truth[0])

    # planted broken rows, each a corrupted copy of a good row, at a random place
    extra_cells: dict[int, set[int]] = {}
    for mutate, rules in [*BAD_MEMBER_ROWS, (None, ["row.shape"])]:
        c = int(rng.integers(N_CLUSTERS))
        sheet = member_sheets[c]
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

    truth_rows, bad_rows, files = [], [], []
    mtime = datetime(year + 1, 2, 1).timestamp()
    for c, cluster in universe.clusters.iterrows():
        dialect = DIALECTS[cluster["dialect"]]
        profile = Sheet("profile", [profiles.iloc[c].to_dict()], [None])
        members = member_sheets[c]
        members_values = table_values(members, MEMBER_COLUMNS, dialect, extra_cells.get(c, set()))
        profile_values = table_values(profile, PROFILE_COLUMNS, dialect)
        if dialect.container == "xlsx":
            names = ("Medlemmer", "Profil") if dialect.danish else ("members", "profile")
            member_file = f"{cluster['slug']}_{year}.xlsx"
            write_xlsx(folder / member_file, {"Vejledning" if dialect.danish else "Instructions": [["Udfyld arkene"]],
                                              names[0]: members_values, names[1]: profile_values})
            sheet_name, written = names[0], [member_file]
        else:
            word = ("medlemmer", "profil") if dialect.danish else ("members", "profile")
            member_file = f"{cluster['slug']}_{word[0]}_{year}.csv"
            write_csv(folder / member_file, members_values, dialect)
            write_csv(folder / f"{cluster['slug']}_{word[1]}_{year}.csv", profile_values, dialect)
            sheet_name, written = None, [member_file, f"{cluster['slug']}_{word[1]}_{year}.csv"]
        files += written
        for i, entity in enumerate(members.truth):
            source = {"source_file": member_file, "source_sheet": sheet_name, "source_row": i + 2}
            if entity is None:
                bad_rows.append({**source, "rules": sorted(members.expected[i])})
            else:
                truth_rows.append({**source, "entity": entity})

    # a second, earlier members file from one cluster: superseded by the final one
    early = universe.clusters.iloc[2]
    early_sheet = Sheet("members", member_sheets[2].rows[: max(1, len(member_sheets[2].rows) // 2)])
    superseded = f"{early['slug']}_members_{year}_udkast.csv"
    write_csv(folder / superseded, table_values(early_sheet, MEMBER_COLUMNS, DIALECTS[early["dialect"]]), DIALECTS[early["dialect"]])

    # planted broken profile rows, for clusters that have no members (so nothing else depends on them)
    new_clusters = Sheet("profile")
    for cid, label, until, staff, region, rules in [
        ("DK-CL-901", "platinum", date(year + 2, 1, 1), 2.0, "1081", ["label.allowed_values"]),
        ("DK-CL-902", "gold", None, 3.0, "1082", ["label_valid_until.required_when"]),
        ("DK-CL-903", "bronze", date(year + 2, 1, 1), "-1", "Fyn", ["region_code.allowed_values", "staff_fte.range"]),
        ("DK-CL-904", "silver", "31.02." + str(year + 1), 1.5, "1083", ["label_valid_until.date"]),
    ]:
        new_clusters.rows.append({"cluster_id": cid, "reporting_year": year, "cluster_name": f"Ny klynge {cid[-3:]}",
                                  "region_code": region, "label": label, "label_valid_until": until, "staff_fte": staff,
                                  "founded_year": year})
        bad_rows.append({"source_file": "nye_klynger_profil.csv", "source_sheet": None,
                         "source_row": len(new_clusters.rows) + 1, "rules": rules})
    plain = Dialect("csv", False, ",", "utf-8")
    write_csv(folder / "nye_klynger_profil.csv", table_values(new_clusters, PROFILE_COLUMNS, plain), plain)

    # broken files and a file that is not a submission
    (folder / "tom_fil.csv").write_bytes(b"")
    (folder / "ødelagt_arbejdsbog.xlsx").write_bytes(rng.bytes(4096))
    _bad_xlsx_with_entities(folder / "entity_attack.xlsx")
    _zip_bomb(folder / "zip_bomb.xlsx")
    no_postal = [c for c in MEMBER_COLUMNS if c != "postal_code"]
    write_csv(folder / "members_uden_postnr.csv", table_values(Sheet("members", member_sheets[5].rows[:20]), no_postal, plain), plain)
    write_csv(folder / "kun_overskrift.csv", table_values(Sheet("members"), MEMBER_COLUMNS, plain), plain)
    (folder / "notes.txt").write_text("Husk at sende profilen inden fristen.\n", encoding="utf-8")
    bad_files = [
        {"source_file": "tom_fil.csv", "reason": "empty file"},
        {"source_file": "ødelagt_arbejdsbog.xlsx", "reason": "not a valid XLSX"},
        {"source_file": "entity_attack.xlsx", "reason": "entity"},
        {"source_file": "zip_bomb.xlsx", "reason": "zip bomb"},
        {"source_file": "members_uden_postnr.csv", "reason": "missing required column(s): postal_code"},
        {"source_file": "kun_overskrift.csv", "reason": "no data rows"},
    ]
    for i, name in enumerate(sorted(p.name for p in folder.iterdir())):
        stamp = mtime - 86400 if name == superseded else mtime + 60 * i
        os.utime(folder / name, (stamp, stamp))

    truth = year_truth(year, universe, profiles, memberships, truth_rows, bad_rows, bad_files,
                       ignored=["notes.txt"], superseded=[superseded])
    return truth, pd.DataFrame(truth_rows)


def regional_truth(company_flags: pd.DataFrame, entities: pd.DataFrame) -> dict:
    """Per region: distinct companies located there and those with new_products."""
    region_of = seeds.municipalities().set_index("municipality_code")["region_code"]
    region = entities.loc[company_flags.index, "municipality_code"].map(region_of)
    frame = company_flags.assign(region=region.to_numpy())
    return {code: {"companies": int(len(group)), "new_products": int(group["new_products"].sum())}
            for code, group in frame.groupby("region")}


def year_truth(year, universe, profiles, memberships, truth_rows, bad_rows, bad_files, ignored, superseded) -> dict:
    """What the published figures must be, computed from the generator's own model."""
    rows = pd.DataFrame(truth_rows)
    ents = universe.entities.set_index("entity")
    rows = rows.join(ents[["actor_type", "employees"]], on="entity")
    companies = rows[rows["actor_type"] == "company"]
    flags = memberships.assign(entity=universe.entities["entity"].to_numpy()[memberships["entity_index"]])
    flags = flags.join(ents[["actor_type", "employees"]], on="entity")
    company_flags = flags[flags["actor_type"] == "company"].groupby("entity")[FLAGS].any()
    employees = ents.loc[company_flags.index, "employees"]
    sme = employees < 50
    cluster_flags = flags[flags["actor_type"] == "company"].groupby(["cluster_index", "entity"])[FLAGS].any()
    valid = (profiles["label"].isin(["gold", "silver", "bronze"])) & profiles["label_valid_until"].map(
        lambda d: d is not None and d >= date(year, 12, 31))
    clusters = {}
    for c, profile in profiles.iterrows():
        mine = flags[flags["cluster_index"] == c]
        committed = mine[(mine["actor_type"] == "company") & mine["committed_member"]]["entity"].nunique()
        helix = set(mine["actor_type"]) >= {"company", "knowledge_institution", "public_actor"}
        failures = []
        if committed < 20:
            failures.append("committed_companies")
        if not helix:
            failures.append("triple_helix")
        if profile["staff_fte"] < 1:
            failures.append("staff_fte")
        if not (valid[c] or profile["label"] == "in_process"):
            failures.append("label")
        clusters[profile["cluster_id"]] = {
            "label": profile["label"], "label_valid": bool(valid[c]), "companies": int(mine[mine["actor_type"] == "company"]["entity"].nunique()),
            "committed_companies": int(committed), "triple_helix": helix, "eligible": not failures, "eligibility_failures": failures,
        }
    return {
        "year": year,
        "distinct_companies": int(companies["entity"].nunique()),
        "distinct_organisations": int(rows["entity"].nunique()),
        "companies_sme": int(sme.sum()),
        "national": {f: int(company_flags[f].sum()) for f in FLAGS},
        "national_sme": {f: int((company_flags[f] & sme).sum()) for f in FLAGS},
        "sum_of_clusters": {f: int(cluster_flags[f].sum()) for f in FLAGS},
        "member_rows": len(rows),
        "valid_labels": {lab: int((valid & (profiles["label"] == lab)).sum()) for lab in ("gold", "silver", "bronze")},
        "clusters": clusters,
        "regions": regional_truth(company_flags, ents),
        "bad_rows": bad_rows,
        "bad_files": bad_files,
        "ignored_files": ignored,
        "superseded_files": superseded,
    }


def generate(landing: Path, years: list[int], scale: float = 1.0, seed: int = 2016) -> dict[int, dict]:
    """Write the sample landing folders for the years and their truth; returns the truth."""
    landing = Path(landing)
    universe = build_universe(np.random.default_rng(seed), scale, years)
    truth_dir = landing / "_truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    truths = {}
    for year in years:
        if (landing / str(year)).exists():
            import shutil

            shutil.rmtree(landing / str(year))
        truth, rows = generate_year(universe, year, min(years), scale, landing, seed)
        (truth_dir / f"{year}.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False), encoding="utf-8")
        rows.to_csv(truth_dir / f"{year}_rows.csv", index=False)
        truths[year] = truth
    return truths


def load_truth_rows(landing: Path, year: int) -> pd.DataFrame:
    """The true organisation of every good members row: source_file, source_sheet, source_row, entity."""
    return pd.read_csv(Path(landing) / "_truth" / f"{year}_rows.csv", dtype={"source_sheet": "string", "source_row": "int64"})
