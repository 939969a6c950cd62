"""Resolve the organisations in a year's accepted members rows to distinct companies.

Rules, in order of strength:
1. A valid CVR decides: the same valid CVR is the same organisation; two different valid
   CVRs are different organisations, however alike the names (no merge ever joins two).
2. A row without a usable CVR is matched on its normalised name within its location
   (same postal code; blocking on postal code and the name's first letters keeps the work
   near-linear). Names compare after case, punctuation, legal forms (A/S, ApS, ...) and
   æ/ø/å spellings are normalised; one typing slip (an edit or a swap of neighbours) is
   forgiven in names of 6 characters or more, a second one only at the very same address
   (names of 10 characters or more); numbers in names must agree.
3. When a name fits several CVR-holding organisations equally well (same-named companies
   in one town), the address decides, then the legal form; if nothing decides, the row is
   not attached to either.
4. Words that make a different legal entity (Holding, Invest, Ejendomme, Fond) must agree:
   "X Holding ApS" is never "X A/S".

company_id is derived from content, so it is the same in every year and every re-run:
"CVR" + the CVR number when the organisation has one, otherwise a hash of its normalised
name and postal code.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.vocabulary import FLAGS

MIN_FUZZY_LENGTH = 6  # shorter names must match exactly
MAX_EDITS = 1
MAX_EDITS_SAME_ADDRESS = 2
PARALLEL_PAIRS = 20_000  # blocks with more name pairs than this are compared on every core
MIN_LENGTH_SECOND_EDIT = 10
MIN_ADDRESS_SIMILARITY = 80  # rapidfuzz ratio; below it two addresses are different places
ENTITY_WORDS = {"holding", "invest", "ejendomme", "fond"}

# Legal forms as people write them, to one canonical token each (matched as whole words at the end).
LEGAL_FORMS = {
    "as": ["a/s", "a.s.", "a.s", "as", "aktieselskab", "aktieselskabet"],
    "aps": ["aps", "aps.", "anpartsselskab", "anpartsselskabet"],
    "is": ["i/s", "i.s.", "is", "interessentskab"],
    "ivs": ["ivs", "i.v.s.", "iværksætterselskab"],
    "ps": ["p/s", "p.s.", "ps", "partnerselskab"],
    "ks": ["k/s", "k.s.", "ks", "kommanditselskab"],
    "amba": ["a.m.b.a.", "amba", "a.m.b.a"],
    "smba": ["s.m.b.a.", "smba"],
    "fmba": ["f.m.b.a.", "fmba"],
}
_FORM_OF = {spelling: form for form, spellings in LEGAL_FORMS.items() for spelling in spellings}
# æ/ø/å and their spelled-out forms (ae/oe/aa) and simple forms (a/o) meet in one spelling.
_DANISH = [("æ", "ae"), ("ø", "oe"), ("å", "aa")]
_SPELLED = [("aa", "a"), ("oe", "o"), ("ae", "a")]
_FORM_SPELLINGS = pa.array(list(_FORM_OF))
_FORM_CANONICAL = pa.array(list(_FORM_OF.values()))


def _arrow(text: pd.Series) -> pa.Array:
    return pa.array(text.fillna("").astype(str).to_numpy(), type=pa.string())


def _fold(text: pa.Array, collapse: bool) -> pa.Array:
    """Lower case ASCII with æ/ø/å spelled out (accents stripped); collapse=True also folds
    the spelled-out forms to the simple ones (aa -> a, oe -> o, ae -> a), so all three
    spellings meet. Vectorised in Arrow: it runs over every distinct name of a year."""
    text = pc.utf8_lower(text)
    for letter, spelled in _DANISH:
        text = pc.replace_substring(text, letter, spelled)
    accented = pc.indices_nonzero(pc.invert(pc.string_is_ascii(text)))
    if len(accented):  # é, ü, ...: strip the accents, only where there are any
        stripped = pc.replace_substring_regex(
            pc.utf8_normalize(pc.take(text, accented), form="NFKD"), r"[^\x00-\x7f]", ""
        )
        values = text.to_numpy(zero_copy_only=False)
        values[accented.to_numpy()] = stripped.to_numpy(zero_copy_only=False)
        text = pa.array(values, type=pa.string())
    if collapse:
        for spelled, simple in _SPELLED:
            text = pc.replace_substring(text, spelled, simple)
    return text


def _split_legal_form(names: pa.Array) -> tuple[pa.Array, pa.Array]:
    text = pc.utf8_trim_whitespace(names)
    parts = pc.extract_regex(text, r"^(?P<head>.*\S)\s+(?P<last>\S+)$")  # null for a single word
    form = pc.take(_FORM_CANONICAL, pc.index_in(pc.utf8_lower(parts.field("last")), value_set=_FORM_SPELLINGS))
    return pc.if_else(pc.is_valid(form), parts.field("head"), text), pc.fill_null(form, "")


def split_legal_form(names: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(name without its legal form, canonical legal form or ''): the form is the last word."""
    bare, form = _split_legal_form(_arrow(names))
    return (
        pd.Series(bare.to_numpy(zero_copy_only=False), index=names.index, dtype=object),
        pd.Series(form.to_numpy(zero_copy_only=False), index=names.index, dtype=object),
    )


