"""Template versions: each reporting year's files validated by the contract version in force
(SURVEY_TEMPLATE.md, "Template versions"), on hand-made files and on the sample's 2016-2018."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from cluster_pipeline.cli import main
from cluster_pipeline.lib.contracts.compiler import RuleInputs, compile_contract
from cluster_pipeline.lib.contracts.pre_submission import as_text, batch_files, check_submission
from cluster_pipeline.lib.contracts.submissions import reference_data, validate_year
from cluster_pipeline.lib.ingest.intake import intake_year
from cluster_pipeline.lib.project_files import contracts_dir
from cluster_pipeline.lib.publish.parquet_store import read_partition
from cluster_pipeline.lib.survey.changes import contract_changes
from cluster_pipeline.lib.survey.template import load_template, load_template_from
from cluster_pipeline.sample_data.generate import OLD_LAYOUT_FILE
from cluster_pipeline.sample_data.truth import load_truth_rows
from cluster_pipeline_tests.files import MEMBERS_HEADER, PROFILE_HEADER, member, profile, write_csv

MEMBERS_HEADER_V2 = [
    *MEMBERS_HEADER[: MEMBERS_HEADER.index("committed_member")],
    "Medlemstype",
    "Ydelser brugt",
    *MEMBERS_HEADER[MEMBERS_HEADER.index("committed_member") + 1 :],
]


def member_v2(member_type="forpligtet", services="3", year="2018", **fields):
    """A members row in the version 2 layout (member_type and services_used in committed_member's place)."""
    row = member(year=year, **fields)
    at = MEMBERS_HEADER.index("committed_member")
    return [*row[:at], member_type, services, *row[at + 1 :]]


def one_year(folder, year, header, rows, template=None):
    write_csv(folder / str(year) / "profil.csv", [PROFILE_HEADER, profile(year=str(year))])
    write_csv(folder / str(year) / "medlemmer.csv", [header, *rows])
    template = template or load_template()
    intake = intake_year(folder / str(year), template, year)
    return intake, validate_year(intake.cells, template, year)


def record_of(intake, name="medlemmer.csv"):
    return next(r for r in intake.files if r.file.name == name)


# --- contracts and suites ---------------------------------------------------------------


def test_each_year_is_validated_by_the_version_in_force():
    template = load_template()
    assert [c.template_version for c in template.accepted("members", 2016)] == [1]
    assert [c.template_version for c in template.accepted("members", 2017)] == [2, 1]
    assert [c.template_version for c in template.accepted("members", 2018)] == [2]
    assert [template.version_in_force(y) for y in (2016, 2017, 2018)] == [1, 2, 2]


def test_version_1_and_2_compile_to_their_own_suites():
    v1, v2 = load_template().versions("members")
    inputs = RuleInputs(2017, reference_data(), {"profile.cluster_id": {"DK-CL-001"}})
    rules_1 = {r.rule_id for r in compile_contract(v1, inputs)}
    rules_2 = {r.rule_id for r in compile_contract(v2, inputs)}
    assert "committed_member.boolean" in rules_1 - rules_2
    assert {"member_type.allowed_values", "services_used.range", "services_used.required"} <= rules_2 - rules_1
    assert rules_1 & rules_2 >= {"postal_code.range", "cluster_id.foreign_key", "new_ideas.boolean"}


def test_version_2_holds_only_what_changed_from_version_1():
    document = (contracts_dir() / "members.v2.yaml").read_text(encoding="utf-8")
    assert "postal_code" not in document and "extends" in document
    v1, v2 = load_template().versions("members")
    assert v2.column("postal_code") == v1.column("postal_code")
    assert v2.boolean_spellings == v1.boolean_spellings


def test_the_changes_from_version_1_to_2_say_which_break_old_files():
    v1, v2 = load_template().versions("members")
    changes = {c.column: c for c in contract_changes(v1, v2)}
    assert changes["committed_member"].change == "replaced" and changes["committed_member"].by == "member_type"
    assert changes["services_used"].change == "added" and changes["services_used"].breaking
    assert all(c.breaking for c in changes.values())
    assert set(changes) == {"committed_member", "member_type", "services_used"}


@pytest.mark.parametrize("required", [False, True])
def test_a_column_added_breaks_old_files_only_when_it_is_required(tmp_path, required):
    shutil.copytree(contracts_dir(), tmp_path / "contracts")
    write_version_3(tmp_path / "contracts", required=required)
    _, v2, v3 = load_template_from(tmp_path / "contracts").versions("members")
    assert [(c.column, c.change, c.breaking) for c in contract_changes(v2, v3)] == [
        ("digital_services", "added", required)
    ]


# --- files ------------------------------------------------------------------------------


def test_a_version_2_file_publishes_member_type_services_used_and_the_derived_committed_member(tmp_path):
    rows = [
        member_v2("forpligtet", "3", name="Fjordtek A/S"),
        member_v2(" PARTICIPANT ", "0", name="Havtek ApS"),
        member_v2("Committed", "12", name="Skovtek ApS"),
    ]
    intake, result = one_year(tmp_path, 2018, MEMBERS_HEADER_V2, rows)
    accepted = result["members"].accepted.sort_values("source_row")
    assert accepted["member_type"].tolist() == ["committed", "participant", "committed"]
    assert accepted["services_used"].tolist() == [3, 0, 12]
    assert accepted["committed_member"].tolist() == [True, False, True]
    assert record_of(intake).template_version == 2 and not record_of(intake).reasons


def test_bad_values_in_the_version_2_columns_are_quarantined_with_their_rules(tmp_path):
    rows = [member_v2(services="-1"), member_v2(services="mange"), member_v2(services="150")]
    rows += [member_v2(services=""), member_v2(member_type="passiv")]
    _, result = one_year(tmp_path, 2018, MEMBERS_HEADER_V2, rows)
    reasons = [[r.split(":")[0] for r in reasons] for reasons in result["members"].quarantined["reasons"]]
    assert reasons == [
        ["services_used.range"],
        ["services_used.integer"],
        ["services_used.range"],
        ["services_used.required"],
        ["member_type.allowed_values"],
    ]


def test_a_version_1_file_in_the_transition_year_is_accepted_with_a_warning(tmp_path):
    intake, result = one_year(tmp_path, 2017, MEMBERS_HEADER, [member(year="2017", committed="ja")])
    record = record_of(intake)
    accepted = result["members"].accepted
    assert record.status == "ingested" and record.template_version == 1
    assert "template version 1" in record.reasons[0] and "from 2018 only version 2" in record.reasons[0]
    assert accepted["committed_member"].tolist() == [True]
    assert accepted["member_type"].tolist() == ["committed"]  # derived from committed_member
    assert accepted["services_used"].isna().all()


def test_a_version_1_file_after_the_transition_is_set_aside_naming_the_version_and_the_columns(tmp_path):
    intake, result = one_year(tmp_path, 2018, MEMBERS_HEADER, [member(year="2018")])
    record = record_of(intake)
    assert record.status == "quarantined" and record.template_version is None and record.rows_read == 1
    (reason,) = record.reasons
    assert "missing required column(s): member_type, services_used" in reason
    assert "follows template version 1" in reason and "replace column committed_member by member_type" in reason
    assert result["members"].accepted.empty


def test_a_later_version_column_in_an_earlier_year_is_an_unknown_column(tmp_path):
    header = [*MEMBERS_HEADER, "ydelser_brugt"]
    intake, result = one_year(tmp_path, 2016, header, [[*member(), "4"]])
    assert record_of(intake).ignored_columns == ["ydelser_brugt"]
    assert result["members"].accepted["services_used"].isna().all()


def test_a_version_2_file_in_a_version_1_year_is_set_aside_saying_which_version_it_follows(tmp_path):
    intake, _ = one_year(tmp_path, 2016, MEMBERS_HEADER_V2, [member_v2()])
    (reason,) = record_of(intake).reasons
    assert "missing required column(s): committed_member" in reason
    assert "follows template version 2 (in force from 2017)" in reason


def write_version_3(folder, required=False, from_year=2030):
    """A made-up version 3 of the members contract: one column added, in force from 2030."""
    (folder / "members.v3.yaml").write_text(
        f"""apiVersion: v3.1.0
kind: DataContract
id: urn:dk:cluster-pipeline:contract:members
name: members
version: 3.0.0
status: draft
customProperties:
  - property: templateVersion
    value: 3
  - property: reportingYears
    value: {{from: {from_year}}}
  - property: extends
    value: members.v2.yaml
schema:
  - name: members
    properties:
      - name: digital_services
        logicalType: integer
        required: {str(required).lower()}
        logicalTypeOptions:
          minimum: 0
        customProperties:
          - property: aliases
            value: [digitale_ydelser]
""",
        encoding="utf-8",
    )


def test_a_made_up_version_3_needs_only_a_contract_file_and_its_years(tmp_path):
    contracts = tmp_path / "contracts"
    shutil.copytree(contracts_dir(), contracts)
    write_version_3(contracts)
    template = load_template_from(contracts)
    header = [*MEMBERS_HEADER_V2, "digitale_ydelser"]
    rows = [[*member_v2(year="2030"), "2"], [*member_v2(year="2030", name="Havtek ApS"), "-3"]]
    intake, result = one_year(tmp_path / "landing", 2030, header, rows, template)
    assert record_of(intake).template_version == 3 and not record_of(intake).ignored_columns
    accepted, quarantined = result["members"].accepted, result["members"].quarantined
    assert accepted["digital_services"].tolist() == [2] and accepted["services_used"].tolist() == [3]
    assert [r.split(":")[0] for r in quarantined["reasons"].iloc[0]] == ["digital_services.range"]
    # a year before version 3 is in force reads the same column as unknown
    intake, _ = one_year(tmp_path / "earlier", 2029, header, rows[:1], template)
    assert record_of(intake).template_version == 2 and record_of(intake).ignored_columns == ["digitale_ydelser"]


# --- the pre-submission check and the CLI -----------------------------------------------


def test_the_check_tells_which_version_a_file_follows(tmp_path):
    files = [
        write_csv(tmp_path / "profil.csv", [PROFILE_HEADER, profile(year="2018")]),
        write_csv(tmp_path / "medlemmer.csv", [MEMBERS_HEADER_V2, member_v2(year="2018")]),
    ]
    check = check_submission(batch_files(files))
    assert {f.file: f.template_version for f in check.files} == {"profil.csv": 2, "medlemmer.csv": 2}
    assert "medlemmer.csv: members, template version 2" in as_text(check)


def test_the_check_of_a_version_1_file_in_2018_says_which_columns_to_add_and_rename(tmp_path, capsys):
    files = [
        write_csv(tmp_path / "profil.csv", [PROFILE_HEADER, profile(year="2018")]),
        write_csv(tmp_path / "medlemmer.csv", [MEMBERS_HEADER, member(year="2018")]),
    ]
    assert main(["check", *map(str, files)]) == 2
    text = capsys.readouterr().out
    assert "follows template version 1" in text
    assert "replace column committed_member by member_type" in text and "add column(s) services_used" in text


def test_contracts_diff_lists_the_changes_between_versions_column_by_column(capsys):
    assert main(["contracts", "diff"]) == 0
    text = capsys.readouterr().out
    assert "members: template version 1 -> 2" in text
    assert "committed_member: replaced (breaking)" in text
    assert "services_used: added (breaking)" in text
    assert "profile: unchanged" in text


# --- the sample's 2016-2018 -------------------------------------------------------------


def published_rows(run, year):
    memberships = read_partition(run.output, "memberships", year)
    memberships["source_sheet"] = memberships["source_sheet"].astype("string")
    truth = load_truth_rows(run.landing, year)
    return memberships.merge(truth, on=["source_file", "source_sheet", "source_row"], suffixes=("", "_true"))


@pytest.mark.parametrize("year", [2017, 2018])
def test_every_sample_version_2_row_publishes_its_services_and_member_type_exactly(five_years, year):
    rows = published_rows(five_years[year], year)
    v2 = rows[rows["template_version"] == 2]
    assert len(v2) > 15_000
    assert (v2["services_used"].astype(int) == v2["services_used_true"].astype(int)).all()
    assert (v2["member_type"] == v2["member_type_true"]).all()
    assert (v2["committed_member"] == (v2["member_type"] == "committed")).all()
    v1 = rows[rows["template_version"] == 1]
    assert v1["services_used"].isna().all()
    assert (v1["member_type"] == v1["committed_member"].map({True: "committed", False: "participant"})).all()
    assert v1.empty if year == 2018 else len(v1) > 100


def test_the_sample_version_1_files_of_2017_are_ingested_as_version_1_with_a_warning(five_years):
    run = five_years[2017]
    manifest = read_partition(run.output, "ingest_manifest", 2017)
    old = manifest[manifest["template_version"] == 1]
    assert len(old) == 2 and (old["status"] == "ingested").all()
    assert old["reason"].str.contains("layout of template version 1: accepted in 2017").all()
    ingested = manifest[manifest["status"].isin(["ingested", "superseded"])]
    assert set(ingested["template_version"]) == {1, 2}
    (check,) = [c for c in run.outcome.checks if c.check_name == "files_follow_the_template_in_force"]
    assert not check.passed and "cleantech_2017.xlsx" in check.metadata["files"].value


def test_the_sample_version_1_file_of_2018_is_set_aside_naming_the_version_and_the_columns(five_years):
    run = five_years[2018]
    manifest = read_partition(run.output, "ingest_manifest", 2018).set_index("source_file")
    entry = manifest.loc[OLD_LAYOUT_FILE["source_file"]]
    assert entry["status"] == "quarantined" and entry["rows_read"] == 20 and pd.isna(entry["template_version"])
    assert "follows template version 1" in entry["reason"]
    assert all(column in entry["reason"].split("follows")[0] for column in OLD_LAYOUT_FILE["missing"])


@pytest.mark.parametrize("year", [2016, 2017, 2018])
def test_service_intensity_matches_the_truth(five_years, year):
    run = five_years[year]
    found = read_partition(run.output, "service_intensity", year)
    truth = run.truth["service_intensity"]
    if truth is None:  # a year without version 2 files
        assert found.empty
        return
    assert found["band"].tolist() == ["0", "1-2", "3-5", "6+", "unknown"]
    for band in found.itertuples():
        expected = truth[band.band]
        # counts pass through matching, as every company count does (see test_sample_statistics.close)
        assert abs(band.companies - expected["companies"]) <= max(2, 0.001 * expected["companies"]), band.band
        assert abs(band.new_products - expected["new_products"]) <= 2, band.band
    shares = found.set_index("band")["new_products_share"]
    assert shares["0"] < shares["1-2"] < shares["3-5"] < shares["6+"]  # the planted association
    assert (found.set_index("band").loc["unknown", "companies"] > 0) == (year == 2017)


@pytest.mark.parametrize("year", [2016, 2017, 2018])
def test_eligibility_counts_committed_companies_in_either_version(five_years, year):
    run = five_years[year]
    clusters = read_partition(run.output, "clusters", year).set_index("cluster_id")
    for cluster_id, expected in run.truth["clusters"].items():
        found = clusters.loc[cluster_id]
        assert abs(found["committed_companies"] - expected["committed_companies"]) <= 2, cluster_id
        assert bool(found["eligible"]) == expected["eligible"], cluster_id


def test_the_report_shows_service_intensity_with_its_caveat(five_years):
    report = (five_years[2018].output / "reports" / "2018.html").read_text(encoding="utf-8")
    assert "members who used more services report more outcomes" in report.lower()
    assert "association, not an effect" in report
    assert json.dumps("6+") in report or "6+" in report
