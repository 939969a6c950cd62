"""Load the ODCS data contracts into a small, strict model.

Every key the pipeline meets in a contract must mean something to it: an unknown
property key, custom property, quality metric or relationship raises ContractError,
so that no rule written in a contract is ever silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from cluster_pipeline.lib.project_files import contracts_dir, read_yaml

KINDS = ("members", "profile")  # the survey's kinds; the register (register.yaml) is read on its own
LOGICAL_TYPES = {"string", "integer", "number", "boolean", "date"}


class ContractError(ValueError):
    """A contract holds something the pipeline does not understand."""


@dataclass(frozen=True)
class Column:
    name: str
    logical_type: str
    required: bool = False
    description: str = ""
    aliases: tuple[str, ...] = ()
    value_aliases: dict[str, str] = field(default_factory=dict)
    pattern: str | None = None
    pattern_in_words: str | None = None  # how a person writes a value the pattern accepts
    minimum: float | None = None
    maximum: float | None = None
    valid_values: tuple[str, ...] = ()
    date_formats: tuple[str, ...] = ()
    required_when: tuple[str, tuple[str, ...]] | None = None
    equals_reporting_year: bool = False
    reference_data: str | None = None  # "<seed>.<column>"
    foreign_key: str | None = None  # "<kind>.<column>"
    check_digit: str | None = None
    check_digit_required: bool = False  # failing the check quarantines the row (else: a warning)
    zero_pad_to: int | None = None
    unique: bool = False  # every row whose value appears twice is ambiguous
    exclusive_minimum: float | None = None
    not_after_reporting_year: bool = False
    derives: tuple[str, tuple[str, ...]] | None = None  # (column, values meaning true): a boolean it implies
    derives_text: tuple[str, str, str] | None = None  # (column, when true, when false): a value a boolean implies

    def same_rules(self, other: Column) -> bool:
        """The same column in every rule but its description (what a contract diff compares)."""
        return replace(self, description="") == replace(other, description="")

    @property
    def enumerated(self) -> bool:
        """Values matched case-insensitively against a fixed list (template: enumerated kinds)."""
        return bool(self.valid_values) or self.logical_type == "boolean"


@dataclass(frozen=True)
class Contract:
    kind: str
    version: str
    sheet_names: tuple[str, ...]
    columns: tuple[Column, ...]
    boolean_spellings: dict[str, bool] = field(default_factory=dict)
    confidential: bool = False  # reasons and records never show a cell's value
    # which version of ../shared/SURVEY_TEMPLATE.md it implements, and when (see template.py)
    template_version: int = 1
    years_from: int | None = None  # the first reporting year it is in force (None: from the start)
    transition_until: int | None = None  # still accepted, with a warning, until this year after a newer one
    source: str = ""  # the contract file

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def header_map(self) -> dict[str, str]:
        """Canonical header text (English or Danish) -> column name."""
        mapping = {}
        for column in self.columns:
            for header in (column.name, *column.aliases):
                mapping[canonical_token(header)] = column.name
        return mapping


# format characters that show as nothing (pasted from web forms): zero-width space, non-joiner
# and joiner, word joiner, soft hyphen, and a byte-order mark inside a cell; removed on read
INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\u00ad\ufeff]")


def canonical_token(text: str) -> str:
    """The template's matching rule for headers and enumerated values:
    case-insensitive, surrounding whitespace ignored, '-' and ' ' treated as '_'."""
    return re.sub(r"[\s\-]+", "_", INVISIBLE.sub("", text).strip().casefold())


_PROPERTY_KEYS = {
    "name",
    "logicalType",
    "required",
    "description",
    "logicalTypeOptions",
    "quality",
    "relationships",
    "customProperties",
    "physicalType",
    "unique",
}
_TYPE_OPTIONS = {"pattern", "minimum", "maximum", "exclusiveMinimum"}
_CONTRACT_PROPERTIES = {
    "sheetNames",
    "booleanValues",
    "confidential",
    "templateVersion",
    "reportingYears",
    "extends",
    "removesColumns",
}
# what a contract that extends another does not inherit: its own place among the versions
_NOT_INHERITED = {"templateVersion", "reportingYears", "extends", "removesColumns"}
_REPORTING_YEARS = {"from", "transitionUntil"}


def _custom_properties(items: list[dict] | None) -> dict:
    return {item["property"]: item["value"] for item in items or []}


def _parse_column(raw: dict, where: str) -> Column:
    unknown = set(raw) - _PROPERTY_KEYS
    if unknown:
        raise ContractError(f"{where}: unsupported property keys {sorted(unknown)}")
    name = raw["name"]
    where = f"{where}.{name}"
    logical_type = raw.get("logicalType", "string")
    if logical_type not in LOGICAL_TYPES:
        raise ContractError(f"{where}: unsupported logicalType {logical_type!r}")
    options = raw.get("logicalTypeOptions") or {}
    if set(options) - _TYPE_OPTIONS:
        raise ContractError(f"{where}: unsupported logicalTypeOptions {sorted(set(options) - _TYPE_OPTIONS)}")

    valid_values: tuple[str, ...] = ()
    for rule in raw.get("quality") or []:
        if (
            rule.get("type", "library") != "library"
            or rule.get("metric") != "invalidValues"
            or rule.get("mustBe") != 0
            or set(rule.get("arguments", {})) != {"validValues"}
        ):
            raise ContractError(f"{where}: unsupported quality rule {rule}")
        valid_values = tuple(str(v) for v in rule["arguments"]["validValues"])

    foreign_key = None
    for relationship in raw.get("relationships") or []:
        if relationship.get("type", "foreignKey") != "foreignKey" or not isinstance(relationship.get("to"), str):
            raise ContractError(f"{where}: unsupported relationship {relationship}")
        foreign_key = relationship["to"]

    custom = _custom_properties(raw.get("customProperties"))
    known_custom = {
        "aliases",
        "valueAliases",
        "dateFormats",
        "requiredWhen",
        "equalsReportingYear",
        "referenceData",
        "checkDigit",
        "zeroPadTo",
        "checkDigitRequired",
        "notAfterReportingYear",
        "derives",
        "derivesText",
        "patternInWords",
        "outcome",  # read by lib/vocabulary.py: an outcome flag's meaning and labels
    }
    if set(custom) - known_custom:
        raise ContractError(f"{where}: unsupported customProperties {sorted(set(custom) - known_custom)}")
    if custom.get("checkDigit") not in (None, "cvr_mod11"):
        raise ContractError(f"{where}: unsupported checkDigit {custom['checkDigit']!r}")
    if logical_type == "date" and not custom.get("dateFormats"):
        raise ContractError(f"{where}: a date column needs dateFormats")
    required_when = None
    if "requiredWhen" in custom:
        cond = custom["requiredWhen"]
        if set(cond) != {"column", "in"}:
            raise ContractError(f"{where}: unsupported requiredWhen {cond}")
        required_when = (cond["column"], tuple(canonical_token(str(v)) for v in cond["in"]))
    derives = None
    if "derives" in custom:
        rule = custom["derives"]
        if set(rule) != {"column", "trueWhen"}:
            raise ContractError(f"{where}: unsupported derives {rule}")
        derives = (rule["column"], tuple(str(v) for v in rule["trueWhen"]))
    derives_text = None
    if "derivesText" in custom:
        rule = custom["derivesText"]
        if set(rule) != {"column", "whenTrue", "whenFalse"} or logical_type != "boolean":
            raise ContractError(f"{where}: unsupported derivesText {rule} (a boolean column's whenTrue/whenFalse)")
        derives_text = (rule["column"], str(rule["whenTrue"]), str(rule["whenFalse"]))

    return Column(
        name=name,
        logical_type=logical_type,
        required=bool(raw.get("required", False)),
        description=" ".join(str(raw.get("description", "")).split()),
        aliases=tuple(custom.get("aliases", ())),
        value_aliases={canonical_token(k): str(v) for k, v in (custom.get("valueAliases") or {}).items()},
        pattern=options.get("pattern"),
        minimum=options.get("minimum"),
        maximum=options.get("maximum"),
        valid_values=valid_values,
        date_formats=tuple(custom.get("dateFormats", ())),
        required_when=required_when,
        equals_reporting_year=bool(custom.get("equalsReportingYear", False)),
        reference_data=custom.get("referenceData"),
        foreign_key=foreign_key,
        check_digit=custom.get("checkDigit"),
        zero_pad_to=custom.get("zeroPadTo"),
        check_digit_required=bool(custom.get("checkDigitRequired", False)),
        unique=bool(raw.get("unique", False)),
        exclusive_minimum=options.get("exclusiveMinimum"),
        not_after_reporting_year=bool(custom.get("notAfterReportingYear", False)),
        derives=derives,
        derives_text=derives_text,
        pattern_in_words=custom.get("patternInWords"),
    )


def parse_contract(document: dict, where: str = "contract") -> Contract:
    if not str(document.get("apiVersion", "")).startswith("v3."):
        raise ContractError(f"{where}: expected an ODCS v3 contract, got apiVersion {document.get('apiVersion')!r}")
    (schema,) = document["schema"]
    contract_props = _custom_properties(document.get("customProperties"))
    if set(contract_props) - _CONTRACT_PROPERTIES:
        raise ContractError(
            f"{where}: unsupported customProperties {sorted(set(contract_props) - _CONTRACT_PROPERTIES)}"
        )
    columns = tuple(_parse_column(p, f"{where}:{schema['name']}") for p in schema["properties"])
    spellings = contract_props.get("booleanValues") or {}
    if any(c.logical_type == "boolean" for c in columns) and set(spellings) != {"true", "false"}:
        raise ContractError(f"{where}: boolean columns need booleanValues with true and false spellings")
    boolean_spellings = {
        canonical_token(str(word)): meaning == "true" for meaning, words in spellings.items() for word in words
    }
    years = contract_props.get("reportingYears") or {}
    if set(years) - _REPORTING_YEARS:
        raise ContractError(f"{where}: unsupported reportingYears {sorted(set(years) - _REPORTING_YEARS)}")
    return Contract(
        kind=schema["name"],
        version=str(document["version"]),
        sheet_names=tuple(canonical_token(s) for s in contract_props.get("sheetNames", ())),
        columns=columns,
        boolean_spellings=boolean_spellings,
        confidential=bool(contract_props.get("confidential", False)),
        template_version=int(contract_props.get("templateVersion", 1)),
        years_from=years.get("from"),
        transition_until=years.get("transitionUntil"),
        source=where,
    )


def resolved_document(path: Path) -> dict:
    """The contract file as a whole contract: one that `extends` another (a later template
    version) starts from that one's columns, drops its `removesColumns`, replaces the columns
    it names again and adds the new ones, so nothing is written twice."""
    document = read_yaml(path)
    props = _custom_properties(document.get("customProperties"))
    if "extends" not in props:
        return document
    base = resolved_document(path.with_name(props["extends"]))
    (schema,), (base_schema,) = document["schema"], base["schema"]
    removed = set(props.get("removesColumns", ()))
    own = {p["name"]: p for p in schema.get("properties", [])}
    unknown = removed - {p["name"] for p in base_schema["properties"]}
    if unknown:
        raise ContractError(
            f"{path.name}: removesColumns names columns {props['extends']} does not have: {sorted(unknown)}"
        )
    properties = [own.pop(p["name"], p) for p in base_schema["properties"] if p["name"] not in removed]
    inherited = [item for item in base.get("customProperties") or [] if item["property"] not in _NOT_INHERITED]
    mine = document.get("customProperties") or []
    return {
        **document,
        "customProperties": [i for i in inherited if i["property"] not in {m["property"] for m in mine}] + mine,
        "schema": [{**base_schema, **schema, "properties": properties + list(own.values())}],
    }


def load_contract_file(path: Path) -> Contract:
    return parse_contract(resolved_document(path), where=path.name)


@cache
def load_contract(kind: str) -> Contract:
    return load_contract_file(contracts_dir() / f"{kind}.yaml")