def _comparison_form(bare: pa.Array, collapse: bool) -> pa.Array:
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(_fold(bare, collapse), r"[^a-z0-9]+", " "))


def normalise_name(names: pd.Series, collapse: bool = True) -> pd.Series:
    """The comparison form of a name: folded, without legal form and punctuation. The
    collapsed form makes Møller, Moeller and Moller one; the uncollapsed one keeps a typo
    such as 'softwrae' one edit from 'software' (collapsing would make it two)."""
    bare, _ = _split_legal_form(_arrow(names))
    return pd.Series(_comparison_form(bare, collapse).to_numpy(zero_copy_only=False), index=names.index, dtype=object)


def name_forms(names: pd.Series) -> pd.DataFrame:
    """name_key (collapsed), name_wide (uncollapsed) and legal_form, computed once per
    distinct spelling (many rows share one), kept as Arrow strings."""
    codes, spellings = pd.factorize(names.fillna(""))
    bare, form = _split_legal_form(pa.array(spellings, type=pa.string()))
    rows = pa.array(codes)

    def per_row(distinct: pa.Array) -> pd.Series:
        return pd.Series(pc.take(distinct, rows), dtype=pd.ArrowDtype(pa.string()))

    return pd.DataFrame(
        {
            "name_key": per_row(_comparison_form(bare, True)),
            "name_wide": per_row(_comparison_form(bare, False)),
            "legal_form": per_row(form),
        }
    )


def normalise_address(addresses: pd.Series) -> pd.Series:
    codes, distinct = pd.factorize(addresses.fillna(""))  # fold each distinct address once
    folded = pc.replace_substring_regex(
        _fold(pa.array(np.asarray(distinct, dtype=object), type=pa.string()), True), r"[^a-z0-9]+", ""
    )
    return pd.Series(folded.to_numpy(zero_copy_only=False)[codes], index=addresses.index, dtype=object)


Values = str | frozenset | None  # a node's legal forms or addresses: most nodes write one


def _as_set(values: Values) -> frozenset:
    if values is None:
        return frozenset()
    return frozenset((values,)) if isinstance(values, str) else values


def _joined(a: Values, b: Values) -> Values:
    if a is None or a == b:
        return b
    return a if b is None else _as_set(a) | _as_set(b)


