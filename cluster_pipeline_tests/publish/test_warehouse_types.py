"""The SQL warehouse receives the published schema's types, as Parquet does, whatever the
frame's dtypes were on the way; a failed publication leaves Parquet and the warehouse together."""

import math

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from cluster_pipeline.defs.resources import OutputFolder
from cluster_pipeline.lib import tables
from cluster_pipeline.lib.publish.warehouse import replace_tables

# impact_coverage as the disclosure rule leaves it: a blanked count turns the column into floats
COVERAGE = pd.DataFrame(
    {
        "year": [2016.0, 2017.0],
        "companies": [2401.0, 12.0],
        "companies_with_cvr": [11106.0, math.nan],
        "linked_to_register": [10021.0, math.nan],
        "link_rate": [0.9023, math.nan],
        "sampled_in_innovation_survey": [3120.0, math.nan],
        "suppressed": [False, True],
        "suppression_reason": [None, "min_firms"],
    }
)


def read_back(engine: sa.Engine) -> tuple[pd.DataFrame, dict[str, str]]:
    with engine.connect() as connection:
        frame = pd.read_sql("SELECT * FROM impact_coverage ORDER BY year", connection)
    types = {c["name"]: type(c["type"]).__name__ for c in sa.inspect(engine).get_columns("impact_coverage")}
    return frame, types


def check_counts_arrive_as_nullable_integers(engine: sa.Engine):
    replace_tables(engine, {"impact_coverage": (COVERAGE, tables.schema("impact_coverage"))})
    frame, types = read_back(engine)
    assert types["companies_with_cvr"] == types["linked_to_register"] == "BIGINT"
    assert frame["companies_with_cvr"].iloc[0] == 11106 and pd.isna(frame["companies_with_cvr"].iloc[1])
    assert frame["year"].tolist() == [2016, 2017]
    assert frame["suppressed"].astype(bool).tolist() == [False, True]


def test_a_count_blanked_by_the_disclosure_rule_reaches_the_warehouse_as_a_nullable_integer(warehouse_engine):
    check_counts_arrive_as_nullable_integers(warehouse_engine)


def test_a_failed_warehouse_publication_leaves_the_parquet_files_as_they_were(tmp_path):
    output = OutputFolder(path=str(tmp_path))
    with output.writing_together({"impact_coverage": COVERAGE.iloc[:1]}):
        pass
    before = pq.read_table(output.file("impact_coverage"))
    with (
        pytest.raises(RuntimeError, match="the warehouse refused"),
        output.writing_together({"impact_coverage": COVERAGE}),
    ):
        raise RuntimeError("the warehouse refused the tables")
    assert pq.read_table(output.file("impact_coverage")).equals(before)
    assert not list((tmp_path / "_staging").glob("*.parquet"))  # nothing staged is left behind


def test_tables_written_together_move_into_place_in_the_published_types(tmp_path):
    output = OutputFolder(path=str(tmp_path))
    with output.writing_together({"impact_coverage": COVERAGE}) as paths:
        assert not paths["impact_coverage"].exists()  # not before the block has succeeded
    written = pq.read_table(paths["impact_coverage"])
    assert written.schema.field("companies_with_cvr").type == pa.int64()
    assert written.column("companies_with_cvr").to_pylist() == [11106, None]
