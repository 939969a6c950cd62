"""One id per organisation across years, on small hand-made cases, one behaviour each."""

import numpy as np
import pandas as pd

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.companies.identities import (
    apply_ids,
    ids_not_current,
    ids_with_two_cvrs,
    link_years,
    node_edges,
    year_evidence,
)
from cluster_pipeline.lib.companies.resolution import (
    name_edges,
    name_forms,
    normalise_address,
    resolve_companies,
    spelling_block,
    spelling_table,
)
from cluster_pipeline.sample_data.organisations import build_universe
from cluster_pipeline.sample_data.years import accepted_member_rows
from cluster_pipeline_tests.companies.test_entity_resolution import row

MUNICIPALITIES = seeds.municipalities()


def resolved(*rows) -> pd.DataFrame:
    return resolve_companies(pd.DataFrame(rows), MUNICIPALITIES).memberships


def ids_by_year(years: dict[int, pd.DataFrame], previous=None) -> tuple[dict[int, list[str]], pd.DataFrame]:
    identities = link_years(years, previous)
    return (
        {year: apply_ids(rows, identities.ids, year)["company_id"].tolist() for year, rows in years.items()},
        identities.table,
    )


def test_a_cvr_given_in_2016_only_gives_the_same_id_in_2017():
    ids, _ = ids_by_year({2016: resolved(row("Fjordtek A/S", "12345674")), 2017: resolved(row("Fjordtek A/S"))})
    assert ids[2016] == ids[2017] == ["CVR12345674"]


def test_a_cvr_given_in_some_clusters_only_is_followed_into_years_without_it():
    ids, _ = ids_by_year(
        {
            2016: resolved(row("Fjordtek A/S"), row("Fjordtek A/S", "12345674", cluster="DK-CL-002")),
            2017: resolved(row("Fjordtek A/S")),
        }
    )
    assert set(ids[2016]) == set(ids[2017]) == {"CVR12345674"}


def test_an_organisation_that_never_gives_a_cvr_keeps_its_first_years_id():
    years = {2016: resolved(row("Fjordtek")), 2017: resolved(row("Fjordtek")), 2018: resolved(row("Fjordtek"))}
    ids, _ = ids_by_year(years)
    assert ids[2016] == ids[2017] == ids[2018]
    assert ids[2016][0].startswith("N")


def test_a_spelling_that_drifts_between_years_keeps_the_id():
    ids, _ = ids_by_year(
        {2016: resolved(row("Ravnsoftware Scandinavia ApS")), 2017: resolved(row("Ravnsoftwrae Scandinavia ApS"))}
    )
    assert ids[2016] == ids[2017]


def test_a_company_that_moves_keeps_its_id_by_its_cvr():
    ids, _ = ids_by_year(
        {
            2016: resolved(row("Fjordtek A/S", "12345674", postal="8000", address="Havnevej 1")),
            2017: resolved(row("Fjordtek A/S", "12345674", postal="5000", municipality="461", address="Skovvej 9")),
        }
    )
    assert ids[2016] == ids[2017]


def test_different_legal_forms_in_one_town_stay_apart_across_years():
    ids, _ = ids_by_year(
        {
            2016: resolved(row("SundhedNordic I/S", "12345674", address="Havnevej 1")),
            2017: resolved(row("SundhedNordic P/S", address="Havnevej 9")),
        }
    )
    assert ids[2016] != ids[2017]


def test_two_companies_of_one_year_never_share_an_id_through_other_years():
    # 2017 lists both spellings as two companies; 2016's single row fits both
    ids, _ = ids_by_year(
        {
            2016: resolved(row("Kronetek Hansen", address="")),
            2017: resolved(
                row("Kronetek Hansen ApS", address="Havnevej 1"), row("Kronetek Hansen IVS", address="Skovvej 40")
            ),
        }
    )
    assert len(set(ids[2017])) == 2


def test_a_merge_caused_by_a_later_year_leaves_the_old_id_pointing_to_the_new_one():
    first = {2016: resolved(row("Fjordtek A/S"))}
    old_ids, old_table = ids_by_year(first)
    (old_id,) = old_ids[2016]
    new_ids, table = ids_by_year({**first, 2017: resolved(row("Fjordtek A/S", "12345674"))}, previous=old_table)
    assert new_ids[2016] == new_ids[2017] == ["CVR12345674"]
    former = table.set_index("company_id").loc[old_id]
    assert former["current_id"] == "CVR12345674"