class OrganisationGroups:
    """Union-find over nodes that never joins two organisations the evidence tells apart:
    two different CVR numbers (any non-empty values), two different explicit legal forms (A/S
    is not ApS), or two clearly different street addresses (another street or house number);
    and, when groups are given (a bit mask per node, e.g. its year), two nodes of one group.
    State in lists by node, a single form or address as itself: at national scale millions
    of nodes take part."""

    def __init__(self, cvrs: list, forms: list[Values], addresses: list[Values], groups: list[int] | None = None):
        self.parent = list(range(len(cvrs)))
        self.cvr = list(cvrs)
        self.forms = forms  # only nodes that take part in a union need them
        self.addresses = addresses
        self.groups = groups

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def conflict(self, ra: int, rb: int) -> bool:
        if self.groups is not None and self.groups[ra] & self.groups[rb]:
            return True
        if self.cvr[ra] and self.cvr[rb] and self.cvr[ra] != self.cvr[rb]:
            return True
        return self._differ(ra, rb)

    def _differ(self, ra: int, rb: int) -> bool:
        fa, fb = self.forms[ra], self.forms[rb]
        if fa is not None and fb is not None and fa != fb and not _as_set(fa) & _as_set(fb):
            return True
        a, b = self.addresses[ra], self.addresses[rb]
        if a is None or b is None:
            return False
        return all(_addresses_differ(x, y) for x in _as_set(a) for y in _as_set(b))

    def union(self, a: int, b: int) -> bool:
        """Join a's and b's organisations unless the evidence tells them apart."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if self.conflict(ra, rb):
            return False  # refused: the evidence says two organisations
        self.parent[rb] = ra
        self.cvr[ra] = self.cvr[ra] or self.cvr[rb]
        self.forms[ra] = _joined(self.forms[ra], self.forms[rb])
        self.addresses[ra] = _joined(self.addresses[ra], self.addresses[rb])
        if self.groups is not None:
            self.groups[ra] |= self.groups[rb]
        return True


@dataclass
class Resolution:
    memberships: pd.DataFrame  # the input rows + company_id, match_rule, match_score
    companies: pd.DataFrame  # one row per resolved organisation


_NUMBERS = re.compile(r"\d+")


def _numbers(text: str) -> list[str]:
    return _NUMBERS.findall(text)


def _addresses_differ(a: str, b: str) -> bool:
    """Both known and clearly not the same place: another house number, or another street."""
    if not a or not b or a == b:
        return False
    return _numbers(a) != _numbers(b) or fuzz.ratio(a, b) < MIN_ADDRESS_SIMILARITY


def _entity_words(name: str) -> frozenset:
    return frozenset(name.split()) & ENTITY_WORDS


def _pairs_where(mask: np.ndarray, test, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """test(left[i], right[i]) for the pairs under the mask (Python per pair, so only where
    needed); False elsewhere."""
    out = np.zeros(len(mask), dtype=bool)
    where = np.flatnonzero(mask)
    out[where] = [test(left[i], right[i]) for i in where]
    return out


def spelling_block(spellings: pd.DataFrame) -> np.ndarray:
    """Where name candidates are searched: the same postal code and the same first two letters
    of the name key (a slip past the second letter still meets its original). An integer per
    block, in the order of the blocks' text ("postal|le"), so blocks sort as their text does."""
    prefix = pc.utf8_slice_codeunits(_text(spellings["name_key"]), 0, 2)
    block = pc.binary_join_element_wise(_text(spellings["postal"]), prefix, pa.scalar("|", pa.large_string()))
    return pd.factorize(pd.Series(block, dtype=pd.ArrowDtype(pa.string())), sort=True)[0]


def _text(column: pd.Series) -> pa.Array:
    """A text column as Arrow (no copy when Arrow holds it already; a Categorical's values)."""
    text = pa.array(column, from_pandas=True)
    if pa.types.is_dictionary(text.type):
        text = text.dictionary_decode()
    return text if pa.types.is_large_string(text.type) else text.cast(pa.large_string())


def _texts(spellings: pd.DataFrame, column: str, order: np.ndarray) -> pa.Array:
    """A text column in block order, as Arrow (Python strings are made a block at a time)."""
    return pc.take(_text(spellings[column]), pa.array(order))


