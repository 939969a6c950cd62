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

FLAG_DESCRIPTIONS = {
    "new_ideas": "developed new innovative ideas through the cluster",
    "new_competences": "got new competences and tools",
    "new_products": "developed new products, services or processes (an innovation)",
    "partnership_project": "took part in a partnership project with knowledge institutions",
    "international_activity": "took part in international activities through the cluster",
}


def flag_specs(template: str) -> list[ColumnSpec]:
    return [ColumnSpec(flag, BOOL, template.format(what)) for flag, what in FLAG_DESCRIPTIONS.items()]


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
    "companies": [
        ColumnSpec("company_id", TEXT, "Stable id: 'CVR' + the CVR number, or 'N' + a hash of the normalised name, postal code and address."),
        ColumnSpec("actor_type", TEXT, "company, knowledge_institution or public_actor (the most frequent over its rows)."),
        ColumnSpec("cvr", TEXT, "The valid CVR number, when any of its rows carries one."),
        ColumnSpec("name", TEXT, "The most frequent spelling among its CVR-holding rows (all rows when none holds a CVR)."),
        ColumnSpec("postal_code", TEXT, "The most frequent postal code over its rows."),
        ColumnSpec("municipality_code", TEXT, "The most frequent municipality code, else the one of the nearest main postal code."),
        ColumnSpec("region_code", TEXT, "Region (1081-1085) of its municipality."),
        ColumnSpec("employees", INT, "The most frequently reported number of employees."),
        ColumnSpec("sme", BOOL, "Fewer than 50 employees; null when not reported."),
        ColumnSpec("n_clusters", INT, "Distinct clusters it took part in that year."),
        *flag_specs("True if any of its memberships says it {} this year."),
    ],
    "memberships": [
        ColumnSpec("cluster_id", TEXT, "The reporting cluster."),
        ColumnSpec("company_id", TEXT, "The resolved organisation (see companies)."),
        *LINEAGE_SPECS,
        ColumnSpec("actor_type", TEXT, "company, knowledge_institution or public_actor, as the row says."),
        ColumnSpec("committed_member", BOOL, "Formal, committed member (not just a one-off participant)."),
        *flag_specs("The cluster reports that the organisation {}."),
        ColumnSpec("cvr_status", TEXT, "valid, invalid (failed the modulus-11 check: set aside, not used for matching) or missing."),
        ColumnSpec("match_rule", TEXT, "How the row was matched: cvr, name_location (name within postal code) or single (no match)."),
        ColumnSpec("match_score", FLOAT, "1.0 for cvr and exact names; 1 - edits/length for a name matched with a typing slip."),
    ],
}


def schema(table: str) -> pa.Schema:
    return arrow_schema(TABLES[table])


def columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table]]
