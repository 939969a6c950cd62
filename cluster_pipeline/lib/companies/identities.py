"""One company_id per organisation across years.

Each year is resolved on its own (lib/companies/resolution.py): a year's companies and counts
never depend on other years. This module only links the years' resolved companies to
identities, with the same evidence the yearly resolver trusts:

1. the same valid CVR in any two years is one organisation (whichever years carry it);
2. the same year-local id (the same normalised name, postal code and address) is one;
3. a company without a CVR in one year joins a company of another year whose name fits
   (the resolver's name rules: one slip, numbers and entity words agree, the address does
   not clearly differ), strongest evidence first.
Two companies of the same year are never joined (that would merge within a year), nor two
CVRs, two explicit legal forms or two clearly different addresses.

The identities are a function of all years' resolved companies together, so any run order
(backfill newest first, a late correction) ends with the same ids. An identity's id is
"CVR" + its CVR when any year carries one, otherwise its earliest year's own id, so adding
later years leaves earlier ids alone unless new evidence (a CVR) arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cluster_pipeline.lib.columns import is_in
from cluster_pipeline.lib.companies.resolution import (
    OrganisationGroups,
    name_edges,
    name_forms,
    normalise_address,
    sets_per_node,
    spelling_block,
    spelling_table,
)

EVIDENCE = ["year", "local_id", "cvr", "name", "address", "postal_code"]
LINKED_COLUMNS = ["company_id", "cvr", "name", "address", "postal_code"]  # what linking reads of a year
IDENTITY_COLUMNS = ["company_id", "current_id", "cvr", "name", "first_year", "last_year", "n_years"]


@dataclass
class Identities:
    ids: pd.DataFrame  # year, local_id -> company_id
    table: pd.DataFrame  # company_identities: one row per id ever published (current and former)
    stability: dict[str, float]  # per pair of consecutive years (see id_stability)


def year_evidence(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of a year's resolved memberships that linking looks at: each distinct spelling
    (own id, CVR, name, address, postal code) where it first occurs, and each company's last
    row (whose name is its latest). link_years gives the same identities from these as from
    all rows, in a fraction of the memory: a company is written alike in most of its rows."""
    rows = rows[LINKED_COLUMNS]
    return rows[~rows.duplicated() | ~rows.duplicated("company_id", keep="last")].reset_index(drop=True)


@dataclass
class _Evidence:
    rows: pd.DataFrame  # distinct (year, local_id, cvr, name, address, postal_code), by year and local id
    node_of_row: np.ndarray  # each row's node: a year's resolved company, numbered by year, then local id
    node_year: np.ndarray
    node_local: pd.Series  # the node's year-local id
    node_local_code: np.ndarray  # the same id in any year, the same code
    node_name: pd.Series  # the name of the node's last row (its latest)


def _evidence(years: dict[int, pd.DataFrame]) -> _Evidence:
    """The distinct evidence rows of every year and the nodes they belong to. Nodes are
    numbered by year, then by the order their ids first occur over the years (which breaks
    ties when edges are equally strong), with integer codes throughout rather than strings."""
    parts = []
    for year, rows in sorted(years.items()):
        rows = rows[LINKED_COLUMNS].reset_index(drop=True)
        company, companies = pd.factorize(rows["company_id"], sort=True)
        distinct = np.flatnonzero(~pd.Series(_codes(rows, LINKED_COLUMNS)).duplicated().to_numpy())
        distinct = distinct[np.argsort(company[distinct], kind="stable")]  # by local id, as first written
        reversed_first = np.unique(company[::-1], return_index=True)[1]
        last_row = len(rows) - 1 - reversed_first  # each company's last row, in local id order
        parts.append(
            (
                year,
                rows.iloc[distinct],
                company[distinct],
                pd.Series(companies),  # strings stay Arrow strings: no million Python objects
                rows["name"].iloc[last_row].reset_index(drop=True),
            )
        )
    if not parts:
        empty = pd.DataFrame({c: pd.Series(dtype="object") for c in EVIDENCE})
        nothing = np.array([], dtype=np.int64)
        return _Evidence(empty, nothing, nothing, pd.Series(dtype=object), nothing, pd.Series(dtype=object))
    local_code, _ = pd.factorize(pd.concat([companies for _, _, _, companies, _ in parts], ignore_index=True))
    frames, node_of_row, node_year, node_local, node_code, node_name = [], [], [], [], [], []
    offset, start = 0, 0
    for year, distinct, company, companies, names in parts:
        codes = local_code[start : start + len(companies)]
        order = np.argsort(codes, kind="stable")  # the year's nodes, in first-occurrence order of their ids
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        frames.append(distinct.rename(columns={"company_id": "local_id"}).assign(year=year)[EVIDENCE])
        node_of_row.append(offset + rank[company])
        node_year.append(np.full(len(order), year))
        node_local.append(companies.iloc[order])
        node_code.append(codes[order])
        node_name.append(names.iloc[order])
        offset, start = offset + len(order), start + len(companies)
    return _Evidence(
        pd.concat(frames, ignore_index=True),
        np.concatenate(node_of_row),
        np.concatenate(node_year).astype(int),
        pd.concat(node_local, ignore_index=True),
        np.concatenate(node_code),
        pd.concat(node_name, ignore_index=True),
    )


