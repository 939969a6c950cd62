"""CSV exports (the site's downloads, explain --format csv) as a spreadsheet reads them safely."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa

from cluster_pipeline.lib.publish.exports import write_table_csv


def _text(table: pa.Table) -> str:
    text = io.StringIO()
    write_table_csv(table, text)
    return text.getvalue()


def exported(table: pa.Table) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(_text(table)), dtype=str, keep_default_na=False)


def test_text_that_a_spreadsheet_would_run_as_a_formula_gets_a_leading_apostrophe():
    names = ['=HYPERLINK("http://x","y")', "+45 1234", "-3", "@SUM(A1)", "\tTab", "Nordic A/S", None]
    table = pa.table({"name": pa.array(names, pa.large_string()), "row": range(len(names))})
    shown = exported(table)["name"].tolist()
    assert shown == ["'" + n for n in names[:5]] + ["Nordic A/S", ""]


def test_a_list_is_written_as_json_text_and_a_missing_value_as_an_empty_field():
    table = pa.table({"reasons": [["row.shape: 3 cells", "cvr: not 8 digits"], [], None], "n": [1, None, 3]})
    shown = exported(table)
    assert shown["reasons"].tolist() == ['["row.shape: 3 cells", "cvr: not 8 digits"]', "[]", ""]
    assert shown["n"].tolist() == ["1", "", "3"]


def test_a_csv_export_reads_back_as_the_table_it_was_written_from():
    table = pa.table({"cluster_id": ["DK-CL-001", "DK-CL-002"], "share": [0.25, 1 / 3], "sme": [True, False]})
    back = pd.read_csv(io.StringIO(_text(table)))
    assert back["cluster_id"].tolist() == ["DK-CL-001", "DK-CL-002"]
    assert back["share"].tolist() == [0.25, 1 / 3] and back["sme"].tolist() == [True, False]


def test_a_site_download_is_reused_only_when_its_csv_was_written_the_same_way(tmp_path):
    """A CSV is copied from the previous site when its table's bytes are the same, but not when
    the previous site wrote CSV another way (an older writer): then it is written anew."""
    import json

    import pyarrow.parquet as pq

    from cluster_pipeline.lib import tables
    from cluster_pipeline.lib.publish import site
    from cluster_pipeline.lib.publish.parquet_store import partition_path

    root, previous, relative = tmp_path / "out", tmp_path / "previous", "national_outcomes/2016"
    schema = tables.schema("national_outcomes")
    source = partition_path(root, "national_outcomes", 2016)
    source.parent.mkdir(parents=True)
    pq.write_table(pa.table({f.name: pa.nulls(1, f.type) for f in schema}, schema=schema), source)
    site.write_tables(root, previous, [2016])
    (previous / "data" / f"{relative}.csv").write_text("as the previous site holds it\n", encoding="utf-8")

    def next_csv(name: str) -> str:
        site.write_tables(root, tmp_path / name, [2016], previous=previous)
        return (tmp_path / name / "data" / f"{relative}.csv").read_text(encoding="utf-8")

    assert next_csv("same_writer") == "as the previous site holds it\n"
    listed = previous / "data" / site.SOURCES
    sources = json.loads(listed.read_text(encoding="utf-8"))
    del sources[relative]["csv_format"]  # as a site written before the format was recorded
    listed.write_text(json.dumps(sources), encoding="utf-8")
    assert next_csv("older_writer").startswith(f'"{schema.names[0]}",')  # written anew, header first