def name_edges(spellings: pd.DataFrame) -> pd.DataFrame:
    """Pairs (query spelling without CVR, candidate spelling) in the same block whose names are
    within one edit and whose addresses do not clearly differ, with the name similarity.
    Blocks: postal code + first two letters of the name (spelling_block)."""
    order = np.argsort(np.asarray(spellings["block"]), kind="stable")
    block = np.asarray(spellings["block"])[order]
    starts = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
    ends = np.r_[starts[1:], len(block)]
    keys = {k: _texts(spellings, k, order) for k in ("name_key", "name_wide", "address_key")}
    is_query = spellings["cvr"].isna().to_numpy()[order]
    query_blocks = np.unique(np.searchsorted(starts, np.flatnonzero(is_query), side="right") - 1)
    found_q, found_c, found_d = [], [], []
    for b in query_blocks:
        lo, hi = starts[b], ends[b]
        if hi - lo < 2:
            continue
        q = np.flatnonzero(is_query[lo:hi])
        distance = np.minimum(
            *(
                process.cdist(
                    [names[i] for i in q.tolist()],
                    names,
                    scorer=OSA.distance,
                    score_cutoff=MAX_EDITS_SAME_ADDRESS,
                    workers=-1 if len(q) * (hi - lo) > PARALLEL_PAIRS else 1,
                )
                for k in ("name_key", "name_wide")
                for names in [keys[k].slice(lo, hi - lo).to_pylist()]
            )
        )
        qi, ci = np.nonzero(distance <= MAX_EDITS_SAME_ADDRESS)
        found_q.append(lo + q[qi])
        found_c.append(lo + ci)
        found_d.append(distance[qi, ci])
    if not found_q:
        return pd.DataFrame(
            {
                "query": pd.Series(dtype="int64"),
                "candidate": pd.Series(dtype="int64"),
                "score": pd.Series(dtype="float64"),
            }
        )
    q, c, d = np.concatenate(found_q), np.concatenate(found_c), np.concatenate(found_d)
    keep = q != c
    q, c, d = q[keep], c[keep], d[keep]

    def of_pairs(column: str, at: np.ndarray) -> np.ndarray:  # Python strings of the pairs found only
        return pc.take(keys[column], pa.array(at)).to_numpy(zero_copy_only=False)

    q_names, c_names = of_pairs("name_key", q), of_pairs("name_key", c)
    q_len = np.fromiter(map(len, q_names), dtype=np.int64, count=len(q))
    c_len = np.fromiter(map(len, c_names), dtype=np.int64, count=len(c))
    q_addr, c_addr = of_pairs("address_key", q), of_pairs("address_key", c)
    same_address = (q_addr == c_addr) & (q_addr != "")
    # a second slip is forgiven only at the very same address
    ok = (d <= MAX_EDITS) | (same_address & (np.minimum(q_len, c_len) >= MIN_LENGTH_SECOND_EDIT))
    ok &= (d == 0) | (np.minimum(q_len, c_len) >= MIN_FUZZY_LENGTH)
    # numbers in names are identifiers, not typing slips ("Syd2" is not "Syd6"); entity words
    # must agree (equal names agree on both, so only names with a slip are looked at)
    slipped = ok & (d > 0)
    ok &= ~_pairs_where(
        slipped, lambda a, b: _numbers(a) != _numbers(b) or _entity_words(a) != _entity_words(b), q_names, c_names
    )
    # same name, same town, but another street or house number: another company
    ok &= ~_pairs_where(ok & (q_addr != c_addr) & (q_addr != "") & (c_addr != ""), _addresses_differ, q_addr, c_addr)
    return pd.DataFrame(
        {
            "query": order[q[ok]],
            "candidate": order[c[ok]],
            "score": 1.0 - d[ok] / np.maximum(np.maximum(q_len, c_len)[ok], 1),
        }
    )


def _attach_to_cvr(edges: pd.DataFrame, nodes: pd.DataFrame, organisations: OrganisationGroups) -> dict[int, float]:
    """Each node without a CVR joins the CVR-holding node it fits best; a tie between
    different CVRs is broken by address, then legal form, else left alone."""
    scores: dict[int, float] = {}
    to_cvr = edges[pd.notna(nodes["cvr"].to_numpy()[edges["candidate"].to_numpy()])]
    if to_cvr.empty:
        return scores
    to_cvr = to_cvr.assign(
        cvr=nodes["cvr"].to_numpy()[to_cvr["candidate"]],
        same_address=nodes["address_key"].to_numpy()[to_cvr["query"]]
        == nodes["address_key"].to_numpy()[to_cvr["candidate"]],
        same_form=nodes["legal_form"].to_numpy()[to_cvr["query"]]
        == nodes["legal_form"].to_numpy()[to_cvr["candidate"]],
    )
    # per query and CVR, that CVR's best evidence; then per query its best and second-best CVR
    evidence = ["score", "same_address", "same_form"]
    ranked = to_cvr.sort_values(
        ["query", *evidence], ascending=[True, False, False, False], kind="stable"
    ).drop_duplicates(["query", "cvr"])
    top = ranked.drop_duplicates("query")
    second = ranked[ranked.duplicated("query")].drop_duplicates("query").set_index("query")
    runner_up = second.reindex(top["query"])[evidence].to_numpy()
    tied = (top[evidence].to_numpy() == runner_up).all(axis=1)
    # nothing decides between two companies: attach to neither
    for query, candidate, score in top.loc[~tied, ["query", "candidate", "score"]].itertuples(index=False):
        organisations.union(int(candidate), int(query))
        scores[int(query)] = float(score)
    return scores


