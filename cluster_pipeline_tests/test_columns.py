"""Column operations done in Arrow give what pandas' own would, on every shape of column."""

import pandas as pd

from cluster_pipeline.lib.columns import is_in


def test_is_in_finds_the_values_present_among_the_others():
    values = pd.Series(["DK-CL-001", "DK-CL-002", "DK-CL-003"], dtype="str")
    assert is_in(values, pd.Series(["DK-CL-003", "DK-CL-001"], dtype="str")).tolist() == [True, False, True]


def test_is_in_against_no_values_at_all_finds_nothing():
    values = pd.Series(["DK-CL-001", "DK-CL-002"], dtype="str")
    assert is_in(values, pd.Series([], dtype=object)).tolist() == [False, False]
    assert is_in(pd.Series([], dtype=object), values).tolist() == []


def test_is_in_matches_a_blank_with_a_blank_also_when_a_side_is_all_blank():
    values = pd.Series(["DK-CL-001", None], dtype=object)
    assert is_in(values, pd.Series([None, None], dtype=object)).tolist() == [False, True]
    assert is_in(pd.Series([None], dtype=object), pd.Series(["DK-CL-001"], dtype="str")).tolist() == [False]


def test_is_in_compares_arrow_text_with_python_text():
    arrow = pd.Series(["DK-CL-001", "DK-CL-002"], dtype="str")
    python = pd.Series(["DK-CL-002"], dtype=object)
    assert is_in(arrow, python).tolist() == [False, True] and is_in(python, arrow).tolist() == [True]
