"""Column operations pandas does slowly on its Arrow-backed text (the default `str` dtype of
pandas 3, and what Parquet gives back)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def is_in(values: pd.Series, others: pd.Series) -> pd.Series:
    """values.isin(others), in Arrow: pandas 3's isin on Arrow strings builds a Python scalar for
    every value of `others` (2.2 s against 0.06 s for 300,000 company ids). A blank matches a blank.
    Either side may be empty or all blank (Arrow gives it no type of its own: it takes the other's)."""
    looked_up, value_set = pa.array(values.array), pa.array(others.array)
    # an untyped side takes the other's type (Arrow raises on a null type; other text types it reconciles)
    if pa.types.is_null(value_set.type):
        value_set = value_set.cast(looked_up.type)
    elif pa.types.is_null(looked_up.type):
        looked_up = looked_up.cast(value_set.type)
    found = pc.is_in(looked_up, value_set=value_set)
    return pd.Series(found.to_numpy(zero_copy_only=False), index=values.index, dtype=bool)
