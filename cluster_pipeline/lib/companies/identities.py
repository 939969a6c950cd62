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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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

LINKED_COLUMNS = ["company_id", "cvr", "name", "address", "postal_code"]  # what linking reads of a year
Years = Mapping[int, pd.DataFrame] | Iterable[tuple[int, pd.DataFrame]]  # a mapping, or pairs one at a time
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
    """The distinct evidence rows of every year as integer codes (Categoricals over each
    column's distinct values: at national scale a string per row costs gigabytes), and the
    nodes they belong to: a year's resolved company, numbered by year, then by the order its
    id first occurs over the years (which breaks ties when edges are equally strong)."""

    node_of_row: np.ndarray
    cvr: pd.Categorical  # per row; NaN without one
    name: pd.Categorical
    address: pd.Categorical
    postal: pd.Categorical
    node_year: np.ndarray
    node_local: pa.Array  # the node's year-local id
    node_local_code: np.ndarray  # the same id in any year, the same code
    node_local_rank: np.ndarray  # the id's place in text order (the identity's seed is the first)
    node_name: pa.Array  # the name of the node's last row (its latest)


@dataclass
class _EncodedYear:
    year: int
    rows: int
    columns: dict[str, tuple[np.ndarray, pa.Array]]  # per column: codes into the year's distinct values, those values


def _encode_year(year: int, rows: pd.DataFrame) -> _EncodedYear:
    """A year's linked columns as codes into its own distinct values: once encoded, its rows
    can go (a caller handing years over one at a time never holds all years' text at once)."""
    columns = {}
    for column in LINKED_COLUMNS:
        text = pa.array(rows[column], type=pa.large_string(), from_pandas=True)
        encoded = (text if column == "cvr" else pc.fill_null(text, "")).dictionary_encode()
        columns[column] = (encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), encoded.dictionary)
    return _EncodedYear(year, len(rows), columns)


def _categorical(years: list[_EncodedYear], column: str) -> pd.Categorical:
    """One column of every year as codes into the distinct values of all years (NaN for a
    null), the values kept as Arrow text."""
    distinct = pa.concat_arrays([year.columns[column][1] for year in years]).dictionary_encode()
    to_all = distinct.indices.to_numpy(zero_copy_only=False)
    codes, offset = [], 0
    for year in years:
        year_codes, values = year.columns[column]
        present = year_codes >= 0
        year_in_all = np.full(len(year_codes), -1, dtype=np.int64)
        year_in_all[present] = to_all[offset + year_codes[present]]
        codes.append(year_in_all)
        offset += len(values)
    return pd.Categorical.from_codes(
        np.concatenate(codes).astype(np.int32), pd.Index(pd.array(distinct.dictionary, dtype="str"))
    )


def _first_of_each(key: np.ndarray) -> np.ndarray:
    """The positions where each value of key first occurs, in order."""
    return np.sort(np.unique(key, return_index=True)[1])


