"""The published tables' schemas (the analysts' contract in DESIGN.md): one explicit
Arrow schema per table, with a description on every column."""

from __future__ import annotations

import pyarrow as pa

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.publish.parquet_store import ColumnSpec, arrow_schema
from cluster_pipeline.lib.vocabulary import FLAG_DESCRIPTIONS

TEXT, INT, BOOL, FLOAT = pa.string(), pa.int64(), pa.bool_(), pa.float64()
SME_LIMIT = seeds.sme_employee_limit()
SME_TEXT = f"Of those, SMEs (fewer than {SME_LIMIT} employees)."

LINEAGE_SPECS = [
    ColumnSpec("source_file", TEXT, "File name relative to the year's landing folder."),
    ColumnSpec("source_sheet", TEXT, "Worksheet name for XLSX files; null for CSV."),
    ColumnSpec("source_row", INT, "Row number as a person sees it in Excel (the header is row 1)."),
]



def flag_specs(template: str) -> list[ColumnSpec]:
    return [ColumnSpec(flag, BOOL, template.format(what)) for flag, what in FLAG_DESCRIPTIONS.items()]


def flag_count_specs(what: str, sme: bool = True, sum_of_clusters: bool = False) -> list[ColumnSpec]:
    """Per flag F: F (distinct companies that {what}), and optionally F_sme and F_sum_of_clusters."""
    specs = []
    for flag, meaning in FLAG_DESCRIPTIONS.items():
        specs.append(ColumnSpec(flag, INT, f"Distinct companies {what} that {meaning}."))
        if sme:
            specs.append(ColumnSpec(f"{flag}_sme", INT, SME_TEXT))
        if sum_of_clusters:
            specs.append(
                ColumnSpec(
                    f"{flag}_sum_of_clusters",
                    INT,
                    "The sum of the clusters' own counts (a company in three clusters counts three times), "
                    "as earlier national reports were built.",
                )
            )
    return specs


