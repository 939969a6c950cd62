"""Materialisation metadata a person wants to see in the UI: row counts, the column
schema with descriptions, where the data is, and a Markdown preview."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cluster_pipeline.lib import tables


def _cell(value) -> str:
    """A value as a person reads it in a preview: whole numbers without .0, others to four
    significant digits, a blank for a missing value (never nan)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        value = ", ".join(map(str, value))
    elif value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    elif isinstance(value, float):
        value = f"{int(value):,}" if value.is_integer() else f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pd.DataFrame, max_rows: int = 10) -> str:
    shown = frame.head(max_rows)
    lines = ["| " + " | ".join(map(str, shown.columns)) + " |", "|" + "---|" * len(shown.columns)]
    for row in shown.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    if len(frame) > max_rows:
        lines.append(f"\n… {len(frame) - max_rows} more rows")
    return "\n".join(lines)


def column_schema(schema: pa.Schema) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(f.name, str(f.type), description=(f.metadata or {}).get(b"description", b"").decode())
            for f in schema
        ]
    )


def table_metadata(
    frame: pd.DataFrame, path: Path, schema: pa.Schema | None = None, preview: pd.DataFrame | None = None
) -> dict:
    if schema is None:
        # the types the file was written with, from its footer: inferred again from a frame of
        # Python objects they would cost a scan of every value (a year's cells at scale 20: 0.8 s)
        written = path.suffix == ".parquet" and path.is_file()
        schema = pq.read_schema(path) if written else pa.Schema.from_pandas(frame, preserve_index=False)
    return {
        "dagster/row_count": dg.MetadataValue.int(len(frame)),
        "dagster/column_schema": column_schema(schema),
        "path": dg.MetadataValue.path(str(path)),
        "preview": dg.MetadataValue.md(markdown_table(frame if preview is None else preview)),
    }


def warn_when_any(check_name: str, found: pd.DataFrame, label: str, asset_key: str | None = None, **extra):
    """A warning check that passes when nothing was found, and lists what was (as `label`)."""
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check_name,
        passed=found.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            label: dg.MetadataValue.md(markdown_table(found) if len(found) else "none"),
            "count": len(found),
            **extra,
        },
    )


def declared_check(table: str, name: str) -> dg.AssetCheckSpec:
    """A check on a published table as its YAML declares it (description, blocking): the code
    that evaluates it stays with the asset."""
    declared = tables.table(table).checks
    if name not in declared:
        raise KeyError(f"{tables.table(table).path.name} declares no check {name!r}")
    check = declared[name]
    return dg.AssetCheckSpec(name, asset=table, blocking=check.blocking, description=check.description)


INTERMEDIATE_TAG = "cluster_pipeline/intermediate"


def intermediate(name: str, description: str, deps=()) -> dg.AssetSpec:
    """A table the pipeline writes for its own next steps (under <output>/_work/, never published):
    an asset of its own, so the UI's lineage shows every table and which step reads it."""
    return dg.AssetSpec(
        name,
        deps=list(deps),
        kinds={"parquet"},
        tags={INTERMEDIATE_TAG: "true"},
        description=f"Intermediate (under <output>/_work/, not published): {description}",
    )


def every_year(*names: str) -> list[dg.AssetDep]:
    """Dependencies of an asset over all years on yearly assets: every year's partition (Dagster's
    AllPartitionMapping, said here rather than left to the default)."""
    return [dg.AssetDep(name, partition_mapping=dg.AllPartitionMapping()) for name in names]