def test_the_ids_do_not_depend_on_the_order_the_years_arrive_in():
    years = {
        2016: resolved(row("Fjordtek A/S"), row("Møller Elektronik", address="Holmsvej 66")),
        2017: resolved(row("Fjordtek A/S", "12345674"), row("Moller Elektronik", address="Holmsvej 66")),
        2018: resolved(row("Fjordtek", address="")),
    }
    in_order, _ = ids_by_year(years)
    newest_first, _ = ids_by_year(dict(reversed(list(years.items()))))
    assert in_order == newest_first


def test_every_id_in_the_table_points_to_a_current_id():
    _, table = ids_by_year(
        {
            2016: resolved(row("Fjordtek A/S"), row("Olsen Data ApS")),
            2017: resolved(row("Fjordtek A/S", "12345674"), row("Olsen Data ApS")),
        }
    )
    current = set(table.loc[table["company_id"] == table["current_id"], "company_id"])
    assert set(table["current_id"]) <= current
    assert table["company_id"].is_unique


def test_the_known_ids_check_finds_a_published_id_merged_away_or_never_an_identity():
    identities = pd.DataFrame({"company_id": ["CVR12345674", "N-merged"], "current_id": ["CVR12345674"] * 2})
    published = pd.Series(["CVR12345674", "N-merged", "N-unknown", "CVR12345674"], dtype="str")
    assert ids_not_current(published, identities) == ["N-merged", "N-unknown"]
    assert ids_not_current(published.iloc[[0, 3]], identities) == []


def test_the_two_cvr_check_finds_an_id_standing_for_two_cvrs():
    years = {2016: resolved(row("Fjordtek A/S", "12345674")), 2017: resolved(row("Fjordtek A/S", "87654329"))}
    forced = pd.DataFrame({"year": [2016, 2017], "local_id": ["CVR12345674", "CVR87654329"], "company_id": ["X", "X"]})
    assert ids_with_two_cvrs(forced, years) == ["X"]
    assert ids_with_two_cvrs(link_years(years).ids, years) == []


def sample_years(scale: float = 0.5, years=(2014, 2015, 2016)) -> dict[int, pd.DataFrame]:
    """Resolved sample years, with the generator's slips, shared spellings and CVR gaps."""
    universe = build_universe(np.random.default_rng(7), scale, list(years))
    return {
        year: resolved_frame(accepted_member_rows(universe, year, years[0], scale, 7).drop(columns=["entity"]))
        for year in years
    }


def resolved_frame(rows: pd.DataFrame) -> pd.DataFrame:
    return resolve_companies(rows, MUNICIPALITIES).memberships


def test_linking_each_years_distinct_spellings_gives_the_identities_of_all_its_rows():
    years = sample_years()
    from_rows = link_years(years)
    from_spellings = link_years({year: year_evidence(rows) for year, rows in years.items()})
    assert sum(map(len, map(year_evidence, years.values()))) < sum(map(len, years.values()))
    pd.testing.assert_frame_equal(from_rows.ids, from_spellings.ids)
    pd.testing.assert_frame_equal(from_rows.table, from_spellings.table)
    assert from_rows.stability == from_spellings.stability


def test_comparing_each_distinct_spelling_once_finds_the_edges_of_comparing_every_nodes_spellings():
    rows = pd.concat([rows.assign(year=year) for year, rows in sample_years().items()], ignore_index=True)
    node_of_row, _ = pd.factorize(rows["year"].astype(str) + "|" + rows["company_id"])
    node_cvr = rows.groupby(node_of_row)["cvr"].first().astype(object).to_numpy()
    forms = name_forms(rows["name"])
    postal = rows["postal_code"].fillna("")
    spellings = spelling_table(
        node_of_row, forms, postal, normalise_address(rows["address"]), ["node", "name_key", "postal", "address_key"]
    )
    every = spellings.assign(cvr=node_cvr[spellings["node"]], block=lambda s: spelling_block(s))
    found = name_edges(every)
    expected = pd.DataFrame(
        {
            "query": every["node"].to_numpy()[found["query"]],
            "candidate": every["node"].to_numpy()[found["candidate"]],
            "score": found["score"].to_numpy(),
        }
    )
    distinct = node_edges(spellings, node_cvr)
    assert len(distinct) == len(expected) > 0
    key = ["query", "candidate", "score"]
    pd.testing.assert_frame_equal(
        distinct.sort_values(key).reset_index(drop=True), expected.sort_values(key).reset_index(drop=True)
    )