def _majority(values: pd.Series, groups: pd.Series) -> pd.Series:
    """Most frequent non-null value per group; ties go to the smallest value (deterministic)."""
    present = values.notna().to_numpy()
    if not present.any():
        return pd.Series(dtype=object)
    group_codes, group_labels = pd.factorize(groups.to_numpy()[present])
    # factorised as they are stored (Arrow strings stay Arrow: no million Python strings)
    value_codes, value_labels = pd.factorize(values[present])
    rank = np.empty(len(value_labels), dtype=np.int64)  # each distinct value's place in sorted order
    rank[pc.sort_indices(pa.array(value_labels)).to_numpy()] = np.arange(len(value_labels))
    width = len(value_labels)
    pairs, counts = np.unique(group_codes.astype(np.int64) * width + rank[value_codes], return_counts=True)
    group_of, rank_of = pairs // width, pairs % width
    # per group: highest count first, then the smallest value
    order = np.lexsort((rank_of, -counts, group_of))
    first = order[np.r_[True, group_of[order][1:] != group_of[order][:-1]]]
    by_rank = np.empty(width, dtype=object)
    by_rank[rank] = np.asarray(value_labels, dtype=object)
    return pd.Series(by_rank[rank_of[first]], index=group_labels[group_of[first]])


def sets_per_node(values: pd.Series, node_of_row: np.ndarray, nodes: np.ndarray, n_nodes: int) -> list[Values]:
    """Per node (a list of n_nodes), for the given nodes the distinct non-empty values their rows
    give (legal forms, addresses): one value as itself, several as a frozenset, none as None."""
    wanted = np.isin(node_of_row, nodes) & values.notna().to_numpy() & (values != "").to_numpy()
    codes, labels = pd.factorize(values[wanted])  # each distinct value once as a Python string
    labels = np.asarray(labels, dtype=object)
    pairs = np.unique(node_of_row[wanted].astype(np.int64) * max(len(labels), 1) + codes)
    node, value = pairs // max(len(labels), 1), labels[pairs % max(len(labels), 1)]
    starts = np.flatnonzero(np.r_[True, node[1:] != node[:-1]]) if len(node) else np.array([], dtype=np.int64)
    ends = np.r_[starts[1:], len(node)].astype(np.int64)
    single = ends - starts == 1  # most nodes write one form and one address: no set for them
    sets: list[Values] = [None] * n_nodes
    for n, v in zip(node[starts[single]].tolist(), value[starts[single]].tolist()):
        sets[n] = v
    for start, end in zip(starts[~single].tolist(), ends[~single].tolist()):
        sets[int(node[start])] = frozenset(value[start:end].tolist())
    return sets


def _stable_id(node_key: str) -> str:
    """For an organisation without CVR: a hash of its most frequent normalised name, postal code and address."""
    return "N" + hashlib.sha1(node_key.encode()).hexdigest()[:11].upper()


def _nodes(cvr: pd.Series, name_key: pd.Series, postal: pd.Series, address_key: pd.Series) -> np.ndarray:
    """The node of each row: one per valid CVR, and one per distinct (name, postal code, address)
    without one; integer keys (no million-string concatenations)."""
    has_cvr = cvr.notna().to_numpy()
    name_code, postal_code, address_code = (
        pd.factorize(x)[0].astype(np.int64) for x in (name_key, postal, address_key)
    )
    location = (name_code * (postal_code.max(initial=0) + 1) + postal_code) * (
        address_code.max(initial=0) + 1
    ) + address_code
    node_of_row, _ = pd.factorize(np.where(has_cvr, -1 - pd.factorize(cvr)[0].astype(np.int64), location))
    return node_of_row


def spelling_table(
    node_of_row, forms: pd.DataFrame, postal: pd.Series, address_key: pd.Series, distinct: list[str]
) -> pd.DataFrame:
    """Candidate names: each node under every spelling it was written with (distinct over
    `distinct`), with the columns the name search compares."""
    spellings = pd.DataFrame(
        {
            "node": node_of_row,
            "name_key": forms["name_key"],
            "name_wide": forms["name_wide"],
            "postal": postal,
            "address_key": address_key,
            "legal_form": forms["legal_form"],
        }
    )
    return spellings.drop_duplicates(distinct).reset_index(drop=True)