TABLES: dict[str, list[ColumnSpec]] = {
    "ingest_manifest": [
        ColumnSpec("source_file", TEXT, "File name relative to the year's landing folder."),
        ColumnSpec("sha256", TEXT, "SHA-256 of the file's bytes."),
        ColumnSpec("size_bytes", INT, "File size in bytes."),
        ColumnSpec("kind", TEXT, "members, profile, workbook (both sheets) or other."),
        ColumnSpec("status", TEXT, "ingested, quarantined (whole file), ignored (not a submission) or superseded."),
        ColumnSpec(
            "rows_read",
            INT,
            "Data rows read (blank rows are not data); for a file set aside whole, the rows "
            "it held where they could be counted (0 when it could not be read).",
        ),
        ColumnSpec("rows_accepted", INT, "Rows that passed the data contract."),
        ColumnSpec("rows_quarantined", INT, "Rows quarantined with their reasons."),
        ColumnSpec("reason", TEXT, "Why the file was quarantined, ignored or superseded; null when ingested cleanly."),
        ColumnSpec(
            "ignored_columns",
            pa.list_(TEXT),
            "Unknown columns dropped on read (never published: they may hold personal data).",
        ),
        ColumnSpec(
            "header_found",
            TEXT,
            "Where the header was found when a title stood above it (per sheet); null when on row 1.",
        ),
        ColumnSpec(
            "tie",
            BOOL,
            "Superseded by a file of the same cluster and kind with the same modification time "
            "(the stated tie rule decided: the one with more rows wins, then the name later in alphabetical order).",
        ),
        ColumnSpec(
            "conflict",
            BOOL,
            "Some of its rows give a cluster that another file (or sheet) of the same kind gives too, and "
            "neither is a version of the other (they share too few organisations): those rows are quarantined.",
        ),
        ColumnSpec(
            "template_version",
            INT,
            "The version of the survey template (SURVEY_TEMPLATE.md) the file was validated by: 1 or 2 "
            "(a workbook: its members sheet's); null for a file not read or set aside.",
        ),
    ],
    "quarantine": [
        *LINEAGE_SPECS[:2],
        ColumnSpec("source_row", INT, "Row number as a person sees it in Excel; null for a whole file."),
        ColumnSpec("level", TEXT, "row (one broken row) or file (a whole file that could not be used)."),
        ColumnSpec(
            "reasons",
            pa.list_(TEXT),
            "Every rule the row broke, as '<column>.<rule>: <message> (got <value>)', or the file's reason.",
        ),
        ColumnSpec(
            "record",
            TEXT,
            "The row's known columns as a JSON object of text (unknown columns never kept); null for a file.",
        ),
    ],
    "companies": [
        ColumnSpec(
            "company_id",
            TEXT,
            "The organisation's id in every year: 'CVR' + its CVR number when any year "
            "carries one, otherwise 'N' + a hash of its name, postal code and address in its first year "
            "(see company_identities).",
        ),
        ColumnSpec(
            "actor_type", TEXT, "company, knowledge_institution or public_actor (the most frequent over its rows)."
        ),
        ColumnSpec("cvr", TEXT, "The valid CVR number, when any of its rows that year carries one."),
        ColumnSpec(
            "name", TEXT, "The most frequent spelling among its CVR-holding rows (all rows when none holds a CVR)."
        ),
        ColumnSpec("postal_code", TEXT, "The most frequent postal code over its rows."),
        ColumnSpec(
            "municipality_code",
            TEXT,
            "The most frequent municipality code, else the one of the nearest main postal code.",
        ),
        ColumnSpec("region_code", TEXT, "Region (1081-1085) of its municipality."),
        ColumnSpec("employees", INT, "The most frequently reported number of employees."),
        ColumnSpec("sme", BOOL, f"Fewer than {SME_LIMIT} employees; null when not reported."),
        ColumnSpec("n_clusters", INT, "Distinct clusters it took part in that year."),
        *flag_specs("True if any of its memberships says it {} this year."),
    ],
    "memberships": [
        ColumnSpec("cluster_id", TEXT, "The reporting cluster."),
        ColumnSpec("company_id", TEXT, "The resolved organisation (see companies)."),
        *LINEAGE_SPECS,
        ColumnSpec("actor_type", TEXT, "company, knowledge_institution or public_actor, as the row says."),
        ColumnSpec(
            "committed_member",
            BOOL,
            "Formal, committed member (not just a one-off participant); from template version 2 "
            "derived from member_type (true for committed).",
        ),
        ColumnSpec(
            "member_type",
            TEXT,
            "committed or participant (template version 2); for a row of a version 1 file derived from "
            "committed_member (committed when true, participant when false).",
        ),
        ColumnSpec(
            "services_used",
            INT,
            "How many of the cluster's services the member used that year (template version 2); "
            "null for a row of a version 1 file.",
        ),
        *flag_specs("The cluster reports that the organisation {}."),
        ColumnSpec(
            "cvr_status",
            TEXT,
            "valid, invalid (failed the modulus-11 check: set aside, not used for matching), scientific_notation "
            "(Excel turned the number into 6,09631E+07, its digits lost: set aside likewise) or missing.",
        ),
        ColumnSpec(
            "match_rule",
            TEXT,
            "How the row was matched: cvr, name_location (name within postal code) or single (no match).",
        ),
        ColumnSpec(
            "match_score", FLOAT, "1.0 for cvr and exact names; 1 - edits/length for a name matched with a typing slip."
        ),
    ],
    "clusters": [
        ColumnSpec("cluster_id", TEXT, "The cluster (DK-CL- and three digits)."),
        ColumnSpec("cluster_name", TEXT, "Name of the cluster."),
        ColumnSpec("region_code", TEXT, "The cluster's host region (1081-1085)."),
        ColumnSpec("label", TEXT, "ECEI label reported: gold, silver, bronze, in_process or none."),
        ColumnSpec("label_valid_until", pa.date32(), "Last day the label is valid."),
        ColumnSpec("label_valid", BOOL, "Gold, silver or bronze, valid on 31 December of the year."),
        ColumnSpec("staff_fte", FLOAT, "Full-time equivalents in the cluster organisation."),
        ColumnSpec("companies", INT, "Distinct private companies among its members."),
        ColumnSpec("committed_companies", INT, "Distinct private companies that are formal, committed members."),
        ColumnSpec("knowledge_institutions", INT, "Distinct knowledge institutions among its members."),
        ColumnSpec("public_actors", INT, "Distinct public actors among its members."),
        ColumnSpec("triple_helix", BOOL, "At least one company, one knowledge institution and one public actor."),
        ColumnSpec("eligible", BOOL, "Meets the national criteria (committed companies, triple helix, staff, label)."),
        ColumnSpec(
            "eligibility_failures",
            pa.list_(TEXT),
            "The criteria it fails: committed_companies, triple_helix, staff_fte, label (empty when eligible).",
        ),
    ],
    "cluster_outcomes": [
        ColumnSpec("cluster_id", TEXT, "The cluster (every cluster with a profile that year, zero counts included)."),
        ColumnSpec("companies", INT, "Distinct private companies in the cluster."),
        ColumnSpec("companies_sme", INT, SME_TEXT),
        *flag_count_specs("whose membership of this cluster reports"),
    ],
    "national_outcomes": [
        ColumnSpec("companies", INT, "Distinct private companies in any cluster (each counted once)."),
        ColumnSpec("companies_sme", INT, SME_TEXT),
        *flag_count_specs("nationally", sum_of_clusters=True),
        ColumnSpec("memberships", INT, "Distinct (cluster, company) pairs of private companies."),
    ],
    "regional_outcomes": [
        ColumnSpec("region_code", TEXT, "Region code (1081-1085); every region has a row."),
        ColumnSpec("region_name", TEXT, "Region name."),
        ColumnSpec(
            "companies", INT, "Distinct private companies located in the region (by municipality, else postal code)."
        ),
        *flag_count_specs("in the region", sme=False),
        ColumnSpec("share_innovating", FLOAT, "new_products / companies."),
        ColumnSpec(
            "location_quotient",
            FLOAT,
            "The region's share of innovating companies (new_products) over its share of all companies.",
        ),
    ],
    "service_intensity": [
        ColumnSpec(
            "band",
            TEXT,
            "Services used, summed over a company's memberships that year: 0, 1-2, 3-5, 6+ (the "
            "service_bands seed), or unknown when one of its memberships has none (a template "
            "version 1 file). Rows only in years with version 2 files.",
        ),
        ColumnSpec("companies", INT, "Distinct private companies in the band."),
        *[
            spec
            for flag, meaning in FLAG_DESCRIPTIONS.items()
            for spec in (
                ColumnSpec(flag, INT, f"Distinct companies in the band that {meaning}."),
                ColumnSpec(f"{flag}_share", FLOAT, f"{flag} / companies (null for an empty band)."),
            )
        ],
    ],
    "indicator_status": [
        ColumnSpec(
            "indicator_id",
            TEXT,
            "innovation, regional_distribution, knowledge_partnerships, internationalisation, "
            "excellence_labels_gold, excellence_labels_silver.",
        ),
        ColumnSpec("title", TEXT, "The indicator as the Cluster Strategy 2016-2018 states it."),
        ColumnSpec("value", FLOAT, "The year's value (distinct companies, lowest location quotient, or valid labels)."),
        ColumnSpec("target", FLOAT, "The 2018 target (from the indicator_targets seed)."),
        ColumnSpec("baseline", FLOAT, "The 2014 status, where the strategy gives one."),
        ColumnSpec("baseline_year", INT, "The baseline's year."),
        ColumnSpec("status", TEXT, "met, on_track (at or above the straight line from baseline to target) or not_met."),
        ColumnSpec("detail", TEXT, "How the status was reached (the trajectory value, the regions at either end)."),
    ],
}

