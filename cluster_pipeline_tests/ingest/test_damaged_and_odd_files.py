"""Files as a share, a transfer or a mail program leave them: a name in the wrong character set,
a pasted blob in one cell, a region of NUL bytes, a compressed submission, symbolic links. Each
costs only what is damaged: a year never fails for a file, a file never for a row."""

from __future__ import annotations

import gzip
import os
import zipfile

import pyarrow as pa

from cluster_pipeline.lib.contracts.submissions import records_frame, validate_year
from cluster_pipeline.lib.ingest.intake import intake_year
from cluster_pipeline.lib.ingest.landing import MAX_CELL_CHARACTERS
from cluster_pipeline.lib.survey.template import load_template
from cluster_pipeline_tests.files import (
    MEMBERS_HEADER,
    PROFILE_HEADER,
    member,
    profile,
    write_csv,
    write_xlsx,
    write_zip_bomb,
)

ROWS = [member(name=f"Firma {i} ApS") for i in range(6)]


def csv_bytes(rows: list[list[str]]) -> bytes:
    return ("\n".join(",".join(row) for row in rows) + "\n").encode("utf-8")


def intake(folder):
    return intake_year(folder, load_template(), 2016)


def members_of(folder):
    """The members rows validated beside their cluster's profile (members rows need it)."""
    write_csv(folder / "profil.csv", [PROFILE_HEADER, profile()])
    template = load_template()
    return validate_year(intake(folder).cells, template, 2016)["members"]


def record(folder, name: str):
    return next(r for r in intake(folder).files if r.file.name == name)


def test_a_file_name_with_a_byte_that_is_not_utf8_is_listed_with_an_escape_and_its_rows_read(tmp_path):
    folder = tmp_path / "2016"
    write_csv(folder / "profil.csv", [PROFILE_HEADER, profile()])
    os.makedirs(folder, exist_ok=True)
    with open(os.fsencode(folder) + b"/medlemmer_\xe6ndret.csv", "wb") as handle:
        handle.write(csv_bytes([MEMBERS_HEADER, *ROWS]))
    found = intake(folder)
    names = sorted(r.file.name for r in found.files)
    assert names == ["medlemmer_\\xe6ndret.csv", "profil.csv"]
    assert len(found.cells["members"]) == len(ROWS)
    pa.Table.from_pandas(records_frame(found.files))  # the manifest is written as UTF-8 text


def test_an_oversized_cell_quarantines_its_row_saying_the_size_and_the_other_rows_are_read(tmp_path):
    blob = "x" * 3_000_000
    write_csv(tmp_path / "2016" / "medlemmer.csv", [MEMBERS_HEADER, *ROWS, member(name=blob)])
    members = members_of(tmp_path / "2016")
    assert len(members.accepted) == len(ROWS)
    (reasons,) = members.quarantined["reasons"]
    assert any(
        f"holds 3,000,000 characters, more than a spreadsheet cell holds ({MAX_CELL_CHARACTERS:,})" in r
        for r in reasons
    )
    assert len(members.quarantined["record"].iloc[0]) < 1000  # the record keeps the start of the cell, not the blob


def test_nul_bytes_inside_a_csv_quarantine_the_rows_they_touch_and_the_record_says_where(tmp_path):
    raw = csv_bytes([MEMBERS_HEADER, *ROWS])
    lines = raw.split(b"\n")
    lines[3] = lines[3][:10] + b"\x00" * 4096 + lines[3][10:]  # row 4 (header is row 1)
    (tmp_path / "2016").mkdir()
    (tmp_path / "2016" / "medlemmer.csv").write_bytes(b"\n".join(lines))
    members = members_of(tmp_path / "2016")
    assert len(members.accepted) == len(ROWS) - 1
    assert members.quarantined["source_row"].tolist() == [4]
    assert "line 4 held 4,096 NUL bytes" in members.quarantined["reasons"].iloc[0][0]
    notes = " ".join(record(tmp_path / "2016", "medlemmer.csv").reasons)
    assert "damaged: NUL bytes on 1 line(s), line 4 (4,096 bytes)" in notes


def test_a_csv_damaged_on_most_of_its_lines_is_set_aside_whole(tmp_path):
    (tmp_path / "2016").mkdir()
    lines = csv_bytes([MEMBERS_HEADER, *ROWS]).split(b"\n")
    damaged = [lines[0]] + [line + b"\x00\x00" for line in lines[1:]]
    (tmp_path / "2016" / "medlemmer.csv").write_bytes(b"\n".join(damaged))
    found = record(tmp_path / "2016", "medlemmer.csv")
    assert found.status == "quarantined" and "damaged beyond its rows" in found.reasons[0]


def test_a_csv_sent_gzipped_is_read_as_the_file_inside(tmp_path):
    (tmp_path / "2016").mkdir()
    (tmp_path / "2016" / "medlemmer.csv.gz").write_bytes(gzip.compress(csv_bytes([MEMBERS_HEADER, *ROWS])))
    found = intake(tmp_path / "2016")
    statuses = {r.file.name: r.status for r in found.files}
    assert statuses == {"medlemmer.csv.gz": "ignored", "medlemmer.csv.gz/medlemmer.csv": "ingested"}
    assert len(found.cells["members"]) == len(ROWS)
    assert set(found.cells["members"]["source_file"]) == {"medlemmer.csv.gz/medlemmer.csv"}