def _spellings(node_of_row, forms: pd.DataFrame, postal: pd.Series, address_key: pd.Series, node_cvr: pd.Series):
    """Each node under every (name, postal code, form) it was written with, in its block."""
    spellings = spelling_table(node_of_row, forms, postal, address_key, ["node", "name_key", "postal", "legal_form"])
    spellings["cvr"] = node_cvr.reindex(spellings["node"]).to_numpy()
    spellings["block"] = spelling_block(spellings)
    return spellings


def _join_nodes(
    spellings: pd.DataFrame,
    node_of_row,
    node_cvr: pd.Series,
    legal_form: pd.Series,
    address_key: pd.Series,
    n_nodes: int,
) -> tuple[np.ndarray, dict[int, float]]:
    """Each node's organisation (its root) and the score that attached it: nodes without CVR join a
    CVR's organisation whose name fits, then each other (best evidence first), never bridging two CVRs."""
    edges = name_edges(spellings)
    # edges are between spelling rows; lift them to nodes
    cvr_edges = edges.assign(
        query=spellings["node"].to_numpy()[edges["query"]],
        candidate=spellings["node"].to_numpy()[edges["candidate"]],
    )
    cvr_edges = cvr_edges[cvr_edges["query"] != cvr_edges["candidate"]]
    by_node = spellings.drop_duplicates("node").set_index("node")
    involved = np.unique(np.r_[cvr_edges["query"].to_numpy(), cvr_edges["candidate"].to_numpy()])
    organisations = OrganisationGroups(
        [c if isinstance(c, str) else None for c in node_cvr.reindex(range(n_nodes))],
        sets_per_node(legal_form, node_of_row, involved, n_nodes),
        sets_per_node(address_key, node_of_row, involved, n_nodes),
    )
    node_table = pd.DataFrame(
        {
            "cvr": node_cvr.reindex(range(n_nodes)).to_numpy(),
            "address_key": by_node["address_key"].reindex(range(n_nodes)).to_numpy(),
            "legal_form": by_node["legal_form"].reindex(range(n_nodes)).to_numpy(),
        }
    )
    node_table["cvr"] = node_table["cvr"].where(node_table["cvr"].notna(), None)
    attached = _attach_to_cvr(cvr_edges[["query", "candidate", "score"]], node_table, organisations)
    unattached_pairs = cvr_edges[node_table["cvr"].isna().to_numpy()[cvr_edges["candidate"]]]
    for pair in unattached_pairs.sort_values("score", ascending=False, kind="stable").itertuples(index=False):
        if organisations.union(int(pair.candidate), int(pair.query)):
            attached[int(pair.query)] = max(attached.get(int(pair.query), 0.0), float(pair.score))
    return np.array([organisations.find(i) for i in range(n_nodes)]), attached


def resolve_companies(
    members: pd.DataFrame, municipalities: pd.DataFrame, sme_limit: float | None = None
) -> Resolution:
    """members: accepted members rows (cvr valid or null, name, address, postal_code,
    municipality_code, actor_type, employees, flags, cluster_id, lineage); an SME has fewer
    than sme_limit employees (the thresholds seed)."""
    rows = members.reset_index(drop=True)  # copy-on-write: the input is never changed
    forms = name_forms(rows["name"])
    name_key = forms["name_key"]
    address_key = normalise_address(rows["address"])
    postal = rows["postal_code"].fillna("").astype(str)
    cvr = rows["cvr"].where(rows["cvr"].notna(), None)
    has_cvr = cvr.notna().to_numpy()

    node_of_row = _nodes(cvr, name_key, postal, address_key)
    n_nodes = int(node_of_row.max(initial=-1)) + 1
    first = pd.Series(np.arange(len(rows))).groupby(node_of_row).first()
    node_cvr = pd.Series(cvr.to_numpy()[first.to_numpy()], index=first.index)
    spellings = _spellings(node_of_row, forms, postal, address_key, node_cvr)
    roots, attached = _join_nodes(spellings, node_of_row, node_cvr, forms["legal_form"], address_key, n_nodes)

    entity = pd.Series(roots[node_of_row])
    rows["_entity"] = entity
    # the seed of the id of an organisation without CVR (its rows have none)
    rows["_node_key"] = None
    plain = ~has_cvr
    rows.loc[plain, "_node_key"] = (
        "key:" + name_key[plain] + "|" + postal[plain] + "|" + address_key[plain]
    ).to_numpy()
    entity_size = entity.map(entity.value_counts())
    rows["match_rule"] = np.where(has_cvr, "cvr", np.where(entity_size > 1, "name_location", "single"))
    node_score = pd.Series(attached, dtype="float64").reindex(range(n_nodes)).fillna(1.0).to_numpy()
    rows["match_score"] = np.where(has_cvr, 1.0, np.where(entity_size > 1, node_score[node_of_row], 1.0))

    limit = seeds.sme_employee_limit() if sme_limit is None else sme_limit  # the seed, unless a caller says
    companies = _company_attributes(rows, municipalities, limit)
    rows["company_id"] = rows["_entity"].map(companies["company_id"])
    memberships = rows.drop(columns=["_entity", "_node_key"])
    return Resolution(memberships, companies.reset_index(drop=True))