def _evidence(years: Years) -> _Evidence | None:
    pairs = years.items() if isinstance(years, Mapping) else years
    encoded = sorted((_encode_year(year, rows) for year, rows in pairs if len(rows)), key=lambda e: e.year)
    if not encoded:
        return None
    row_year = np.concatenate([np.full(year.rows, year.year) for year in encoded])
    local = _categorical(encoded, "company_id")
    coded = {c: _categorical(encoded, c) for c in ("cvr", "name", "address", "postal_code")}
    del encoded
    # each id's code: ids first seen in an earlier year first, then in text order
    ids = pa.array(local.categories.array)
    text_rank = np.empty(len(ids), dtype=np.int64)
    text_rank[pc.sort_indices(ids).to_numpy()] = np.arange(len(ids))
    first_row = np.unique(local.codes, return_index=True)[1]
    local_code = np.empty(len(ids), dtype=np.int64)
    local_code[np.lexsort((text_rank, row_year[first_row]))] = np.arange(len(ids))
    # nodes: (year, id), numbered by year, then the id's code
    year_values, year_code = np.unique(row_year, return_inverse=True)
    node_key = year_code.astype(np.int64) * len(ids) + local_code[local.codes]
    node_keys, node_of_every_row = np.unique(node_key, return_inverse=True)
    node_local_code = node_keys % len(ids)
    id_of_code = np.argsort(local_code)  # code -> the id's place among the distinct ids
    last_row = len(node_key) - 1 - np.unique(node_of_every_row[::-1], return_index=True)[1]
    # the rows that differ in anything linking reads, where each first occurs
    distinct = _first_of_each(
        _codes(
            pd.DataFrame({"node": node_of_every_row, **{c: v.codes for c, v in coded.items()}}),
            ["node", *coded],
        )
    )
    return _Evidence(
        node_of_row=node_of_every_row[distinct],
        cvr=coded["cvr"][distinct],
        name=coded["name"][distinct],
        address=coded["address"][distinct],
        postal=coded["postal_code"][distinct],
        node_year=year_values[node_keys // len(ids)].astype(int),
        node_local=pc.take(ids, pa.array(id_of_code[node_local_code])),
        node_local_code=node_local_code,
        node_local_rank=text_rank[id_of_code[node_local_code]],
        node_name=pc.take(pa.array(coded["name"].categories.array), pa.array(coded["name"].codes[last_row])),
    )


def _per_category(values: pd.Series, codes: np.ndarray) -> pd.Categorical:
    """Values computed once per category (a distinct spelling), as codes per row."""
    value_codes, distinct = pd.factorize(values)
    return pd.Categorical.from_codes(value_codes[codes], pd.Index(pd.array(distinct, dtype="str")))


def _empty_identities(previous: pd.DataFrame | None) -> Identities:
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


def link_years(years: Years, previous: pd.DataFrame | None = None) -> Identities:
    """years: per year its resolved memberships (company_id = the year's own id, cvr, name,
    address, postal_code), or only their year_evidence; a mapping, or (year, rows) pairs read
    one at a time (each year's text is let go once encoded). previous: the company_identities
    table published before, whose ids stay in the table pointing to what they stand for now."""
    linked = _evidence(years)
    if linked is None:
        return _empty_identities(previous)
    node_of_row, node_year = linked.node_of_row, linked.node_year
    year_values = np.unique(node_year)
    if len(year_values) > 62:
        raise ValueError("more than 62 reporting years: the year masks below need a wider integer")
    n_nodes = len(node_year)
    node_cvr = np.full(n_nodes, -1, dtype=np.int64)  # a code into linked.cvr's categories
    with_cvr = linked.cvr.codes >= 0
    node_cvr[node_of_row[with_cvr]] = linked.cvr.codes[with_cvr]

    # the same year-local id in several years is one identity: "CVR<n>" is the CVR itself
    # (a CVR decides, whatever forms and addresses: a company that moved), "N..." the same
    # name, postal code and address; one id never occurs twice in a year
    roots = pd.Series(np.arange(n_nodes)).groupby(linked.node_local_code).transform("min").to_numpy()

    names = name_forms(pd.Series(linked.name.categories))  # once per distinct name
    forms = pd.DataFrame({column: _per_category(names[column], linked.name.codes) for column in names})
    del names  # what is no longer needed goes as soon as it is not: at national scale, gigabytes
    address_key = _per_category(normalise_address(pd.Series(linked.address.categories)), linked.address.codes)
    postal = pd.Series(linked.postal)
    # evidently the same company (for id_stability): the same CVR, else the same normalised name in the same town
    row_cvr = node_cvr[node_of_row]
    name_in_town = _codes(pd.DataFrame({"name_key": forms["name_key"], "postal": postal}), ["name_key", "postal"])
    key = np.where(row_cvr >= 0, -1 - row_cvr, name_in_town)
    del row_cvr, name_in_town
    spellings = spelling_table(
        node_of_row, forms, postal, pd.Series(address_key), ["node", "name_key", "postal", "legal_form", "address_key"]
    )
    legal_form = forms["legal_form"]
    del forms  # the name keys live on in the spellings
    edges = node_edges(spellings, np.where(node_cvr >= 0, node_cvr, np.nan))
    del spellings
    query, candidate = edges["query"].to_numpy(), edges["candidate"].to_numpy()
    # within a year the resolver has decided; within one identity there is nothing to join
    edges = edges[(node_year[query] != node_year[candidate]) & (roots[query] != roots[candidate])]
    roots = _join_identities(edges, roots, node_year, node_cvr, legal_form, pd.Series(address_key), node_of_row)
    del edges, legal_form, address_key, postal

    # an identity's CVR is any of its nodes' (never two: the joins refuse that)
    identity_cvr = np.full(n_nodes, -1, dtype=np.int64)
    np.maximum.at(identity_cvr, roots, node_cvr)
    node_identity_cvr = identity_cvr[roots]
    # earliest year first: the identity's seed is its earliest own id
    seed_of_root = np.full(n_nodes, -1, dtype=np.int64)
    by_seed = np.lexsort((linked.node_local_rank, node_year))
    first = by_seed[_first_of_each(roots[by_seed])]
    seed_of_root[roots[first]] = first
    cvr_texts = pa.array(linked.cvr.categories.array)
    cvr_ids = pc.binary_join_element_wise(pa.scalar("CVR", cvr_texts.type), cvr_texts, pa.scalar("", cvr_texts.type))
    has_cvr = node_identity_cvr >= 0
    cvr_index = pa.array(node_identity_cvr, mask=~has_cvr)  # null where the identity has no CVR
    company_id = pc.if_else(
        pa.array(has_cvr),
        pc.take(cvr_ids, cvr_index),
        pc.take(linked.node_local, pa.array(seed_of_root[roots])),
    )
    ids = pd.DataFrame(
        {
            "year": node_year,
            "local_id": pd.array(linked.node_local, dtype="str"),
            "company_id": pd.array(company_id, dtype="str"),
            "cvr": pd.array(pc.take(cvr_texts, cvr_index), dtype="str"),
            "name": pd.array(linked.node_name, dtype="str"),
        }
    )
    company_codes = pd.factorize(ids["company_id"])[0]
    keyed = pd.DataFrame({"year": node_year[node_of_row], "company_id": company_codes[node_of_row], "key": key})
    stability = id_stability(keyed)
    del keyed, key, linked
    return Identities(ids[["year", "local_id", "company_id"]], identity_table(ids, previous), stability)


def _join_identities(
    edges: pd.DataFrame,
    roots: np.ndarray,
    node_year: np.ndarray,
    node_cvr: np.ndarray,
    legal_form: pd.Series,
    address_key: pd.Series,
    node_of_row: np.ndarray,
) -> np.ndarray:
    """Each node's identity after the name edges, strongest first, joined where the evidence
    allows: a union-find over only the identities an edge touches (in the five-year sample at
    scale 10, 142,128 of 251,376 identities, a quarter of the nodes), numbered compactly."""
    touched = np.unique(roots[np.r_[edges["query"].to_numpy(), edges["candidate"].to_numpy()]])
    if not len(touched):
        return roots
    compact = np.full(len(roots), -1, dtype=np.int64)
    compact[touched] = np.arange(len(touched))
    year_bits = np.zeros(len(touched), dtype=np.int64)  # two nodes of one year never join
    in_touched = compact[roots] >= 0
    year_code = np.searchsorted(np.unique(node_year), node_year)
    np.bitwise_or.at(year_bits, compact[roots[in_touched]], np.left_shift(1, year_code[in_touched]).astype(np.int64))
    row_identity = compact[roots[node_of_row]]
    organisations = OrganisationGroups(
        [int(c) + 1 if c >= 0 else None for c in node_cvr[touched].tolist()],  # codes, 0-free: a CVR is truthy
        # forms and addresses matter only where a name edge may join two identities
        sets_per_node(legal_form, row_identity, np.arange(len(touched)), len(touched)),
        sets_per_node(address_key, row_identity, np.arange(len(touched)), len(touched)),
        year_bits.tolist(),
    )
    # strongest evidence first, then the nearest years; node numbers make ties deterministic
    edges = edges.assign(gap=np.abs(node_year[edges["query"]] - node_year[edges["candidate"]]))
    ordered = edges.sort_values(
        ["score", "gap", "query", "candidate"], ascending=[False, True, True, True], kind="stable"
    )
    query = compact[roots[ordered["query"].to_numpy()]]
    candidate = compact[roots[ordered["candidate"].to_numpy()]]
    for query_identity, candidate_identity in zip(query.tolist(), candidate.tolist()):
        organisations.union(candidate_identity, query_identity)
    joined = np.array([organisations.find(i) for i in range(len(touched))], dtype=np.int64)
    roots = roots.copy()
    roots[in_touched] = touched[joined[compact[roots[in_touched]]]]
    return roots


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
    # each step on the columns it reads: at national scale the identities are millions of rows
    latest_name = (
        ids[["year", "company_id", "name"]]
        .sort_values("year", kind="stable")
        .drop_duplicates("company_id", keep="last")
        .set_index("company_id")["name"]
    )
    per_id = ids.groupby("company_id").agg(
        cvr=("cvr", "first"), first_year=("year", "min"), last_year=("year", "max"), n_years=("year", "nunique")
    )
    current = per_id.assign(current_id=per_id.index, name=latest_name.reindex(per_id.index)).reset_index()

    # a year's own id that is no longer the published one: points to its identity (the latest year's)
    own = ids.loc[ids["local_id"] != ids["company_id"], ["year", "local_id", "company_id"]]
    own = own.sort_values("year", kind="stable")
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


def ids_not_current(published: pd.Series, identities: pd.DataFrame) -> list[str]:
    """The published company_ids that are not a current identity of company_identities (one that
    was merged into another, or was never one), sorted."""
    current = identities.loc[identities["company_id"] == identities["current_id"], "company_id"]
    return sorted(published[~is_in(published, current)].unique())


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
