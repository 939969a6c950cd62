import pandas as pd
import pytest

from cluster_pipeline.lib.contracts.submissions import (
    clusters_without_members,
    ingest_manifest,
    records_frame,
    unaccounted_files,
    validate_year,
)
from cluster_pipeline.lib.ingest.intake import intake_year
from cluster_pipeline.lib.survey import normalise
from cluster_pipeline.lib.survey.template import load_template
from cluster_pipeline_tests.files import (
    MEMBERS_HEADER_DA,
    PROFILE_HEADER,
    PROFILE_HEADER_DA,
    member,
    profile,
    write_csv,
)


def validated(folder, year=2016):
    template = load_template()
    return validate_year(intake_year(folder, template, year).cells, template, year)


def one_cluster(tmp_path, members, profiles=None, delimiter=";", encoding="cp1252"):
    write_csv(tmp_path / "2016" / "profil.csv", [PROFILE_HEADER_DA, *(profiles or [profile()])], delimiter, encoding)
    write_csv(tmp_path / "2016" / "medlemmer.csv", [MEMBERS_HEADER_DA, *members], delimiter, encoding)
    return validated(tmp_path / "2016")


@pytest.mark.parametrize(
    "cvr,valid",
    [
        ("12345674", True),
        ("12345675", False),
        ("02345678", False),
        ("1234567", False),
        ("\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0664", False),  # digits, but not a CVR's
    ],
)
@pytest.mark.parametrize("dtype", [object, "str"])
def test_cvr_modulus_11_check(cvr, valid, dtype):
    assert normalise.cvr_is_valid(pd.Series([cvr], dtype=dtype)).iloc[0] == valid


@pytest.mark.parametrize("written", ["12 34 56 74", "DK12345674", "DK-12345674", "dk 12345674", "12-34-56-74"])
def test_cvr_written_with_prefix_or_spaces_is_cleaned(tmp_path, written):
    result = one_cluster(tmp_path, [member(cvr=written)])
    row = result["members"].accepted.iloc[0]
    assert (row["cvr"], row["cvr_status"], row["cvr_raw"]) == ("12345674", "valid", written)


def test_a_cvr_failing_the_check_keeps_the_row_and_sets_the_number_aside(tmp_path):
    result = one_cluster(tmp_path, [member(cvr="12345647")])
    row = result["members"].accepted.iloc[0]
    assert pd.isna(row["cvr"]) and row["cvr_status"] == "invalid" and row["cvr_raw"] == "12345647"
    assert result["members"].quarantined.empty


def test_danish_values_become_english_and_blank_booleans_mean_no(tmp_path):
    result = one_cluster(tmp_path, [member(flags=("x", "", "JA", "nej", "0"), actor="Videninstitution")])
    row = result["members"].accepted.iloc[0]
    assert row["actor_type"] == "knowledge_institution"
    assert [
        row[f]
        for f in ("new_ideas", "new_competences", "new_products", "partnership_project", "international_activity")
    ] == [True, False, True, False, False]
    prof = result["profile"].accepted.iloc[0]
    assert (prof["label"], prof["region_code"], prof["staff_fte"]) == ("gold", "1082", 2.5)


@pytest.mark.parametrize("written", ["2017-12-31", "31-12-2017", "31.12.2017"])
def test_three_date_styles_are_read(tmp_path, written):
    result = one_cluster(tmp_path, [member()], [profile(until=written)])
    assert str(result["profile"].accepted.iloc[0]["label_valid_until"]) == "2017-12-31"


def test_a_postal_code_that_lost_its_leading_zero_is_padded(tmp_path):
    result = one_cluster(tmp_path, [member(postal="800")])
    assert result["members"].accepted.iloc[0]["postal_code"] == "0800"


def test_a_row_is_quarantined_with_every_rule_it_breaks(tmp_path):
    result = one_cluster(tmp_path, [member(), member(postal="12", committed="måske", employees="-1")])
    quarantined = result["members"].quarantined
    assert len(result["members"].accepted) == 1 and len(quarantined) == 1
    row = quarantined.iloc[0]
    assert (row["source_file"], row["source_row"]) == ("medlemmer.csv", 3)
    assert sorted(r.split(":")[0] for r in row["reasons"]) == [
        "committed_member.boolean",
        "employees.range",
        "postal_code.range",
    ]
    assert "'måske'" in " ".join(row["reasons"])


def test_members_of_a_cluster_without_accepted_profile_are_quarantined(tmp_path):
    result = one_cluster(tmp_path, [member(cluster="DK-CL-002")])
    assert result["members"].quarantined.iloc[0]["reasons"][0].startswith("cluster_id.foreign_key")


def test_the_reporting_year_must_equal_the_folder_year(tmp_path):
    result = one_cluster(tmp_path, [member(year="2015")])
    assert result["members"].quarantined.iloc[0]["reasons"][0].startswith("reporting_year.reporting_year")


def test_a_gold_label_needs_a_valid_until_date(tmp_path):
    write_csv(tmp_path / "2016" / "p.csv", [PROFILE_HEADER, ["DK-CL-001", "2016", "X", "1084", "Gold", "", "1.5", ""]])
    result = validated(tmp_path / "2016")
    assert result["profile"].quarantined.iloc[0]["reasons"] == [
        "label_valid_until.required_when: label_valid_until is required when label is gold, silver, bronze (got blank)"
    ]


def test_every_profiled_cluster_is_without_members_when_no_members_row_was_accepted():
    profiles = pd.DataFrame({"cluster_id": ["DK-CL-002", "DK-CL-001"], "cluster_name": ["Agro", "Aqua"]})
    members = pd.DataFrame({"cluster_id": pd.Series([], dtype=object)})
    assert clusters_without_members(profiles, members)["cluster_id"].tolist() == ["DK-CL-001", "DK-CL-002"]
    some = pd.DataFrame({"cluster_id": pd.Series(["DK-CL-001"], dtype="str")})
    assert clusters_without_members(profiles, some)["cluster_id"].tolist() == ["DK-CL-002"]


def test_a_lost_row_makes_the_file_unaccounted(tmp_path):
    one_cluster(tmp_path, [member(), member()])
    template = load_template()
    intake = intake_year(tmp_path / "2016", template, 2016)
    result = validate_year(intake.cells, template, 2016)
    files = records_frame(intake.files)
    complete = ingest_manifest(
        files, [result["members"].accepted, result["profile"].accepted], result["members"].quarantined
    )
    assert unaccounted_files(complete).empty
    lossy = ingest_manifest(
        files, [result["members"].accepted.iloc[1:], result["profile"].accepted], result["members"].quarantined
    )
    assert unaccounted_files(lossy)["source_file"].tolist() == ["medlemmer.csv"]
