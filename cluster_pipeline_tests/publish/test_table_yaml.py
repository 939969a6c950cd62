"""What a published table means has one home, its YAML (dbt_like_sql/models/<table>.yml beside a
SQL model, dbt_like_sql/tables/<table>.yml otherwise): the loader's rules and what is read from it."""

from __future__ import annotations

import pytest

from cluster_pipeline.lib import seeds, tables
from cluster_pipeline.lib.statistics.sql_models import load_models
from cluster_pipeline.lib.survey.model import load_contract
from cluster_pipeline.lib.vocabulary import FLAGS

A_TABLE = """
version: 2
models:
- name: {name}
  description: A table for a test.
  meta: {{scope: year}}
  checks: {checks}
  columns:
  - name: cluster_id
    data_type: string
    label: {label}
    description: The cluster.
"""


def write_table(tmp_path, name="a_table", label="{en: Cluster, da: Klynge}", checks="[]"):
    path = tmp_path / f"{name}.yml"
    path.write_text(A_TABLE.format(name=name, label=label, checks=checks), encoding="utf-8")
    return path


def test_every_sql_model_has_a_yaml_beside_it():
    assert {name for name in load_models()} <= set(tables.published_tables())
    assert all(model.yaml_path.exists() for model in load_models().values())


def test_every_published_column_has_a_type_a_description_and_labels_in_english_and_danish():
    for table in tables.published_tables().values():
        for column in table.columns:
            assert column.description and column.label_en and column.label_da, (table.name, column.name)


def test_a_column_without_a_danish_label_is_an_error(tmp_path):
    with pytest.raises(tables.TableYamlError, match="label in English and Danish"):
        tables.load_table(write_table(tmp_path, label="{en: Cluster}"))


def test_a_number_in_a_check_name_is_an_error(tmp_path):
    checks = "[{name: at_least_5_firms, description: Five firms.}]"

    with pytest.raises(tables.TableYamlError, match="thresholds seed"):
        tables.load_table(write_table(tmp_path, checks=checks))


def test_the_outcome_columns_are_the_members_contracts_outcome_flags_in_its_order():
    national = tables.columns("national_outcomes")

    assert [c for c in national if c in FLAGS] == FLAGS
    assert tables.table("national_outcomes").column("new_products").label_da == "Nye produkter"


def test_a_members_column_published_as_it_is_takes_type_and_description_from_the_contract():
    contract = {c.name: c for c in load_contract("members.v2").columns}
    services = tables.table("memberships").column("services_used")

    assert services.data_type == "int64"
    assert services.description.startswith(contract["services_used"].description)


def test_a_threshold_in_a_check_description_is_the_seeds_value():
    check = tables.table("company_identities").checks["ids_stable_across_consecutive_years"]

    assert f"{seeds.thresholds()['min_identity_stability']:.1%}" in check.description


def test_every_check_on_a_published_table_is_declared_in_its_yaml_and_evaluated_by_an_asset():
    from cluster_pipeline.definitions import defs
    from cluster_pipeline.defs.operations.sensors import FRESH

    graph = defs.resolve_asset_graph()
    on_published = {
        (key.asset_key.to_user_string(), key.name)
        for key in graph.asset_check_keys
        if tables.is_published(key.asset_key.to_user_string())
        and key.name != FRESH  # operations: the same on every table it watches
    }
    declared = {(name, check) for name, table in tables.published_tables().items() for check in table.checks}

    assert on_published == declared
