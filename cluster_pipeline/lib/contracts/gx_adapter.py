"""The one place that talks to Great Expectations (1.x).

GX is imported lazily: its import costs seconds, and most of the project (the CLI,
Dagster's code-location load) never needs it.
"""

from __future__ import annotations

import gc
import os
import threading
import uuid
from collections.abc import Iterable
from importlib.metadata import version

import pandas as pd

from cluster_pipeline.lib.contracts.compiler import Rule

# COMPLETE is the format that lists every failing row's index; the rest is switched off
# (the failing values, a sample, the query): the rows are read from the frame itself.
RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "partial_unexpected_count": 0,
    "include_unexpected_rows": False,
    "return_unexpected_index_query": False,
}
# from this many rows, a validation ends with a collection of GX's reference cycles (below
# it, a tenth of a second per validation would cost more than the memory it returns)
COLLECT_FROM_ROWS = 100_000


# GX fingerprints every pandas batch under 1 GB by hashing the whole frame (0.1-0.2 s per
# million rows) for batch metadata this pipeline never reads. The threshold is a constant of
# GX's pandas engine, read from this version's source: skipped only on it, and a test fails
# when the version or the constant changes.
FINGERPRINT_THRESHOLD_READ_FROM = "1.24.1"


def _skip_batch_fingerprint() -> None:
    from great_expectations.execution_engine import pandas_execution_engine

    if version("great_expectations") == FINGERPRINT_THRESHOLD_READ_FROM:
        pandas_execution_engine.HASH_THRESHOLD = 0


class ValidationError(RuntimeError):
    """Great Expectations could not evaluate a rule (not a data failure)."""


_CONTEXT_LOCK = threading.Lock()
_CONTEXTS: list = []
# the context's data sources are shared state: one validation at a time per process (the
# pre-submission check server validates uploads from several threads)
_VALIDATION_LOCK = threading.Lock()


def _context():
    """One ephemeral context per process (each new one creates a temporary docs folder);
    the lock makes a caller wait for a warm-up already under way instead of starting another."""
    with _CONTEXT_LOCK:
        if not _CONTEXTS:
            os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            _skip_batch_fingerprint()
            _CONTEXTS.append(context)
        return _CONTEXTS[0]


def warm_up() -> threading.Thread:
    """Start importing GX (seconds of import) in the background while the files are read,
    so validation does not wait for it; validation joins it through _context()'s cache."""
    thread = threading.Thread(target=_context, name="gx-warm-up", daemon=True)
    thread.start()
    return thread


def arrow_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as Arrow-backed strings, on which GX's regex and set expectations run faster
    than on Python object strings (a year's validation at scale 10: 4.8 s before, 3.6 s after, the
    rows found the same; benchmarks/results/ingest_validation.md); other columns as they are."""
    converted = {
        name: column.astype("string[pyarrow]")
        for name, column in frame.items()
        if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty")
    }
    return frame.assign(**converted) if converted else frame


def _suite(name: str, rules: list[Rule]):
    import great_expectations as gx
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name=name)
    for rule in rules:
        suite.add_expectation(getattr(gxe, rule.expectation)(**rule.kwargs, meta={"rule_id": rule.rule_id}))
    return suite


def failing_rows(frame: pd.DataFrame, rules: Iterable[Rule], suite_name: str) -> dict[str, list[int]]:
    """Run the rules; for each rule, the positions (0..n-1) of the rows that break it, read from
    unexpected_index_list (COMPLETE result format).

    The rules reading the same columns are one suite, validated on a batch of those columns
    only: before it lists a rule's failing rows, GX copies the whole batch without the rows
    the rule ignores, so on a batch of every column each rule copies them all (the register
    at scale 10: 12.7 s and 3.9 GB as one batch, 4.6 s and 2.2 GB so; the rows found the same)."""
    rules = list(rules)
    if frame.empty or not rules:
        return {rule.rule_id: [] for rule in rules}
    failures = _validate(frame, rules, suite_name)
    if len(frame) >= COLLECT_FROM_ROWS:
        # GX's validators keep the batches' frames in reference cycles, which Python collects by
        # count of objects, not bytes: a large batch's copies would stay for minutes (the register
        # at scale 10: 1 GB still held after reading). A collection costs a tenth of a second.
        gc.collect()
    return failures


def _validate(frame: pd.DataFrame, rules: list[Rule], suite_name: str) -> dict[str, list[int]]:
    context = _context()
    frame = arrow_strings(frame.reset_index(drop=True))
    by_columns: dict[tuple[str, ...], list[Rule]] = {}
    for rule in rules:
        by_columns.setdefault(rule.reads, []).append(rule)
    source_name = f"{suite_name}_{uuid.uuid4().hex}"
    with _VALIDATION_LOCK:
        batches = context.data_sources.add_pandas(source_name).add_dataframe_asset(suite_name)
        whole = batches.add_batch_definition_whole_dataframe("whole")
        try:  # a rule naming no column (of the whole table) gets every column
            results = [
                whole.get_batch(batch_parameters={"dataframe": frame[list(columns)] if columns else frame}).validate(
                    _suite(f"{suite_name}_{i}", group), result_format=RESULT_FORMAT
                )
                for i, (columns, group) in enumerate(by_columns.items())
            ]
        finally:
            context.data_sources.delete(source_name)
    failures = {}
    for outcome in (outcome for result in results for outcome in result.results):
        rule_id = outcome.expectation_config.meta["rule_id"]
        if outcome.exception_info and outcome.exception_info.get("raised_exception"):
            raise ValidationError(
                f"{suite_name}: rule {rule_id} could not run: {outcome.exception_info.get('exception_message')}"
            )
        failures[rule_id] = [int(i) for i in outcome.result.get("unexpected_index_list") or []]
    return failures
