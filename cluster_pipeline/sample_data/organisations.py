"""The true organisations behind the sample: companies, knowledge institutions, public
actors and clusters, with the hard cases real registers hold (same names in other towns,
same names with other legal forms, near-miss names, parent and subsidiary at one address,
organisations that never give a CVR, companies that move)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cluster_pipeline.lib import seeds

N_CLUSTERS = 47
COMPANIES_PER_YEAR = 12_000

THEMES = [
    "Wind",
    "Food",
    "Water",
    "Robot",
    "Life Science",
    "Maritime",
    "Energy",
    "Lifestyle",
    "Design",
    "Sound",
    "Health",
    "Game",
    "Fintech",
    "Logistics",
    "Building",
    "Cleantech",
    "Agro",
    "Packaging",
    "Materials",
    "Welfare Tech",
    "Tourism",
    "Textile",
    "Photonics",
    "Drone",
    "Space",
    "Nano",
    "Bio",
    "Furniture",
    "Aqua",
    "Offshore",
    "Smart City",
    "Mobility",
    "Circular",
    "Plastics",
    "Metal",
    "Electronics",
    "Software",
    "Security",
    "Education",
    "Media",
    "Fashion",
    "Dairy",
    "Seafood",
    "Forest",
    "Hydrogen",
    "Battery",
    "Quantum",
]
NAME_A = [
    "Nord",
    "Syd",
    "Øst",
    "Vest",
    "Fjord",
    "Skov",
    "Strand",
    "Bølge",
    "Lys",
    "Sol",
    "Vind",
    "Sten",
    "Eg",
    "Bøg",
    "Ager",
    "Mølle",
    "Bro",
    "Havn",
    "Klit",
    "Dal",
    "Å",
    "Sø",
    "Ravn",
    "Falk",
    "Ørn",
    "Ulv",
    "Hjort",
    "Lærke",
    "Krone",
    "Stjerne",
    "Nova",
    "Alfa",
    "Delta",
    "Kappa",
    "Sigma",
    "Polar",
    "Aurora",
    "Nexus",
    "Vektor",
    "Prisme",
]
NAME_B = [
    "tek",
    "data",
    "byg",
    "plast",
    "metal",
    "energi",
    "food",
    "mekanik",
    "design",
    "optik",
    "robotics",
    "consult",
    "software",
    "systems",
    "gruppen",
    "partner",
    "værk",
    "smedie",
    "trykkeri",
    "elektronik",
    "medico",
    "pharma",
    "agro",
    "marine",
    "logistik",
    "automation",
    "solutions",
    "labs",
    "invest",
    "service",
]
NAME_C = [
    "",
    "",
    "",
    " Danmark",
    " Nordic",
    " Jensen",
    " Hansen",
    " & Søn",
    " Pedersen",
    " Group",
    " International",
    " Holm",
    " Larsen",
    " Teknik",
    " Innovation",
    " Scandinavia",
    " Aarhus",
    " København",
    " Vest",
    " Fyn",
]
STREETS = [
    "Vestergade",
    "Østergade",
    "Nørregade",
    "Søndergade",
    "Industrivej",
    "Havnevej",
    "Skovvej",
    "Strandvejen",
    "Stationsvej",
    "Kirkevej",
    "Møllevej",
    "Ålykkevej",
    "Fabriksvej",
    "Erhvervsvej",
    "Teknologiparken",
]
LEGAL_FORMS = (["A/S", "ApS", "I/S", "IVS", "P/S", "K/S", ""], [0.30, 0.50, 0.05, 0.06, 0.03, 0.02, 0.04])
LEGAL_VARIANTS = {
    "A/S": ["AS", "A.S.", "a/s", "Aktieselskab"],
    "ApS": ["APS", "Aps", "ApS.", "Anpartsselskab"],
    "I/S": ["IS", "I.S."],
    "P/S": ["PS"],
    "K/S": ["KS"],
    "IVS": ["I.V.S."],
}
KNOWLEDGE_INSTITUTIONS = [
    "Aarhus Universitet",
    "Aalborg Universitet",
    "Københavns Universitet",
    "Danmarks Tekniske Universitet",
    "Syddansk Universitet",
    "Roskilde Universitet",
    "Copenhagen Business School",
    "IT-Universitetet",
    "Teknologisk Institut",
    "FORCE Technology",
    "DHI",
    "Alexandra Instituttet",
    "DBI",
    "Bioneer",
    "NBE",
    "Professionshøjskolen UCN",
    "VIA University College",
    "Københavns Professionshøjskole",
    "UC SYD",
    "Zealand Erhvervsakademi",
    "Erhvervsakademi Aarhus",
    "Danish Technological Center",
    "Aarhus Maskinmesterskole",
    "DELTA",
    "Agro Business Park Forskning",
]
PUBLIC_ACTORS = [
    "Region Nordjylland",
    "Region Midtjylland",
    "Region Syddanmark",
    "Region Hovedstaden",
    "Region Sjælland",
    "Aarhus Kommune",
    "Aalborg Kommune",
    "Odense Kommune",
    "Københavns Kommune",
    "Esbjerg Kommune",
    "Vejle Kommune",
    "Herning Kommune",
    "Kolding Kommune",
    "Horsens Kommune",
    "Randers Kommune",
    "Silkeborg Kommune",
    "Viborg Kommune",
    "Holstebro Kommune",
    "Næstved Kommune",
    "Roskilde Kommune",
    "Erhvervshus Midtjylland",
    "Erhvervshus Nordjylland",
    "Erhvervshus Sydjylland",
    "Erhvervshus Fyn",
    "Erhvervshus Sjælland",
    "Erhvervshus Hovedstaden",
    "Innovationsfonden",
    "Energistyrelsen",
]

LOCATION = ["address", "postal_code", "city", "municipality_code"]
HARD_PAIR_SHARE = 0.01  # of the companies, in pairs of each hard kind below
NEVER_CVR_SHARE = 0.03  # associations and sole traders that never give a CVR
MOVE_SHARE = 0.04  # companies that move once in the period (same CVR, new address or town)
REGION_CODES = ["1081", "1082", "1083", "1084", "1085"]


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


@dataclass
class Universe:
    entities: pd.DataFrame  # one row per true organisation
    clusters: pd.DataFrame  # one row per cluster (static attributes)

    def entities_in(self, year: int) -> pd.DataFrame:
        """The organisations as they are in that year: a company that moved has its new address."""
        moved = (self.entities["moved_in"] <= year).to_numpy()
        if not moved.any():
            return self.entities
        located = self.entities.copy()
        for column in LOCATION:
            located.loc[moved, column] = located.loc[moved, f"new_{column}"]
        return located


def build_universe(rng: np.random.Generator, scale: float, years: list[int]) -> Universe:
    towns = seeds.municipalities()
    weights = np.where(towns["region_code"] == "1084", 2.0, 1.0) * rng.uniform(0.5, 1.5, len(towns))
    n_companies = int(COMPANIES_PER_YEAR * scale * (1 + 0.12 * (len(years) - 1)) * 1.02) + 10
    taken: set[str] = set()

    base = [
        f"{NAME_A[a]}{NAME_B[b]}{NAME_C[c]}"
        for a, b, c in zip(
            rng.integers(0, len(NAME_A), n_companies),
            rng.integers(0, len(NAME_B), n_companies),
            rng.integers(0, len(NAME_C), n_companies),
        )
    ]
    # make names unique enough by adding a second word where needed (like real registers)
    seen: dict[str, int] = {}
    for i, name in enumerate(base):
        k = seen.get(name, 0)
        seen[name] = k + 1
        if k:
            base[i] = f"{name} {NAME_A[(i + k) % len(NAME_A)]}{k}"
    town = rng.choice(len(towns), size=n_companies, p=weights / weights.sum())
    companies = pd.DataFrame(
        {
            "entity": [f"C{i:07d}" for i in range(n_companies)],
            "actor_type": "company",
            "base_name": base,
            "legal_form": rng.choice(LEGAL_FORMS[0], size=n_companies, p=LEGAL_FORMS[1]),
            "cvr": make_cvr(rng, n_companies, taken),
            "municipality_code": towns["municipality_code"].to_numpy()[town],
            "postal_code": towns["main_postal_code"].to_numpy()[town],
            "city": towns["main_town"].to_numpy()[town],
            "address": [
                f"{STREETS[s]} {n}"
                for s, n in zip(rng.integers(0, len(STREETS), n_companies), rng.integers(1, 200, n_companies))
            ],
            "employees": np.minimum(rng.lognormal(2.3, 1.4, n_companies).astype(int), 20000),
        }
    )
    plant_hard_cases(companies, rng)
    companies["never_cvr"] = rng.random(n_companies) < NEVER_CVR_SHARE
    plant_moves(companies, rng, towns, years)

    others = []
    for actor_type, names, prefix in (
        ("knowledge_institution", KNOWLEDGE_INSTITUTIONS, "K"),
        ("public_actor", PUBLIC_ACTORS, "P"),
    ):
        t = rng.choice(len(towns), size=len(names))
        others.append(
            pd.DataFrame(
                {
                    "entity": [f"{prefix}{i:03d}" for i in range(len(names))],
                    "actor_type": actor_type,
                    "base_name": names,
                    "legal_form": "",
                    "cvr": make_cvr(rng, len(names), taken),
                    "municipality_code": towns["municipality_code"].to_numpy()[t],
                    "postal_code": towns["main_postal_code"].to_numpy()[t],
                    "city": towns["main_town"].to_numpy()[t],
                    "address": [f"{STREETS[k % len(STREETS)]} {k + 1}" for k in range(len(names))],
                    "employees": rng.integers(50, 5000, len(names)),
                    "never_cvr": False,
                }
            )
        )
    entities = pd.concat([companies, *others], ignore_index=True)
    entities["name"] = (entities["base_name"] + " " + entities["legal_form"]).str.strip()

    regions = REGION_CODES
    clusters = pd.DataFrame(
        {
            "cluster_id": [f"DK-CL-{i + 1:03d}" for i in range(N_CLUSTERS)],
            "cluster_name": [
                f"{THEMES[i]} Cluster Denmark" if i % 3 else f"Danish {THEMES[i]} Cluster" for i in range(N_CLUSTERS)
            ],
            "region_code": [regions[i % 5] for i in range(N_CLUSTERS)],
            "size_weight": rng.lognormal(0, 0.6, N_CLUSTERS),
            "founded_year": rng.integers(1995, 2014, N_CLUSTERS),
            "slug": [THEMES[i].lower().replace(" ", "_") for i in range(N_CLUSTERS)],
        }
    )
    return Universe(entities, clusters)


def _other_form(form: str, u: float) -> str:
    choices = [f for f in LEGAL_FORMS[0] if f and f != form]
    return choices[int(u * len(choices))]


def _one_letter_off(name: str, u: float) -> str:
    """A near-miss name: one letter inserted after a consonant (Olsen -> Olesen)."""
    consonants = [i for i, ch in enumerate(name[:-1]) if ch.isalpha() and ch.lower() not in "aeiouyæøå" and i > 0]
    i = consonants[int(u * len(consonants))] if consonants else 1
    return name[: i + 1] + "e" + name[i + 1 :]


def plant_hard_cases(companies: pd.DataFrame, rng: np.random.Generator) -> None:
    """Pairs of different companies that look alike, as real registers hold them:
    - the same name and form in another town;
    - the same name and form in the same town, on another street;
    - 'X Holding ApS' at the same address as 'X';
    - the same name in the same town with another legal form and street (SundhedNordic I/S, SundhedNordic P/S;
      sometimes one of them has no form at all: Møller Elektronik I/S, Møller Elektronik);
    - a name one letter off with another legal form in the same town (Olsen Data ApS, Olesen Data K/S)."""
    n_pairs = max(1, int(len(companies) * HARD_PAIR_SHARE))
    kinds = ["homonym", "same_town", "parent", "form_twin", "near_miss"]
    picked = rng.choice(len(companies), size=2 * n_pairs * len(kinds), replace=False).reshape(len(kinds), n_pairs, 2)
    u = rng.random((len(kinds), n_pairs, 2))
    town = ["municipality_code", "postal_code", "city"]
    # every picked company is in one pair only, so each kind is one vectorised copy
    columns = {c: companies[c].to_numpy(dtype=object, copy=True) for c in ["base_name", "legal_form", *LOCATION]}
    base, form = columns["base_name"], columns["legal_form"]
    for kind, pairs, draws in zip(kinds, picked, u):
        i, j, u1, u2 = pairs[:, 0], pairs[:, 1], draws[:, 0], draws[:, 1]
        copied = {
            "homonym": ["base_name", "legal_form"],
            "same_town": ["base_name", "legal_form", *town],
            "parent": LOCATION,
        }.get(kind, town)
        for column in copied:
            columns[column][j] = columns[column][i]
        if kind == "parent":
            base[j] = base[i] + " Holding"
            form[j] = "ApS"
        elif kind in ("form_twin", "near_miss"):
            form[i] = [f or _other_form("", a) for f, a in zip(form[i], u1)]
            form[j] = ["" if kind == "form_twin" and b < 0.25 else _other_form(f, b) for f, b in zip(form[i], u2)]
            base[j] = base[i] if kind == "form_twin" else [_one_letter_off(n, a) for n, a in zip(base[i], u1)]
    for column, values in columns.items():
        companies[column] = values


def plant_moves(companies: pd.DataFrame, rng: np.random.Generator, towns: pd.DataFrame, years: list[int]) -> None:
    """Some companies move once (same CVR): another street in the same town, or another town."""
    n = len(companies)
    movers = rng.random(n) < MOVE_SHARE if len(years) > 1 else np.zeros(n, dtype=bool)
    companies["moved_in"] = np.where(movers, rng.choice(years[1:] or years, size=n), 9999)
    new_town = rng.choice(len(towns), size=n)
    same_town = rng.random(n) < 0.5
    companies["new_address"] = [
        f"{STREETS[s]} {k}" for s, k in zip(rng.integers(0, len(STREETS), n), rng.integers(1, 200, n))
    ]
    for column, source in (
        ("postal_code", "main_postal_code"),
        ("city", "main_town"),
        ("municipality_code", "municipality_code"),
    ):
        companies[f"new_{column}"] = np.where(same_town, companies[column], towns[source].to_numpy()[new_town])
