"""How the pipeline calls Great Expectations: what it relies on in GX's own code is checked here,
so a new GX version that changes it fails a test instead of silently costing time."""

from __future__ import annotations

from importlib.metadata import version

import pandas as pd

from cluster_pipeline.lib.contracts import gx_adapter
from cluster_pipeline.lib.contracts.compiler import Rule


def test_gx_is_the_version_whose_fingerprint_threshold_was_read():
    from great_expectations.execution_engine import pandas_execution_engine

    assert version("great_expectations") == gx_adapter.FINGERPRINT_THRESHOLD_READ_FROM
    assert hasattr(pandas_execution_engine, "HASH_THRESHOLD")


def test_a_batch_is_validated_without_hashing_the_frame(monkeypatch):
    from great_expectations.execution_engine import pandas_execution_engine

    def hashed(_frame):
        raise AssertionError("GX hashed the batch")

    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", hashed)
    rule = Rule("n.required", "n", "ExpectColumnValuesToNotBeNull", {"column": "n"}, "is required")
    failures = gx_adapter.failing_rows(pd.DataFrame({"n": [1.0, None, 3.0]}), [rule], "fingerprint")
    assert failures == {"n.required": [1]}


def test_a_large_batch_leaves_no_frame_for_the_collector():
    """GX's copies of a large batch are freed when the validation returns, not at some later collection."""
    import gc

    rule = Rule("n.required", "n", "ExpectColumnValuesToNotBeNull", {"column": "n"}, "is required")
    frame = pd.DataFrame({"n": [1.0] * gx_adapter.COLLECT_FROM_ROWS})
    gc.collect()
    gc.disable()  # no collection but the validation's own
    try:
        gx_adapter.failing_rows(frame, [rule], "cycles")
        gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection would free now is kept in gc.garbage to be looked at
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, pd.DataFrame) and len(o) == len(frame)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert left == []
