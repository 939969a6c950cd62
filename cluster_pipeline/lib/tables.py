"""The published tables' schemas (the analysts' contract in DESIGN.md): one explicit
Arrow schema per table, with a description on every column."""

from __future__ import annotations

import pyarrow as pa

from cluster_pipeline.lib.parquet_store import ColumnSpec, arrow_schema

TEXT, INT, BOOL, FLOAT = pa.string(), pa.int64(), pa.bool_(), pa.float64()

LINEAGE_SPECS = [
    ColumnSpec("source_file", TEXT, "File name relative to the year's landing folder."),
    ColumnSpec("source_sheet", TEXT, "Worksheet name for XLSX files; null for CSV."),
    ColumnSpec("source_row", INT, "Row number as a person sees it in Excel (the header is row 1)."),
]

TABLES: dict[str, list[ColumnSpec]] = {
    "ingest_manifest": [
        ColumnSpec("source_file", TEXT, "File name relative to the year's landing folder."),
        ColumnSpec("sha256", TEXT, "SHA-256 of the file's bytes."),
        ColumnSpec("size_bytes", INT, "File size in bytes."),
        ColumnSpec("kind", TEXT, "members, profile, workbook (both sheets) or other."),
        ColumnSpec("status", TEXT, "ingested, quarantined (whole file), ignored (not a submission) or superseded."),
        ColumnSpec("rows_read", INT, "Data rows read (blank rows are not data)."),
        ColumnSpec("rows_accepted", INT, "Rows that passed the data contract."),
        ColumnSpec("rows_quarantined", INT, "Rows quarantined with their reasons."),
        ColumnSpec("reason", TEXT, "Why the file was quarantined, ignored or superseded; null when ingested cleanly."),
        ColumnSpec("ignored_columns", pa.list_(TEXT), "Unknown columns dropped on read (never published: they may hold personal data)."),
    ],
    "quarantine": [
        *LINEAGE_SPECS[:2],
        ColumnSpec("source_row", INT, "Row number as a person sees it in Excel; null for a whole file."),
        ColumnSpec("level", TEXT, "row (one broken row) or file (a whole file that could not be used)."),
        ColumnSpec("reasons", pa.list_(TEXT), "Every rule the row broke, as '<column>.<rule>: <message> (got <value>)', or the file's reason."),
        ColumnSpec("record", TEXT, "The row's known columns as a JSON object of text (unknown columns never kept); null for a file."),
    ],
}


def schema(table: str) -> pa.Schema:
    return arrow_schema(TABLES[table])


def columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table]]
