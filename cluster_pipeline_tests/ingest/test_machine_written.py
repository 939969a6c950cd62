"""Machine-written CSV (the firm register) read by Arrow's reader: the same cells as the forgiving
reader gives, and the forgiving reader for any file that is not plainly machine-written."""

from __future__ import annotations

import pandas as pd
import pytest

from cluster_pipeline.lib.ingest.intake import table_cells
from cluster_pipeline.lib.ingest.landing import FileRejected, landing_file, read_csv
from cluster_pipeline.lib.ingest.machine_written import read_machine_written
from cluster_pipeline.lib.survey.model import load_contract

HEADER = "CVRNR;AAR;BRANCHE_DB07;KOM;STIFTELSESAAR;AARSVAERK;VAERDITILVAEKST;OMSAETNING;INNO_STIKPROEVE;INNOVATIV;VAEGT"
ROWS = [
    "12345674;2016;620100;101;2001;12,5;5400;16000;0;;",
    " 11111114 ;2016;620100;101;;3,0; ;2000;1;1;12,5",
    ";;;;;;;;;;",  # a row of delimiters only: blank, skipped, its number used
    "22222228;2016;620100;101;1999;3,0;-900;2000;0;;",
]


def _file(tmp_path, lines, encoding="utf-8-sig"):
    path = tmp_path / "firms_2016.csv"
    path.write_bytes("\n".join(lines).encode(encoding) + b"\n")
    return path


def _plain(cells: pd.DataFrame) -> pd.DataFrame:
    """Python values, a blank as None (the readers' dtypes differ, their values must not)."""
    return cells.astype(object).map(lambda value: None if pd.isna(value) else value)


def _forgiving(path):
    cells, _ = table_cells(read_csv(landing_file(path, path.name)), load_contract("register"))
    return cells


def test_a_machine_written_file_gives_the_cells_the_forgiving_reader_gives(tmp_path):
    path = _file(tmp_path, [HEADER, *ROWS])
    fast = read_machine_written(path.read_bytes(), path.name, load_contract("register"), ";")
    assert fast is not None and fast["source_row"].tolist() == [2, 3, 5]
    pd.testing.assert_frame_equal(_plain(fast), _plain(_forgiving(path)))


@pytest.mark.parametrize(
    "odd",
    [
        "33333331;2016;620100;101;2001;1,0;1;1;0;;;extra",  # a stray delimiter
        "33333331;2016;620100",  # a short row
        "",  # a blank line
        '"33333331";2016;620100;101;2001;1,0;1;1;0;;',  # quoted
        "33333331;2016;620100;101;2001;1,0;1;1;0;;\u200b",  # an invisible character
    ],
)
def test_a_file_that_is_not_plainly_machine_written_goes_to_the_forgiving_reader(tmp_path, odd):
    path = _file(tmp_path, [HEADER, ROWS[0], odd, ROWS[3]])
    assert read_machine_written(path.read_bytes(), path.name, load_contract("register"), ";") is None


def test_a_file_in_another_encoding_goes_to_the_forgiving_reader(tmp_path):
    path = _file(tmp_path, [HEADER, ROWS[0].replace("620100", "62æ100")], encoding="cp1252")
    assert read_machine_written(path.read_bytes(), path.name, load_contract("register"), ";") is None


def test_a_machine_written_file_without_a_required_column_is_rejected(tmp_path):
    path = _file(tmp_path, ["CVRNR;AAR", "12345674;2016"])
    with pytest.raises(FileRejected, match="missing required column"):
        read_machine_written(path.read_bytes(), path.name, load_contract("register"), ";")