def link_years(years: dict[int, pd.DataFrame], previous: pd.DataFrame | None = None) -> Identities:
    """years: per year its resolved memberships (company_id = the year's own id, cvr, name,
    address, postal_code), or only their year_evidence. previous: the company_identities table
    published before, whose ids stay in the table pointing to what they stand for now."""
    linked = _evidence(years)
    evidence, node_of_row, node_year, node_local = linked.rows, linked.node_of_row, linked.node_year, linked.node_local
    if evidence.empty:
        empty = pd.DataFrame(
            {
                "year": pd.Series(dtype="int64"),
                "local_id": pd.Series(dtype=object),
                "company_id": pd.Series(dtype=object),
                "cvr": pd.Series(dtype=object),
                "name": pd.Series(dtype=object),
            }
        )
        return Identities(empty[["year", "local_id", "company_id"]], identity_table(empty, previous), {})
    year_values = np.unique(node_year)
    if len(year_values) > 62:
        raise ValueError("more than 62 reporting years: the year masks below need a wider integer")
    node_year_code = np.searchsorted(year_values, node_year)
    n_nodes = len(node_year)
    node_cvr = np.full(n_nodes, None, dtype=object)
    with_cvr = evidence["cvr"].notna().to_numpy()
    node_cvr[node_of_row[with_cvr]] = evidence["cvr"].to_numpy(dtype=object)[with_cvr]

    # the same year-local id in several years is one identity: "CVR<n>" is the CVR itself
    # (a CVR decides, whatever forms and addresses: a company that moved), "N..." the same
    # name, postal code and address; one id never occurs twice in a year
    roots = pd.Series(np.arange(n_nodes)).groupby(linked.node_local_code).transform("min").to_numpy()
    organisations = OrganisationGroups(node_cvr.tolist(), {}, {})
    organisations.parent = roots.tolist()
    year_bits = pd.Series(np.left_shift(1, node_year_code).astype(np.int64)).groupby(roots).sum()
    organisations.groups = dict(zip(year_bits.index.tolist(), year_bits.tolist()))  # two nodes of one year never join

    forms = name_forms(evidence["name"])
    address_key = normalise_address(evidence["address"])
    postal = evidence["postal_code"].fillna("").astype(str)
    spellings = spelling_table(
        node_of_row, forms, postal, address_key, ["node", "name_key", "postal", "legal_form", "address_key"]
    )
    edges = node_edges(spellings, node_cvr)
    query, candidate = edges["query"].to_numpy(), edges["candidate"].to_numpy()
    # within a year the resolver has decided; within one identity there is nothing to join
    edges = edges[(node_year[query] != node_year[candidate]) & (roots[query] != roots[candidate])]

    # forms and addresses matter only where a name edge may join two identities: gather
    # them for the nodes of those identities, onto each identity's root
    touched = np.unique(roots[np.r_[edges["query"].to_numpy(), edges["candidate"].to_numpy()]])
    organisations.forms = sets_per_node(forms["legal_form"], roots[node_of_row], touched)
    organisations.addresses = sets_per_node(address_key, roots[node_of_row], touched)
    # strongest evidence first, then the nearest years; node numbers make ties deterministic
    edges["gap"] = np.abs(node_year[edges["query"]] - node_year[edges["candidate"]])
    ordered = edges.sort_values(
        ["score", "gap", "query", "candidate"], ascending=[False, True, True, True], kind="stable"
    )
    for query_node, candidate_node in zip(ordered["query"].tolist(), ordered["candidate"].tolist()):
        organisations.union(candidate_node, query_node)

    roots = np.array([organisations.find(i) for i in range(n_nodes)])
    nodes_frame = pd.DataFrame(
        {
            "year": node_year,
            "local_id": node_local,
            "root": roots,
            "cvr": np.asarray(organisations.cvr, dtype=object)[roots],
        }
    )
    # earliest year first: the identity's seed is its earliest own id
    seed = (
        nodes_frame.sort_values(["year", "local_id"], kind="stable")
        .drop_duplicates("root")
        .set_index("root")["local_id"]
    )
    nodes_frame["company_id"] = np.where(
        nodes_frame["cvr"].notna(), "CVR" + nodes_frame["cvr"].fillna(""), nodes_frame["root"].map(seed)
    )
    ids = nodes_frame[["year", "local_id", "company_id", "cvr"]].assign(name=linked.node_name)
    # evidently the same company: the same CVR, else the same normalised name in the same postal code
    row_cvr = pd.Series(node_cvr[node_of_row], dtype=object)
    name_in_town = _codes(pd.DataFrame({"name_key": forms["name_key"], "postal": postal}), ["name_key", "postal"])
    key = np.where(row_cvr.notna(), -1 - pd.factorize(row_cvr)[0], name_in_town)
    keyed = pd.DataFrame(
        {"year": node_year[node_of_row], "company_id": nodes_frame["company_id"].to_numpy()[node_of_row], "key": key}
    )
    return Identities(ids[["year", "local_id", "company_id"]], identity_table(ids, previous), id_stability(keyed))


