import json
from pathlib import Path

import great_expectations.expectations as gxe
import jsonschema
import open_data_contract_standard
import pytest
import yaml

from cluster_pipeline.lib.contracts.compiler import RuleInputs, compile_contract
from cluster_pipeline.lib.contracts.submissions import reference_data
from cluster_pipeline.lib.project_files import contracts_dir
from cluster_pipeline.lib.survey.model import ContractError, parse_contract
from cluster_pipeline.lib.survey.template import load_template

ODCS_SCHEMA = json.loads((Path(open_data_contract_standard.__file__).parent / "schema.json").read_text())


def members_document() -> dict:
    return yaml.safe_load((contracts_dir() / "members.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", ["members", "profile", "register"])
def test_contract_conforms_to_the_odcs_v3_1_json_schema(kind):
    document = yaml.safe_load((contracts_dir() / f"{kind}.yaml").read_text(encoding="utf-8"))
    assert ODCS_SCHEMA["properties"]["apiVersion"]["default"] == "v3.1.0"
    jsonschema.validate(document, ODCS_SCHEMA, cls=jsonschema.validators.validator_for(ODCS_SCHEMA))
    assert document["apiVersion"] == "v3.1.0"


def test_danish_header_aliases_live_in_the_contract():
    members = load_template().current("members", 2016)
    assert members.header_map["aktørtype"] == "actor_type"
    assert members.header_map["klynge_id"] == "cluster_id"


def test_an_unknown_custom_property_is_refused():
    document = members_document()
    document["schema"][0]["properties"][0]["customProperties"].append({"property": "mustBeUpperCase", "value": True})
    with pytest.raises(ContractError, match="mustBeUpperCase"):
        parse_contract(document)


def test_an_unknown_quality_metric_is_refused():
    document = members_document()
    document["schema"][0]["properties"][0]["quality"] = [{"type": "library", "metric": "duplicateValues", "mustBe": 0}]
    with pytest.raises(ContractError, match="duplicateValues"):
        parse_contract(document)


def test_an_unknown_logical_type_option_is_refused():
    document = members_document()
    document["schema"][0]["properties"][0]["logicalTypeOptions"]["maxLength"] = 9
    with pytest.raises(ContractError, match="maxLength"):
        parse_contract(document)


def test_a_foreign_key_without_its_keys_is_refused():
    with pytest.raises(ContractError, match="foreign key"):
        compile_contract(load_template().current("members", 2016), RuleInputs(2016, reference_data()))


def test_every_rule_compiles_to_a_great_expectations_expectation():
    contracts = {c.source: c for c in load_template().contracts}
    inputs = RuleInputs(2016, reference_data(), {"profile.cluster_id": {"DK-CL-001"}})
    for contract in contracts.values():
        rules = compile_contract(contract, inputs)
        for rule in rules:
            getattr(gxe, rule.expectation)(**rule.kwargs)  # constructs, or raises
        ids = [r.rule_id for r in rules]
        assert len(ids) == len(set(ids))
    member_rules = {r.rule_id for r in compile_contract(contracts["members.yaml"], inputs)}
    assert {
        "postal_code.range",
        "cluster_id.foreign_key",
        "municipality_code.reference",
        "new_ideas.boolean",
    } <= member_rules