def region_lookup(municipalities: pd.DataFrame) -> tuple[dict, pd.Series]:
    """(municipality code -> region code, main postal code -> municipality code, sorted)."""
    by_code = dict(zip(municipalities["municipality_code"].astype(str), municipalities["region_code"].astype(str)))
    by_postal = (
        municipalities.set_index(municipalities["main_postal_code"].astype(int))["municipality_code"]
        .astype(str)
        .sort_index()
    )
    return by_code, by_postal


def municipality_from_postal(postal: pd.Series, by_postal: pd.Series) -> pd.Series:
    """The municipality whose main postal code is nearest (Danish postal codes run by area)."""
    codes = pd.to_numeric(postal, errors="coerce")
    mains = by_postal.index.to_numpy()
    position = np.clip(np.searchsorted(mains, codes.fillna(0).to_numpy()), 1, len(mains) - 1)
    left, right = mains[position - 1], mains[position]
    nearest = np.where(np.abs(codes - left) <= np.abs(right - codes), left, right)
    return pd.Series(by_postal.loc[nearest].to_numpy(), index=postal.index).where(codes.notna())


def _company_attributes(rows: pd.DataFrame, municipalities: pd.DataFrame, sme_limit: float) -> pd.DataFrame:
    """One row per entity. Attribute rules: the CVR-holding rows' most frequent name spelling
    (all rows' when none holds one); the most frequent postal code, municipality and actor type;
    the most frequently reported number of employees; a flag is true if any membership says so."""
    g = rows["_entity"]
    cvr_rows = rows.loc[rows["cvr"].notna(), ["_entity", "cvr", "name"]]
    name = _majority(cvr_rows["name"], cvr_rows["_entity"]).combine_first(_majority(rows["name"], g))
    by_entity = rows.groupby("_entity", sort=False)
    companies = pd.DataFrame(
        {
            "cvr": cvr_rows.groupby("_entity", sort=False)["cvr"].first(),  # at most one per entity
            "name": name,
            "actor_type": _majority(rows["actor_type"], g),
            "postal_code": _majority(rows["postal_code"], g),
            "municipality_code": _majority(rows["municipality_code"], g),
            "employees": _majority(rows["employees"].astype("Int64").astype("float64"), g),
            "n_clusters": rows.drop_duplicates(["_entity", "cluster_id"])["_entity"].value_counts(),
        }
    ).join(by_entity[FLAGS].any())
    without_cvr = companies["cvr"].isna()
    # the node key only matters (as the id's seed) for organisations without a CVR
    seeded = g.isin(companies.index[without_cvr])
    companies["_node_key"] = _majority(rows.loc[seeded, "_node_key"], g[seeded])
    by_code, by_postal = region_lookup(municipalities)
    municipality = companies["municipality_code"].fillna(municipality_from_postal(companies["postal_code"], by_postal))
    companies["municipality_code"] = municipality
    companies["region_code"] = municipality.map(by_code)
    companies["employees"] = companies["employees"].round().astype("Int64")
    companies["sme"] = (companies["employees"] < sme_limit).astype("boolean")
    companies["company_id"] = "CVR" + companies["cvr"].astype(object).fillna("")
    companies.loc[without_cvr, "company_id"] = [_stable_id(k) for k in companies.loc[without_cvr, "_node_key"]]
    order = [
        "company_id",
        "actor_type",
        "cvr",
        "name",
        "postal_code",
        "municipality_code",
        "region_code",
        "employees",
        "sme",
        "n_clusters",
        *FLAGS,
    ]
    return companies[order]
