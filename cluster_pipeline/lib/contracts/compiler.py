"""Compile a contract into validation rules: plain data naming a Great Expectations
expectation, its arguments and the reason a person reads when a row breaks it.

Values the rules need that are not in the contract (the reporting year, reference
data, the keys a foreign key points at) come in through RuleInputs. The compiler
raises on anything it cannot compile, so no contract rule is ever dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cluster_pipeline.lib.survey.model import Column, Contract, ContractError

NUMBER_SHADOW = "__number__{}"
DATE_SHADOW = "__isodate__{}"
CHECK_DIGIT_SHADOW = "__checkdigit__{}"

INTEGER_REGEX = r"^[+-]?\d+$"
NUMBER_REGEX = r"^[+-]?\d+(?:[.,]\d+)?$"


@dataclass(frozen=True)
class Rule:
    rule_id: str  # "<column>.<rule>", stable: tests and analysts filter on it
    column: str  # the contract column a person should look at
    expectation: str  # Great Expectations class name
    kwargs: dict
    message: str
    condition_columns: tuple[str, ...] = ()  # read by its row_condition

    @property
    def reads(self) -> tuple[str, ...]:
        """Every column of the validation frame the rule reads, in a stable order."""
        named = [self.kwargs.get("column"), self.kwargs.get("column_A"), self.kwargs.get("column_B")]
        return tuple(sorted({*filter(None, named), *self.kwargs.get("column_list", ()), *self.condition_columns}))


@dataclass(frozen=True)
class RuleInputs:
    reporting_year: int | None  # None: the rows' years are in year_column
    reference_data: dict[str, set[str]] = field(default_factory=dict)  # "seed.column" -> values
    foreign_keys: dict[str, set[str]] = field(default_factory=dict)  # "kind.column" -> values
    # rows of several years validated as one batch (the register's files, one per year): the
    # column holding each row's year, which the year rules compare with and within which a
    # unique column must be unique (one suite for every year: GX's fixed cost is paid once)
    year_column: str | None = None

    def __post_init__(self):
        if (self.reporting_year is None) == (self.year_column is None):
            raise ValueError("RuleInputs: give either reporting_year or year_column")


def _lookup(table: dict[str, set[str]], key: str, what: str, where: str) -> list[str]:
    if key not in table:
        raise ContractError(f"{where}: {what} {key!r} is not available to the validation")
    return sorted(table[key])


def column_rules(column: Column, contract: Contract, inputs: RuleInputs) -> list[Rule]:
    name, where = column.name, f"{contract.kind}.{column.name}"
    rules = []

    def add(rule: str, expectation: str, message: str, condition_columns: tuple[str, ...] = (), **kwargs):
        rules.append(Rule(f"{name}.{rule}", name, expectation, kwargs, message, condition_columns))

    if column.required:
        add("required", "ExpectColumnValuesToNotBeNull", "is required", column=name)
    if column.logical_type == "integer":
        add("integer", "ExpectColumnValuesToMatchRegex", "must be a whole number", column=name, regex=INTEGER_REGEX)
    elif column.logical_type == "number":
        add(
            "number",
            "ExpectColumnValuesToMatchRegex",
            "must be a number (decimal point or comma)",
            column=name,
            regex=NUMBER_REGEX,
        )
    elif column.logical_type == "boolean":
        add(
            "boolean",
            "ExpectColumnValuesToBeInSet",
            "must be yes/no (true/false, yes/no, ja/nej, 1/0, x or blank)",
            column=name,
            value_set=sorted(contract.boolean_spellings),
        )
    elif column.logical_type == "date":
        formats = " or ".join(
            f.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD") for f in column.date_formats
        )
        add(
            "date",
            "ExpectColumnValuesToMatchStrftimeFormat",
            f"must be a real date written {formats}",
            column=DATE_SHADOW.format(name),
            strftime_format="%Y-%m-%d",
        )
    if column.pattern:
        add(
            "pattern",
            "ExpectColumnValuesToMatchRegex",
            f"must be written {column.pattern_in_words}" if column.pattern_in_words else f"must match {column.pattern}",
            column=name,
            regex=column.pattern,
        )
    if column.check_digit_required:
        if not column.check_digit:
            raise ContractError(f"{where}: checkDigitRequired without checkDigit")
        add(
            "check_digit",
            "ExpectColumnValuesToBeInSet",
            "fails the modulus-11 check digit",
            column=CHECK_DIGIT_SHADOW.format(name),
            value_set=[True],
        )
    if column.unique and inputs.year_column:
        add(
            "unique",
            "ExpectCompoundColumnsToBeUnique",
            "appears in more than one row of the file (every such row is ambiguous)",
            column_list=[name, inputs.year_column],
            ignore_row_if="any_value_is_missing",
        )
    elif column.unique:
        add(
            "unique",
            "ExpectColumnValuesToBeUnique",
            "appears in more than one row of the file (every such row is ambiguous)",
            column=name,
        )
    if column.exclusive_minimum is not None:
        add(
            "range_exclusive",
            "ExpectColumnValuesToBeBetween",
            f"must be > {column.exclusive_minimum:g}",
            column=NUMBER_SHADOW.format(name),
            min_value=column.exclusive_minimum,
            strict_min=True,
        )
    if column.not_after_reporting_year and column.logical_type != "integer":
        raise ContractError(f"{where}: notAfterReportingYear on a non-integer column")
    if column.not_after_reporting_year and inputs.year_column:
        add(
            "not_after_year",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            "must not be after the year of its file",
            column_A=inputs.year_column,
            column_B=NUMBER_SHADOW.format(name),
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        )
    elif column.not_after_reporting_year and inputs.reporting_year is not None:
        add(
            "not_after_year",
            "ExpectColumnValuesToBeBetween",
            f"must not be after the year {inputs.reporting_year}",
            column=NUMBER_SHADOW.format(name),
            max_value=float(inputs.reporting_year),
        )
    if column.minimum is not None or column.maximum is not None:
        if column.logical_type not in ("integer", "number"):
            raise ContractError(f"{where}: minimum/maximum on a non-numeric column")
        bounds = " and ".join(
            b
            for b in (
                f">= {column.minimum:g}" if column.minimum is not None else "",
                f"<= {column.maximum:g}" if column.maximum is not None else "",
            )
            if b
        )
        add(
            "range",
            "ExpectColumnValuesToBeBetween",
            f"must be {bounds}",
            column=NUMBER_SHADOW.format(name),
            min_value=column.minimum,
            max_value=column.maximum,
        )
    if column.valid_values:
        allowed = sorted(set(column.valid_values) | set(column.value_aliases))
        add(
            "allowed_values",
            "ExpectColumnValuesToBeInSet",
            f"must be one of {', '.join(column.valid_values)}",
            column=name,
            value_set=allowed,
        )
    if column.reference_data:
        values = _lookup(inputs.reference_data, column.reference_data, "reference data", where)
        add(
            "reference",
            "ExpectColumnValuesToBeInSet",
            f"must be one of the {len(values)} known {column.reference_data} values",
            column=name,
            value_set=values,
        )
    if column.foreign_key:
        keys = _lookup(inputs.foreign_keys, column.foreign_key, "foreign key", where)
        add(
            "foreign_key",
            "ExpectColumnValuesToBeInSet",
            f"must have its {column.foreign_key.split('.')[0]} accepted in the same year: send the "
            f"{column.foreign_key.split('.')[0]} with this file",
            column=name,
            value_set=keys,
        )
    if column.equals_reporting_year and column.logical_type != "integer":
        raise ContractError(f"{where}: equalsReportingYear on a non-integer column")
    if column.equals_reporting_year and inputs.year_column:
        add(
            "reporting_year",
            "ExpectColumnPairValuesToBeEqual",
            "must equal the year of its file",
            column_A=NUMBER_SHADOW.format(name),
            column_B=inputs.year_column,
            ignore_row_if="either_value_is_missing",
        )
    elif column.equals_reporting_year and inputs.reporting_year is not None:
        add(
            "reporting_year",
            "ExpectColumnValuesToBeInSet",
            f"must equal the landing folder's year {inputs.reporting_year}",
            column=NUMBER_SHADOW.format(name),
            value_set=[float(inputs.reporting_year)],
        )
    if column.required_when:
        other, when = column.required_when
        # the condition is checked on the cells as written, so Danish spellings count too
        spellings = set(when) | {a for a, v in contract.column(other).value_aliases.items() if v in when}
        add(
            "required_when",
            "ExpectColumnValuesToNotBeNull",
            f"is required when {other} is {', '.join(when)}",
            column=name,
            row_condition=f"{other} in {sorted(spellings)!r}",
            condition_columns=(other,),
            condition_parser="pandas",
        )
    return rules


def compile_contract(contract: Contract, inputs: RuleInputs) -> list[Rule]:
    rules = []
    for column in contract.columns:
        try:
            rules += column_rules(column, contract, inputs)
        except StopIteration:
            raise ContractError(f"{contract.kind}.{column.name}: rule refers to an unknown column") from None
    return rules