def node_edges(spellings: pd.DataFrame, node_cvr: np.ndarray) -> pd.DataFrame:
    """Name edges (query node without CVR, candidate node, score) between the nodes' spellings.
    Most spellings recur in every year a company reports, so names are compared once per
    distinct spelling, and each fitting pair of spellings then stands for every pair of
    nodes written that way: the same edges as comparing every node's spellings, for a
    fifth of the comparisons over five years."""
    node = spellings["node"].to_numpy()
    content = _codes(spellings, ["name_key", "name_wide", "postal", "address_key"])
    n_contents = int(content.max(initial=-1)) + 1
    is_query = pd.isna(node_cvr[node])
    any_query = np.bincount(content, weights=is_query, minlength=n_contents) > 0
    distinct = spellings.iloc[np.unique(content, return_index=True)[1]].reset_index(drop=True)
    distinct["cvr"] = np.where(any_query, None, "held")  # type: ignore[call-overload]  # name_edges asks only: written by a node without CVR?
    distinct["block"] = spelling_block(distinct)
    found = name_edges(distinct)
    # one spelling written by several nodes: an exact match between each two of them
    repeated = np.flatnonzero(any_query & (np.bincount(content, minlength=n_contents) > 1))
    found = pd.concat(
        [found, pd.DataFrame({"query": repeated, "candidate": repeated, "score": 1.0})], ignore_index=True
    )
    rows = pd.DataFrame({"content": content, "row": np.arange(len(content))})
    pairs = found.merge(rows[is_query].rename(columns={"content": "query", "row": "query_row"}), on="query").merge(
        rows.rename(columns={"content": "candidate", "row": "candidate_row"}), on="candidate"
    )
    pairs = pairs[pairs["query_row"] != pairs["candidate_row"]]
    return pd.DataFrame(
        {
            "query": node[pairs["query_row"].to_numpy()],
            "candidate": node[pairs["candidate_row"].to_numpy()],
            "score": pairs["score"].to_numpy(),
        }
    )


def _codes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One integer per distinct combination of the columns' values."""
    code = np.zeros(len(frame), dtype=np.int64)
    for column in columns:
        values = pd.factorize(frame[column], use_na_sentinel=False)[0].astype(np.int64)  # a blank is a value
        code = pd.factorize(code * (values.max(initial=0) + 1) + values)[0].astype(np.int64)
    return code


