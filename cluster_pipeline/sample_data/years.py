"""One year of the sample: which organisations are members of which clusters with which
outcomes, the clusters' profiles, and how each secretariat writes its rows (name and CVR
variants, and the habits that last a year: a CVR left out, a spelling, a new address)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from cluster_pipeline.lib.vocabulary import FLAGS
from cluster_pipeline.sample_data.organisations import COMPANIES_PER_YEAR, LEGAL_VARIANTS, N_CLUSTERS, Universe

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
CLUSTERS_PER_COMPANY = ([1, 2, 3, 4], [0.70, 0.20, 0.07, 0.03])


def mistype_cvr(cvr: str, rng: np.random.Generator) -> str | None:
    """Swap two adjacent differing digits so that the check fails (a typical typing slip)."""
    from cluster_pipeline.lib.survey.normalise import cvr_check

    for i in rng.permutation(7):
        if cvr[i] != cvr[i + 1]:
            typo = cvr[:i] + cvr[i + 1] + cvr[i] + cvr[i + 2 :]
            if typo[0] != "0" and not cvr_check(typo):
                return typo
    return None


def year_profiles(rng: np.random.Generator, universe: Universe, year: int) -> pd.DataFrame:
    gold, silver, bronze, in_process = LABEL_MIX.get(
        year, LABEL_MIX[max(LABEL_MIX)] if year > max(LABEL_MIX) else LABEL_MIX[min(LABEL_MIX)]
    )
    labels = ["gold"] * gold + ["silver"] * silver + ["bronze"] * bronze + ["in_process"] * in_process
    labels += ["none"] * (N_CLUSTERS - len(labels))
    # stable ranking so a cluster keeps or improves its label over the years
    order = np.argsort(-universe.clusters["size_weight"].to_numpy(), kind="stable")
    label = np.empty(N_CLUSTERS, dtype=object)
    label[order] = labels
    valid_until = [
        date(year + 1 + (i % 3), 6, 30) if lab in ("gold", "silver", "bronze") else None for i, lab in enumerate(label)
    ]
    # one bronze label lapsed mid-year: reported, but not valid at the end of the year
    lapsed = next(i for i in order[::-1] if label[i] == "bronze")
    valid_until[lapsed] = date(year, 6, 30)
    staff = np.round(rng.uniform(1.0, 12.0, N_CLUSTERS), 1)
    staff[-1] = 0.5 if year % 2 else 2.0  # a small secretariat drops below one FTE in odd years
    return pd.DataFrame(
        {
            "cluster_id": universe.clusters["cluster_id"],
            "reporting_year": year,
            "cluster_name": universe.clusters["cluster_name"],
            "region_code": universe.clusters["region_code"],
            "label": label,
            "label_valid_until": valid_until,
            "staff_fte": staff,
            "founded_year": universe.clusters["founded_year"],
        }
    )


def choose_clusters(
    rng: np.random.Generator, counts: np.ndarray, weights: np.ndarray, chunk: int = 100_000
) -> np.ndarray:
    """For each company, counts[i] distinct clusters drawn by weight (Gumbel top-k, vectorised);
    flattened in company order."""
    out = []
    for lo in range(0, len(counts), chunk):
        k = counts[lo : lo + chunk]
        keys = np.log(weights)[None, :] - np.log(-np.log(rng.random((len(k), len(weights)))))
        top = np.argsort(-keys, axis=1)[:, : k.max(initial=1)]
        out.append(top[np.arange(top.shape[1])[None, :] < k[:, None]])
    return np.concatenate(out) if out else np.array([], dtype=int)


def year_memberships(
    rng: np.random.Generator, universe: Universe, year: int, first_year: int, scale: float
) -> pd.DataFrame:
    """True memberships of the year: entity, cluster, committed flag and the five flags."""
    ents = universe.entities
    companies = ents.index[ents["actor_type"] == "company"].to_numpy()
    n_active = int(COMPANIES_PER_YEAR * scale)
    # a sliding window over the pool: about 12% of the companies change each year
    start = int((year - first_year) * 0.12 * n_active)
    active = companies[start : start + n_active]
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
        holders = set(active[rng.random(len(active)) < p]) | set(
            np.concatenate([knowledge, public])[rng.random(len(knowledge) + len(public)) < 0.3]
        )
        has = members["entity_index"].isin(holders).to_numpy()
        # each holder reports the flag in at least one of its clusters, often in more
        shuffled = members.sample(frac=1, random_state=int(rng.integers(1 << 31)))
        first_idx = shuffled.index[~shuffled["entity_index"].duplicated()]
        first = pd.Series(False, index=members.index)
        first[first_idx] = True
        members[flag] = has & (first.to_numpy() | (rng.random(len(members)) < 0.4))
    return members


SERVICES_BASE, SERVICES_PER_FLAG = 0.6, 0.9  # mean services used: more for a membership with more outcomes


def services_used(rng: np.random.Generator, memberships: pd.DataFrame) -> pd.DataFrame:
    """Template version 2's columns for every membership: its member type (committed members
    are those of version 1's committed_member) and the services it used, associated with its
    outcomes (a membership reporting more outcomes used more services on average)."""
    flags = memberships[FLAGS].sum(axis=1).to_numpy()
    return memberships.assign(
        member_type=np.where(memberships["committed_member"], "committed", "participant"),
        services_used=np.minimum(rng.poisson(SERVICES_BASE + SERVICES_PER_FLAG * flags), 40),
    )


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
            name = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    text = f"{name} {form}".strip()
    if r[4] < 0.06:
        text = text.upper()
    elif r[5] < 0.04:
        text = text.lower()
    return text


def cvr_variant(cvr: str, r: float, rng: np.random.Generator) -> str:
    """How one row gives the CVR: left out, mistyped, spaced, prefixed, or plain."""
    if r < 0.08:
        return ""
    if r < 0.14:
        return mistype_cvr(cvr, rng) or ""
    if r < 0.26:
        return " ".join(cvr[i : i + 2] for i in range(0, 8, 2))
    if r < 0.34:
        return "DK" + cvr
    if r < 0.38:
        return "DK-" + cvr
    return cvr


YEAR_WITHOUT_CVR = 0.06  # an organisation leaves its CVR out of all its rows that year
YEAR_SPELLING = 0.05  # an organisation writes its name its own way that year (spelled out, a slip)


def _year_spelling(base: str, u: float) -> str:
    """The spelling an organisation uses all that year: æ/ø/å spelled out, or two letters swapped."""
    spelled = base.translate(SPELLED_OUT)
    if spelled != base and u < 0.5:
        return spelled
    i = 2 + int(u * max(len(base) - 4, 1))
    if i + 1 < len(base) and base[i].isalpha() and base[i + 1].isalpha() and base[i] != base[i + 1]:
        return base[:i] + base[i + 1] + base[i] + base[i + 2 :]
    return base


def address_variant(address: str, r: float) -> str:
    """How one row writes the street address: left out, abbreviated, with a floor, or as it is."""
    if r < 0.05:
        return ""
    if r < 0.08:
        return address.replace("gade ", "g. ").replace("vej ", "vej nr. ")
    if r < 0.10:
        return address + " st."
    return address


def noisy_member_rows(
    universe: Universe, memberships: pd.DataFrame, year: int, rng: np.random.Generator
) -> pd.DataFrame:
    """The members rows as the clusters write them (one per membership), with the true entity.
    Besides each row's own noise, an organisation has habits that hold for a whole year:
    its CVR left out everywhere, one spelling of its name, and its address after a move."""
    located = universe.entities_in(year)
    n_entities = len(located)
    habit = rng.random((n_entities, 3))
    without_cvr = located["never_cvr"].to_numpy(dtype=bool) | (habit[:, 0] < YEAR_WITHOUT_CVR)
    spelling = np.where(
        habit[:, 1] < YEAR_SPELLING,
        [_year_spelling(b, u) for b, u in zip(located["base_name"], habit[:, 2])],
        located["base_name"],
    )
    index = memberships["entity_index"].to_numpy()
    ents = located.iloc[index].reset_index(drop=True)
    n = len(ents)
    r = rng.random((n, 8))
    r_cvr = rng.random(n)
    r_address = rng.random(n)
    municipality = ents["municipality_code"].where(rng.random(n) >= 0.15, "")
    return pd.DataFrame(
        {
            "cluster_id": universe.clusters["cluster_id"].to_numpy()[memberships["cluster_index"].to_numpy()],
            "reporting_year": year,
            "cvr": [
                "" if skip else cvr_variant(c, x, rng) for c, x, skip in zip(ents["cvr"], r_cvr, without_cvr[index])
            ],
            "name": [name_variant(b, f, x) for b, f, x in zip(spelling[index], ents["legal_form"], r)],
            "address": [address_variant(a, x) for a, x in zip(ents["address"], r_address)],
            "postal_code": ents["postal_code"],
            "city": ents["city"],
            "municipality_code": municipality,
            "actor_type": ents["actor_type"],
            "employees": ents["employees"].astype(int),
            "committed_member": memberships["committed_member"].to_numpy(),
            **{c: memberships[c].to_numpy() for c in ("member_type", "services_used") if c in memberships},
            **{f: memberships[f].to_numpy() for f in FLAGS},
            "entity": ents["entity"],
            "cluster_index": memberships["cluster_index"].to_numpy(),
        }
    )


def accepted_member_rows(universe: Universe, year: int, first_year: int, scale: float, seed: int) -> pd.DataFrame:
    """A year's members rows as validation accepts them (CVR digits cleaned, a CVR failing the
    check set aside, blanks as null) with their true entity, without writing files: for
    benchmarks of the resolution alone. The draws are those of the written sample."""
    from cluster_pipeline.lib.survey import normalise

    rng = np.random.default_rng([seed, year])
    year_profiles(rng, universe, year)
    rows = noisy_member_rows(universe, year_memberships(rng, universe, year, first_year, scale), year, rng)
    digits = normalise.clean_cvr(rows["cvr"].replace("", None))
    rows["cvr"] = digits.where(normalise.cvr_is_valid(digits))
    rows["municipality_code"] = rows["municipality_code"].replace("", None)
    rows["source_file"], rows["source_sheet"], rows["source_row"] = "bench.csv", None, np.arange(len(rows)) + 2
    return rows.drop(columns=["cluster_index"])