# Tables that span all years: one file, <output>/<table>/data.parquet, and one SQL table.
ALL_YEARS_TABLES: dict[str, list[ColumnSpec]] = {
    "company_identities": [
        ColumnSpec("company_id", TEXT, "An id that has been published for an organisation (now or by an earlier run)."),
        ColumnSpec(
            "current_id",
            TEXT,
            "The id it stands for now: itself, unless later evidence (a CVR, a link "
            "between years) merged it into another; follow it to the companies table.",
        ),
        ColumnSpec("cvr", TEXT, "The organisation's valid CVR number, when any year carries one."),
        ColumnSpec("name", TEXT, "The organisation's name in the latest year it appears."),
        ColumnSpec("first_year", pa.int32(), "First reporting year in which the id was published."),
        ColumnSpec("last_year", pa.int32(), "Last reporting year in which the id was published."),
        ColumnSpec("n_years", pa.int32(), "Reporting years in which the id was published."),
    ],
}


# The impact measurement (../shared/REGISTER_EXTRACT.md): aggregates only, one file each over all years.
SUPPRESSED = ColumnSpec(
    "suppressed",
    BOOL,
    "True when a group compared has fewer firms than the disclosure rule "
    "allows (min_firms_per_cell in the thresholds seed): the figures are blank.",
)
IMPACT_TABLES: dict[str, list[ColumnSpec]] = {
    "impact_estimates": [
        ColumnSpec(
            "outcome",
            TEXT,
            "innovation (firm-years in the innovation survey sample) or productivity_growth "
            "(annual growth of log value added per full-time equivalent).",
        ),
        ColumnSpec(
            "estimand",
            TEXT,
            "risk_difference_pp, risk_ratio or odds_ratio (innovation); growth_difference_pp "
            "(productivity_growth): the effect on participating firm-years.",
        ),
        ColumnSpec(
            "method",
            TEXT,
            "naive (participants against every other firm-year of the same years) or matched "
            "(against non-participants of the same year, NACE division and size band).",
        ),
        ColumnSpec("estimate", FLOAT, "The estimate (percentage points for *_pp, else a ratio)."),
        ColumnSpec("ci_low", FLOAT, "Lower end of the 95% confidence interval (standard errors clustered on firms)."),
        ColumnSpec("ci_high", FLOAT, "Upper end of the 95% confidence interval."),
        ColumnSpec("p_value", FLOAT, "Two-sided p-value of no difference."),
        ColumnSpec("n_treated", INT, "Participants' firm-years compared."),
        ColumnSpec("n_control", INT, "Comparison firm-years (with a positive weight)."),
        ColumnSpec("n_firms_treated", INT, "Distinct participating firms."),
        ColumnSpec("n_firms_control", INT, "Distinct comparison firms."),
        ColumnSpec(
            "n_treated_off_support", INT, "Participants' firm-years without any comparable firm-year (left out)."
        ),
        ColumnSpec("years", TEXT, "Reporting years covered."),
        ColumnSpec("headline", BOOL, "The estimate the report leads with: exactly one per outcome and estimand."),
        ColumnSpec("detail", TEXT, "How it was estimated."),
        SUPPRESSED,
    ],
    "impact_balance": [
        ColumnSpec(
            "covariate",
            TEXT,
            "log_fte, firm_age, log_productivity_pre (the previous year), region=<code> or "
            "industry=<NACE division> (a share).",
        ),
        ColumnSpec("design", TEXT, "innovation_matched or growth_matched: the comparison it describes."),
        ColumnSpec("mean_treated", FLOAT, "Mean among participants' firm-years."),
        ColumnSpec("mean_control_before", FLOAT, "Mean among all comparison firm-years (before matching)."),
        ColumnSpec("mean_control_after", FLOAT, "Mean among comparison firm-years with the matching weights."),
        ColumnSpec(
            "smd_before",
            FLOAT,
            "Standardised mean difference before matching (over the pooled standard deviation before matching).",
        ),
        ColumnSpec("smd_after", FLOAT, "Standardised mean difference after matching (the same denominator)."),
        ColumnSpec("n_firms_treated", INT, "Participating firms the mean rests on (for a share: firms having it)."),
        ColumnSpec("n_firms_control", INT, "Comparison firms the mean rests on (for a share: firms having it)."),
        SUPPRESSED,
    ],
    "impact_event_study": [
        ColumnSpec("outcome", TEXT, "productivity_growth."),
        ColumnSpec(
            "event_time",
            INT,
            "Years since joining a cluster (-1, the year before, is the reference; the ends "
            "hold every year further out).",
        ),
        ColumnSpec("estimate", FLOAT, "Growth difference against never-participants, percentage points."),
        ColumnSpec("ci_low", FLOAT, "Lower end of the 95% confidence interval."),
        ColumnSpec("ci_high", FLOAT, "Upper end of the 95% confidence interval."),
        ColumnSpec("n_firms", INT, "Joining firms observed at this event time."),
        ColumnSpec("n_firms_control", INT, "Never-participating firms in the comparison."),
        ColumnSpec(
            "pre_trend_p_value",
            FLOAT,
            "p-value of the joint test that every coefficient before joining is zero (the same on every row).",
        ),
        SUPPRESSED,
    ],
    "impact_coverage": [
        ColumnSpec("year", pa.int32(), "Reporting year."),
        ColumnSpec("companies", INT, "Distinct private companies in the year's published companies."),
        ColumnSpec("companies_with_cvr", INT, "Of those, with a CVR number (their own or their identity's)."),
        ColumnSpec("linked_to_register", INT, "Of those, found in the register that year."),
        ColumnSpec("link_rate", FLOAT, "linked_to_register / companies_with_cvr."),
        ColumnSpec("sampled_in_innovation_survey", INT, "Linked companies in that year's innovation survey sample."),
        SUPPRESSED,
    ],
    "register_manifest": [
        ColumnSpec("source_file", TEXT, "File name in the register folder."),
        ColumnSpec("sha256", TEXT, "SHA-256 of the file's bytes."),
        ColumnSpec("register_year", pa.int32(), "The year the file name gives (firms_<year>.csv); null when ignored."),
        ColumnSpec("status", TEXT, "ingested, quarantined (whole file) or ignored (not a register file)."),
        ColumnSpec("rows_read", INT, "Data rows read."),
        ColumnSpec("rows_accepted", INT, "Rows that passed the register contract."),
        ColumnSpec("rows_quarantined", INT, "Rows quarantined with their reasons."),
        ColumnSpec("reason", TEXT, "Why the file was quarantined or ignored."),
    ],
    "register_quarantine": [
        ColumnSpec("source_file", TEXT, "File name in the register folder."),
        ColumnSpec("source_row", INT, "Row number (the header is row 1); null for a whole file."),
        ColumnSpec("level", TEXT, "row or file."),
        ColumnSpec(
            "reasons",
            pa.list_(TEXT),
            "Every rule the row breaks, as '<column>.<rule>: <message>' (never the "
            "value: the register is confidential).",
        ),
        ColumnSpec("register_year", pa.int32(), "The file's register year."),
    ],
}
ALL_YEARS_TABLES.update(IMPACT_TABLES)
REGISTER_TABLES = ["register_manifest", "register_quarantine"]
MEASUREMENT_TABLES = [name for name in IMPACT_TABLES if name not in REGISTER_TABLES]


def is_published(table: str) -> bool:
    """A table analysts read (the others are intermediate)."""
    return table in TABLES or table in ALL_YEARS_TABLES


def _specs(table: str) -> list[ColumnSpec]:
    return TABLES[table] if table in TABLES else ALL_YEARS_TABLES[table]


def schema(table: str) -> pa.Schema:
    return arrow_schema(_specs(table))


def columns(table: str) -> list[str]:
    return [c.name for c in _specs(table)]
