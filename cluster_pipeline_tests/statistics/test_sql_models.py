"""Each SQL model on small hand-made inputs: given these rows, the model returns exactly
these rows (in the spirit of dbt unit tests). Seeds are the real ones."""

import datetime as dt

import pandas as pd
import pytest

from cluster_pipeline.lib import tables
from cluster_pipeline.lib.statistics.sql_models import ModelError, load_models, refs_of, run_model
from cluster_pipeline.lib.vocabulary import FLAGS


def model(name):
    return load_models()[name]


def membership(cluster, company, actor="company", committed=True, **flags):
    return {
        "cluster_id": cluster,
        "company_id": company,
        "actor_type": actor,
        "committed_member": committed,
        **{f: flags.get(f, False) for f in FLAGS},
    }


def company(company_id, region="1084", sme=True, actor="company", **flags):
    return {
        "company_id": company_id,
        "actor_type": actor,
        "region_code": region,
        "sme": sme,
        **{f: flags.get(f, False) for f in FLAGS},
    }


def profile(cluster, label="gold", until=dt.date(2017, 6, 30), staff=2.0, region="1081"):
    return {
        "cluster_id": cluster,
        "cluster_name": f"Cluster {cluster}",
        "region_code": region,
        "label": label,
        "label_valid_until": until,
        "staff_fte": staff,
    }


def test_refs_are_read_from_the_jinja_syntax_tree():
    sql = "select * from {{ ref('a') }} join {{ ref(\"b\") }} {# {{ ref('c') }} #} join {{ ref('a') }}"
    assert refs_of(sql, "x.sql") == ("a", "b")


def test_a_computed_ref_is_refused():
    with pytest.raises(ModelError, match="one literal name"):
        refs_of("select * from {{ ref('a' ~ 'b') }}", "x.sql")


def test_models_run_in_dependency_order():
    order = list(load_models())
    assert order.index("clusters") < order.index("indicator_status")
    assert order.index("cluster_outcomes") < order.index("national_outcomes")


def test_clusters_judge_label_validity_composition_and_eligibility():
    members = pd.DataFrame(
        [membership("DK-CL-001", f"C{i}") for i in range(20)]
        + [membership("DK-CL-001", "K1", "knowledge_institution"), membership("DK-CL-001", "P1", "public_actor")]
        + [membership("DK-CL-002", f"C{i}", committed=i < 5) for i in range(25)]
    )
    profiles = pd.DataFrame(
        [
            profile("DK-CL-001"),
            profile("DK-CL-002", label="bronze", until=dt.date(2016, 6, 30), staff=0.5),
            profile("DK-CL-003", label="in_process", until=None),
        ]
    )
    result = run_model(model("clusters"), 2016, {"memberships": members, "accepted_profiles": profiles})
    got = result[
        [
            "cluster_id",
            "label_valid",
            "companies",
            "committed_companies",
            "knowledge_institutions",
            "public_actors",
            "triple_helix",
            "eligible",
        ]
    ].to_dict("records")
    assert got == [
        {
            "cluster_id": "DK-CL-001",
            "label_valid": True,
            "companies": 20,
            "committed_companies": 20,
            "knowledge_institutions": 1,
            "public_actors": 1,
            "triple_helix": True,
            "eligible": True,
        },
        {
            "cluster_id": "DK-CL-002",
            "label_valid": False,
            "companies": 25,
            "committed_companies": 5,
            "knowledge_institutions": 0,
            "public_actors": 0,
            "triple_helix": False,
            "eligible": False,
        },
        {
            "cluster_id": "DK-CL-003",
            "label_valid": False,
            "companies": 0,
            "committed_companies": 0,
            "knowledge_institutions": 0,
            "public_actors": 0,
            "triple_helix": False,
            "eligible": False,
        },
    ]
    assert [list(f) for f in result["eligibility_failures"]] == [
        [],
        ["committed_companies", "triple_helix", "staff_fte", "label"],
        ["committed_companies", "triple_helix"],
    ]


def test_a_label_is_valid_only_when_it_lasts_to_the_end_of_the_year():
    profiles = pd.DataFrame(
        [profile("DK-CL-001", until=dt.date(2016, 12, 31)), profile("DK-CL-002", until=dt.date(2016, 12, 30))]
    )
    result = run_model(
        model("clusters"),
        2016,
        {"memberships": pd.DataFrame([membership("DK-CL-001", "C1")]), "accepted_profiles": profiles},
    )
    assert result["label_valid"].tolist() == [True, False]


def test_cluster_outcomes_count_each_company_once_per_cluster_with_zero_rows():
    members = pd.DataFrame(
        [
            membership("DK-CL-001", "C1", new_products=True),
            membership("DK-CL-001", "C1", new_ideas=True),
            membership("DK-CL-001", "C2", new_products=True),
            membership("DK-CL-001", "K1", "knowledge_institution", new_products=True),
            membership("DK-CL-002", "C1"),
        ]
    )
    companies = pd.DataFrame(
        [company("C1", sme=True), company("C2", sme=False), company("K1", actor="knowledge_institution")]
    )
    profiles = pd.DataFrame([profile("DK-CL-001"), profile("DK-CL-002"), profile("DK-CL-003")])
    result = run_model(
        model("cluster_outcomes"), 2016, {"memberships": members, "companies": companies, "accepted_profiles": profiles}
    )
    got = result[["cluster_id", "companies", "companies_sme", "new_products", "new_products_sme", "new_ideas"]].to_dict(
        "records"
    )
    assert got == [
        {
            "cluster_id": "DK-CL-001",
            "companies": 2,
            "companies_sme": 1,
            "new_products": 2,
            "new_products_sme": 1,
            "new_ideas": 1,
        },
        {
            "cluster_id": "DK-CL-002",
            "companies": 1,
            "companies_sme": 1,
            "new_products": 0,
            "new_products_sme": 0,
            "new_ideas": 0,
        },
        {
            "cluster_id": "DK-CL-003",
            "companies": 0,
            "companies_sme": 0,
            "new_products": 0,
            "new_products_sme": 0,
            "new_ideas": 0,
        },
    ]