def identity_table(ids: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """Current ids (pointing to themselves), every year's own id that now stands for another
    (an analyst may hold it from a run of that year alone), and every id published before.
    ids: year, local_id, company_id, cvr and the name of the local company's last row."""
    latest_name = (
        ids.sort_values("year", kind="stable")
        .drop_duplicates("company_id", keep="last")
        .set_index("company_id")["name"]
    )
    per_id = ids.groupby("company_id").agg(
        cvr=("cvr", "first"), first_year=("year", "min"), last_year=("year", "max"), n_years=("year", "nunique")
    )
    current = per_id.assign(current_id=per_id.index, name=latest_name.reindex(per_id.index)).reset_index()

    # a year's own id that is no longer the published one: points to its identity (the latest year's)
    own = ids[ids["local_id"] != ids["company_id"]].sort_values("year", kind="stable")
    own = own[~is_in(own["local_id"], current["company_id"])]
    former = (
        own.groupby("local_id")
        .agg(
            current_id=("company_id", "last"),
            first_year=("year", "min"),
            last_year=("year", "max"),
            n_years=("year", "nunique"),
        )
        .reset_index()
    )
    former = former.rename(columns={"local_id": "company_id"}).join(
        current.set_index("company_id")[["cvr", "name"]], on="current_id"
    )
    table = pd.concat([current, former], ignore_index=True)

    if previous is not None and len(previous):
        kept = previous[~is_in(previous["company_id"], table["company_id"])].copy()
        # an id seen before keeps pointing where its identity lives now, if that is still an id
        live = table.set_index("company_id")["current_id"]
        kept["current_id"] = kept["current_id"].map(live).fillna(kept["current_id"])
        table = pd.concat([table, kept[IDENTITY_COLUMNS]], ignore_index=True)
    table = table[IDENTITY_COLUMNS].sort_values("company_id", kind="stable").reset_index(drop=True)
    return table.astype({"first_year": "int32", "last_year": "int32", "n_years": "int32"})


def id_stability(keyed: pd.DataFrame) -> dict[str, float]:
    """Per pair of consecutive years: of the companies that are evidently the same in both
    (keyed: year, company_id, key), the share with one id."""
    keyed = keyed.drop_duplicates()
    # a key claimed by two companies in one year is not evidence of anything
    keyed = keyed[~keyed.duplicated(["year", "key"], keep=False)]
    stability = {}
    ordered = sorted(keyed["year"].unique())
    for a, b in zip(ordered, ordered[1:]):
        pair = keyed[keyed["year"] == a].merge(keyed[keyed["year"] == b], on="key")
        if len(pair):
            stability[f"{a}-{b}"] = float((pair["company_id_x"] == pair["company_id_y"]).mean())
    return stability


def apply_ids(frame: pd.DataFrame, ids: pd.DataFrame | None, year: int) -> pd.DataFrame:
    """A year's resolved companies or memberships with their company_id across years."""
    if ids is None:
        raise ValueError("no company identities yet: materialise company_identities after resolved_companies")
    mapping = ids[ids["year"] == year].set_index("local_id")["company_id"]
    mapped = frame["company_id"].map(mapping)
    if mapped.isna().any():
        raise ValueError(
            f"{int(mapped.isna().sum())} companies of {year} have no identity: company_identities was "
            f"computed before {year} was last resolved; materialise company_identities again"
        )
    return frame.assign(company_id=mapped.to_numpy())


def ids_with_two_cvrs(ids: pd.DataFrame, years: dict[int, pd.DataFrame]) -> list[str]:
    """The company_ids whose companies carry two different CVR numbers in any years."""
    cvrs = [
        rows.loc[rows["cvr"].notna(), ["company_id", "cvr"]].astype(object).assign(year=year)
        for year, rows in years.items()
    ]
    if not cvrs:
        return []
    joined = pd.concat(cvrs).rename(columns={"company_id": "local_id"}).merge(ids, on=["year", "local_id"])
    counts = joined.groupby("company_id")["cvr"].nunique()
    return sorted(counts[counts > 1].index)
