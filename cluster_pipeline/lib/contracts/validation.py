"""Validate a kind's text cells against its contract, quarantine broken rows with every
reason, and normalise the accepted rows to typed, English-valued columns."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from cluster_pipeline.lib.contracts.compiler import (
    CHECK_DIGIT_SHADOW,
    DATE_SHADOW,
    NUMBER_SHADOW,
    Rule,
    RuleInputs,
    compile_contract,
)
from cluster_pipeline.lib.contracts.gx_adapter import failing_rows
from cluster_pipeline.lib.ingest.intake import LINEAGE, READ_ERROR, TEMPLATE_VERSION
from cluster_pipeline.lib.survey import normalise
from cluster_pipeline.lib.survey.model import Column, Contract, canonical_token
from cluster_pipeline.lib.survey.template import Template

# problems found while reading (a misaligned row, a formula without a saved value): the
# reader writes the whole reason, "<rule>: <message>", and GX checks that there is none
READ_RULE = Rule("row.read", "row", "ExpectColumnValuesToBeNull", {"column": READ_ERROR}, "could not be read")


SCIENTIFIC_NOTATION = "scientific_notation"  # a cvr_status: Excel turned the CVR into a rounded number


@dataclass
class Validated:
    accepted: pd.DataFrame
    quarantined: pd.DataFrame  # LINEAGE + level, reasons (list), record (JSON text)


@normalise.per_distinct
def canonical_values(text: pd.Series) -> pd.Series:
    """canonical_token of every cell (an enumerated column holds a handful of spellings)."""
    return text.map(canonical_token, na_action="ignore")


def validation_frame(cells: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """The cells as the rules see them: enumerated values in canonical form (the template's
    matching rule), blank booleans as no, and typed shadow columns for ranges and dates."""
    frame = cells.copy(deep=False)  # copy-on-write: the columns set below are new, the cells stay as read
    for column in contract.columns:
        text = frame[column.name]
        if column.enumerated:
            frame[column.name] = canonical_values(text)
        if column.logical_type == "boolean":
            frame[column.name] = frame[column.name].fillna("false")
        if column.logical_type in ("integer", "number"):
            # float64, not a nullable type: GX compares a numpy column in one step, a nullable one row by row
            frame[NUMBER_SHADOW.format(column.name)] = normalise.parse_number(text).astype("float64")
        if column.logical_type == "date":
            frame[DATE_SHADOW.format(column.name)] = normalise.iso_date_or_text(text, column.date_formats)
        if column.check_digit == "cvr_mod11":  # a rule reads it when the check is required; normalising, always
            valid = normalise.cvr_is_valid(normalise.clean_cvr(text))
            frame[CHECK_DIGIT_SHADOW.format(column.name)] = valid.astype(object).where(text.notna())
    return frame


def _reason(rule: Rule, cells: pd.DataFrame, position: int, confidential: bool = False) -> str:
    if rule is READ_RULE:
        return cells[READ_ERROR].iat[position]
    if confidential:  # the rule and the column, never a firm's value
        return f"{rule.rule_id}: {rule.column} {rule.message}"
    value = cells[rule.column].iat[position]
    shown = "blank" if value is None or pd.isna(value) else repr(value)
    return f"{rule.rule_id}: {rule.column} {rule.message} (got {shown})"


def _foreign_key_context(rule: Rule, cells: pd.DataFrame, positions: list[int]) -> dict[int, str]:
    """For a row naming a key that does not exist that year (a cluster with no profile): the keys
    the rest of its file names, so a mistyped id reads as one."""
    if not positions:
        return {}
    failing = pd.Series(False, index=cells.index)
    failing.iloc[positions] = True
    named = cells.loc[~failing].groupby("source_file")[rule.column].agg(lambda ids: sorted(ids.dropna().unique()))
    context = {}
    for position in positions:
        others = named.get(cells["source_file"].iat[position], [])
        context[position] = (
            f"; the rest of the file names {', '.join(others)} (a mistyped {rule.column}?)" if others else ""
        )
    return context


def _normalised_column(
    column: Column, text: pd.Series, frame: pd.DataFrame, contract: Contract
) -> dict[str, pd.Series]:
    """The typed column(s) of one contract column, from its text and the validation frame (whose
    canonical values and parsed numbers are reused, not computed again)."""
    canonical = frame[column.name]
    if column.check_digit == "cvr_mod11":
        digits = normalise.clean_cvr(text)
        valid = frame[CHECK_DIGIT_SHADOW.format(column.name)].eq(True).to_numpy()  # checked for the rules
        status = pd.Series("missing", index=text.index).mask(text.notna(), "invalid").mask(valid, "valid")
        # Excel showed the number as 6,09631E+07: its last digits are lost, whatever the check says
        status = status.mask(normalise.in_scientific_notation(text), SCIENTIFIC_NOTATION)
        # a CVR failing the check is set aside (kept as cvr_raw), never used for matching
        return {"cvr": digits.where(valid), "cvr_raw": text, "cvr_status": status}
    if column.logical_type == "boolean":
        return {column.name: normalise.parse_boolean(canonical, contract.boolean_spellings)}
    if column.logical_type == "integer" and column.zero_pad_to:
        return {column.name: normalise.zero_pad(text, column.zero_pad_to)}
    if column.logical_type == "integer":
        return {column.name: frame[NUMBER_SHADOW.format(column.name)].round().astype("Int64")}
    if column.logical_type == "number":
        return {column.name: frame[NUMBER_SHADOW.format(column.name)]}
    if column.logical_type == "date":
        return {column.name: normalise.parse_date(text, column.date_formats).dt.date}
    if column.value_aliases or column.valid_values:
        return {column.name: canonical.map(lambda v: column.value_aliases.get(v, v), na_action="ignore")}
    return {column.name: text}


def normalise_rows(cells: pd.DataFrame, frame: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    out = {}
    for column in contract.columns:
        out.update(_normalised_column(column, cells[column.name], frame, contract))
        if column.derives:  # a column a later version replaced keeps its meaning (committed_member)
            derived, true_values = column.derives
            out[derived] = out[column.name].isin(true_values)
        if column.derives_text:  # and an earlier version's rows get the later column (member_type)
            derived, when_true, when_false = column.derives_text
            out[derived] = out[column.name].map({True: when_true, False: when_false})
    result = pd.DataFrame(out, index=cells.index)
    for name in LINEAGE:
        result[name] = cells[name]
    result["source_row"] = result["source_row"].astype("int64")
    return result.reset_index(drop=True)


def validate_kind(cells: pd.DataFrame, contract: Contract, inputs: RuleInputs) -> Validated:
    cells = cells.reset_index(drop=True)
    frame = validation_frame(cells, contract)
    rules = [READ_RULE, *compile_contract(contract, inputs)]
    suite = f"{contract.kind}_v{contract.template_version}_{inputs.reporting_year or 'years'}"
    # lineage is read from the cells: GX filters the whole frame for every rule, so it gets only what the rules read
    failures = failing_rows(frame.drop(columns=["source_file", "source_sheet", "source_row"]), rules, suite_name=suite)
    reasons: dict[int, list[str]] = {}
    unreadable = set(failures[READ_RULE.rule_id])
    for rule in rules:
        # a confidential contract's reasons never carry a value, not even another row's
        named = rule.rule_id.endswith(".foreign_key") and not contract.confidential
        context = _foreign_key_context(rule, cells, failures[rule.rule_id]) if named else {}
        for position in failures[rule.rule_id]:
            # a row that could not be read as written (shifted cells, a byte that is not UTF-8) breaks
            # the other rules only as a consequence: its read problem is its reason
            if rule is READ_RULE or position not in unreadable:
                reason = _reason(rule, cells, position, contract.confidential) + context.get(position, "")
                reasons.setdefault(position, []).append(reason)
    broken = sorted(reasons)
    quarantined = quarantine_rows(cells.iloc[broken], [reasons[i] for i in broken], contract)
    accepted = normalise_rows(cells.drop(index=broken), frame.drop(index=broken), contract)
    return Validated(accepted, quarantined)


def _in_file_order(rows: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """The rows in the order the files gave them (later steps break ties by the first row seen)."""

    def keys(frame):  # a CSV row has no sheet (None or NaN, which never equals itself)
        return zip(frame["source_file"], frame["source_sheet"].fillna(""), frame["source_row"].astype("int64"))

    order = {key: i for i, key in enumerate(keys(cells))}
    position = [order[key] for key in keys(rows)]
    return rows.iloc[sorted(range(len(rows)), key=position.__getitem__)].reset_index(drop=True)


def validate_versions(cells: pd.DataFrame, template: Template, kind: str, inputs: RuleInputs) -> Validated:
    """Each row by the contract version its file follows (its own GX suite per version), the
    accepted rows under the columns of every version, blank where a row's version has none
    (services_used of a version 1 row)."""
    if inputs.reporting_year is None:
        raise ValueError("survey files are validated one reporting year at a time")
    versions = {c.template_version: c for c in template.versions(kind)}
    current = template.current(kind, inputs.reporting_year)
    results = [
        validate_kind(group, versions[int(version)], inputs) for version, group in cells.groupby(TEMPLATE_VERSION)
    ] or [validate_kind(cells, current, inputs)]
    # the columns every version publishes, typed as the version that has them types them
    typed: dict[str, object] = {}  # column -> dtype
    for contract in versions.values():
        empty = cells.iloc[:0]
        for name, column in normalise_rows(empty, validation_frame(empty, contract), contract).items():
            typed.setdefault(name, column.dtype)
    aligned = []
    for result in results:
        frame = result.accepted
        for name, dtype in typed.items():
            if name not in frame:
                frame[name] = pd.Series(
                    pd.NA if isinstance(dtype, pd.api.extensions.ExtensionDtype) else None,
                    index=frame.index,
                    dtype=dtype,
                )
        aligned.append(frame[list(typed)])
    accepted = aligned[0] if len(aligned) == 1 else _in_file_order(pd.concat(aligned, ignore_index=True), cells)
    quarantined = [r.quarantined for r in results]
    return Validated(accepted, pd.concat(quarantined, ignore_index=True) if len(quarantined) > 1 else quarantined[0])


QUARANTINE_COLUMNS = ["source_file", "source_sheet", "source_row", "level", "reasons", "record"]


def quarantine_rows(cells: pd.DataFrame, reasons: list[list[str]], contract: Contract) -> pd.DataFrame:
    known = [c.name for c in contract.columns]
    # every known column, null for a blank cell (a missing value read back from Parquet is NaN, not JSON)
    records = [
        None
        if contract.confidential
        else json.dumps(
            {k: v if isinstance(v, str) else None for k, v in row.items()}, ensure_ascii=False, allow_nan=False
        )
        for row in cells[known].to_dict("records")
    ]
    return pd.DataFrame(
        {
            "source_file": cells["source_file"].to_numpy(),
            "source_sheet": cells["source_sheet"].to_numpy(),
            "source_row": cells["source_row"].astype("Int64").to_numpy(),
            "level": "row",
            "reasons": reasons,
            "record": records,
        },
        columns=QUARANTINE_COLUMNS,
    )