def test_national_outcomes_show_distinct_companies_beside_the_sum_of_clusters():
    companies = pd.DataFrame(
        [
            company("C1", new_products=True),
            company("C2", sme=False, new_products=True),
            company("K1", actor="knowledge_institution", new_products=True),
        ]
    )
    cluster_outcomes = pd.DataFrame(
        [{"cluster_id": "A", "new_products": 2}, {"cluster_id": "B", "new_products": 1}]
    ).assign(**{f: 0 for f in FLAGS if f != "new_products"})
    members = pd.DataFrame(
        [
            membership("A", "C1"),
            membership("A", "C1"),
            membership("A", "C2"),
            membership("B", "C1"),
            membership("A", "K1", "knowledge_institution"),
        ]
    )
    (row,) = run_model(
        model("national_outcomes"),
        2016,
        {"companies": companies, "cluster_outcomes": cluster_outcomes, "memberships": members},
    ).to_dict("records")
    assert (
        row["companies"],
        row["companies_sme"],
        row["new_products"],
        row["new_products_sme"],
        row["new_products_sum_of_clusters"],
        row["memberships"],
    ) == (2, 1, 2, 1, 3, 3)


def test_regional_outcomes_give_every_region_its_location_quotient():
    companies = pd.DataFrame(
        [
            company("A", "1084", new_products=True),
            company("B", "1084"),
            company("C", "1081", new_products=True),
            company("D", "1081"),
        ]
        + [company(f"E{i}", "1082") for i in range(4)]
    )
    result = run_model(model("regional_outcomes"), 2016, {"companies": companies})
    got = result[["region_code", "companies", "new_products", "share_innovating", "location_quotient"]]
    assert got["region_code"].tolist() == ["1081", "1082", "1083", "1084", "1085"]
    assert got["companies"].tolist() == [2, 4, 0, 2, 0]
    assert got["location_quotient"].tolist()[:2] == [2.0, 0.0] and got["location_quotient"].isna().tolist() == [
        False,
        False,
        True,
        False,
        True,
    ]
    assert got["share_innovating"].tolist()[0] == 0.5


def indicator_inputs(new_products, partnership, international, gold, silver, quotients):
    national = pd.DataFrame(
        [{"new_products": new_products, "partnership_project": partnership, "international_activity": international}]
    )
    regional = pd.DataFrame(
        {"region_code": ["1081", "1082"], "region_name": ["Nordjylland", "Midtjylland"], "location_quotient": quotients}
    )
    clusters = pd.DataFrame({"label": ["gold"] * gold + ["silver"] * silver, "label_valid": True})
    return {"national_outcomes": national, "regional_outcomes": regional, "clusters": clusters}


def test_indicator_status_met_on_track_and_not_met():
    result = run_model(model("indicator_status"), 2016, indicator_inputs(1800, 2100, 1500, 10, 3, [0.4, 1.5]))
    status = dict(zip(result["indicator_id"], result["status"]))
    # 2016 is half way from the 2014 baseline to the 2018 target
    assert status == {
        "innovation": "on_track",  # 1800 >= 1600 + (2000 - 1600) / 2
        "knowledge_partnerships": "not_met",  # 2100 < 1800 + (2500 - 1800) / 2 = 2150
        "internationalisation": "met",
        "excellence_labels_gold": "met",
        "excellence_labels_silver": "not_met",
        "regional_distribution": "not_met",  # lowest quotient 0.4 < 0.5
    }
    assert len(result) == 6


def test_regional_distribution_is_not_met_when_a_region_is_above_the_maximum():
    result = run_model(model("indicator_status"), 2016, indicator_inputs(0, 0, 0, 0, 0, [0.6, 2.1]))
    row = result.set_index("indicator_id").loc["regional_distribution"]
    assert (row["value"], row["status"]) == (0.6, "not_met")
    assert "highest 2.10 (Midtjylland)" in row["detail"]


def test_after_the_target_year_a_miss_is_not_met():
    result = run_model(model("indicator_status"), 2019, indicator_inputs(1999, 0, 0, 0, 0, [1.0, 1.0]))
    assert result.set_index("indicator_id").loc["innovation", "status"] == "not_met"


def outcome_inputs():
    members = pd.DataFrame([membership("DK-CL-001", "C1", new_products=True)])
    companies = pd.DataFrame([company("C1", new_products=True)])
    profiles = pd.DataFrame([profile("DK-CL-001")])
    return {"memberships": members, "companies": companies, "accepted_profiles": profiles}


def test_a_model_returning_a_column_its_yaml_does_not_declare_fails_loudly():
    declared = [c for c in tables.columns("cluster_outcomes") if c != "companies_sme"]

    with pytest.raises(ModelError, match=r"does not declare \(companies_sme\)"):
        run_model(model("cluster_outcomes"), 2016, outcome_inputs(), declared)


def test_a_model_lacking_a_declared_column_fails_loudly():
    declared = [*tables.columns("cluster_outcomes"), "share_of_nation"]

    with pytest.raises(ModelError, match=r"lacks declared ones \(share_of_nation\)"):
        run_model(model("cluster_outcomes"), 2016, outcome_inputs(), declared)


def test_a_model_returns_its_columns_in_the_order_its_yaml_declares():
    result = run_model(model("cluster_outcomes"), 2016, outcome_inputs(), tables.columns("cluster_outcomes"))

    assert list(result.columns) == tables.columns("cluster_outcomes")