def test_a_zip_of_a_csv_and_a_workbook_is_read_as_the_files_inside(tmp_path):
    workbook = write_xlsx(tmp_path / "klynge.xlsx", {"members": [MEMBERS_HEADER, *ROWS[:2]]})
    (tmp_path / "2016").mkdir()
    with zipfile.ZipFile(tmp_path / "2016" / "indsendelse.zip", "w") as archive:
        archive.writestr("profil.csv", csv_bytes([PROFILE_HEADER, profile()]))
        archive.write(workbook, "klynge.xlsx")
    found = intake(tmp_path / "2016")
    assert {r.file.name: r.status for r in found.files} == {
        "indsendelse.zip": "ignored",
        "indsendelse.zip/profil.csv": "ingested",
        "indsendelse.zip/klynge.xlsx": "ingested",
    }
    assert len(found.cells["members"]) == 2 and len(found.cells["profile"]) == 1


def test_an_archive_inside_an_archive_is_set_aside_saying_what_to_send(tmp_path):
    (tmp_path / "inner.zip").write_bytes(b"")
    with zipfile.ZipFile(tmp_path / "inner.zip", "w") as inner:
        inner.writestr("medlemmer.csv", csv_bytes([MEMBERS_HEADER, *ROWS]))
    (tmp_path / "2016").mkdir()
    with zipfile.ZipFile(tmp_path / "2016" / "outer.zip", "w") as outer:
        outer.write(tmp_path / "inner.zip", "inner.zip")
    found = record(tmp_path / "2016", "outer.zip/inner.zip")
    assert found.status == "quarantined" and "an archive inside the archive outer.zip" in found.reasons[0]
    assert "send the files in it" in found.reasons[0]


def test_a_zip_bomb_sent_as_a_submission_is_set_aside_before_it_is_unpacked(tmp_path):
    (tmp_path / "2016").mkdir()
    write_zip_bomb(tmp_path / "2016" / "medlemmer.zip", 300)
    found = intake(tmp_path / "2016")
    (archive,) = found.files
    assert archive.status == "quarantined" and "bomb suspected" in archive.reasons[0]


def test_symbolic_links_are_listed_as_not_followed(tmp_path):
    folder = tmp_path / "2016"
    write_csv(folder / "medlemmer.csv", [MEMBERS_HEADER, *ROWS])
    os.symlink("/", folder / "rod")
    os.symlink(folder / "loop", folder / "loop")
    os.symlink(folder / "medlemmer.csv", folder / "kopi.csv")
    found = intake(folder)
    links = {r.file.name: r for r in found.files if r.file.name != "medlemmer.csv"}
    assert set(links) == {"rod", "loop", "kopi.csv"}
    assert all(r.status == "ignored" and "a symbolic link" in r.reasons[0] for r in links.values())
    assert "(to /)" in links["rod"].reasons[0]
    assert len(found.cells["members"]) == len(ROWS)  # the file itself, once


def test_a_year_with_a_file_name_in_the_wrong_character_set_is_published(tmp_path):
    import dagster as dg

    from cluster_pipeline.lib.publish.parquet_store import read_partition
    from cluster_pipeline_tests.files import cluster_batch
    from cluster_pipeline_tests.runs import run_in_order

    folder = tmp_path / "landing" / "2016"
    cluster_batch(folder, 1)
    os.rename(folder / "medlemmer.csv", os.fsencode(folder) + b"/medlemmer_\xe6ndret.csv")
    with dg.instance_for_test() as instance:
        outcome = run_in_order(tmp_path / "landing", tmp_path / "out", [2016], instance, tmp_path / "no_register")
    assert outcome.years[2016].success, outcome.years[2016].errors
    manifest = read_partition(tmp_path / "out", "ingest_manifest", 2016)
    assert "medlemmer_\\xe6ndret.csv" in set(manifest["source_file"])
    quarantine = read_partition(tmp_path / "out", "quarantine", 2016)
    assert set(quarantine["source_file"]) == {"medlemmer_\\xe6ndret.csv"}


def test_the_check_command_names_a_file_in_the_wrong_character_set_with_an_escape(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    path = os.fsencode(tmp_path) + b"/medlemmer_\xe6ndret.csv"
    with open(path, "wb") as handle:
        handle.write(csv_bytes([MEMBERS_HEADER, *ROWS]))
    done = subprocess.run(
        [Path(sys.executable).parent / "cluster-pipeline", "check", "--format", "json", path],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr.decode(errors="replace")[-2000:]
    assert b"medlemmer_\\\\xe6ndret.csv" in done.stdout  # JSON escapes the backslash


def test_an_encrypted_zip_is_set_aside_saying_to_send_it_without_a_password(tmp_path):
    (tmp_path / "2016").mkdir()
    archive = tmp_path / "2016" / "medlemmer.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("medlemmer.csv", csv_bytes([MEMBERS_HEADER, *ROWS]))
    data = bytearray(archive.read_bytes())
    data[6] |= 1  # the encrypted flag, as a zip program with a password sets it
    data[data.find(b"PK\x01\x02") + 8] |= 1
    archive.write_bytes(bytes(data))
    (found,) = intake(tmp_path / "2016").files
    assert found.status == "quarantined" and "is encrypted: send the archive without a password" in found.reasons[0]


def test_a_named_pipe_in_a_year_folder_is_listed_and_never_opened(tmp_path):
    folder = tmp_path / "2016"
    write_csv(folder / "medlemmer.csv", [MEMBERS_HEADER, *ROWS])
    os.mkfifo(folder / "pipe.csv")  # opening it would wait for a writer for ever
    found = record(folder, "pipe.csv")
    assert found.status == "quarantined" and "cannot be opened (not a regular file)" in found.reasons[0]


def test_an_empty_zip_is_set_aside_not_listed_as_read(tmp_path):
    (tmp_path / "2016").mkdir()
    with zipfile.ZipFile(tmp_path / "2016" / "medlemmer.zip", "w") as zipped:
        zipped.mkdir("tom")  # a folder and no file
    (found,) = intake(tmp_path / "2016").files
    assert found.status == "quarantined" and "an archive with no files in it" in found.reasons[0]
