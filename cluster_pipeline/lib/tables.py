"""The published tables' meaning, read from their YAML (dbt's convention): one file beside every
SQL model (dbt_like_sql/models/<table>.yml) and one per table the pipeline writes otherwise
(dbt_like_sql/tables/<table>.yml). Each gives the table's description, its scope (a file per
year or one over all years), and every column with type, unit, English and Danish label and
description. The Parquet schemas, the SQL warehouse's comments, the docs, the checks' column
lists and the labels of every published format are read from here.

Two things keep the YAML short without a second home: `for_each_outcome` repeats its columns
for every outcome flag of the members contract (`{outcome}`, `{meaning}`, `{en}`, `{da}`), and
a column with `contract: members` takes its type and description from the contract (a `note`
adds what publishing changes). `{sme_limit}` and the other thresholds come from the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
import pyarrow as pa

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.project_files import project_dir, read_yaml
from cluster_pipeline.lib.vocabulary import outcomes

DATA_TYPES = {
    "string": pa.string(),
    "int64": pa.int64(),
    "int32": pa.int32(),
    "boolean": pa.bool_(),
    "float64": pa.float64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "list<string>": pa.list_(pa.string()),
    "list<int64>": pa.list_(pa.int64()),
}
CONTRACT_TYPES = {"string": "string", "integer": "int64", "boolean": "boolean", "number": "float64", "date": "date"}
SCOPES = ("year", "all_years")
_COLUMN_KEYS = {"name", "data_type", "unit", "label", "description", "contract", "note", "decimals"}


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: pa.DataType
    description: str


def arrow_schema(columns: list[ColumnSpec]) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.type, metadata={"description": c.description}) for c in columns])


class TableYamlError(ValueError):
    """A table's YAML says something the pipeline does not understand."""


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    description: str
    label_en: str
    label_da: str
    unit: str | None = None
    decimals: int | None = None  # as published in JSON-stat and PX (else by type: lib/publish/cubes.py)

    @property
    def spec(self) -> ColumnSpec:
        return ColumnSpec(self.name, DATA_TYPES[self.data_type], self.description)


@dataclass(frozen=True)
class Check:
    name: str
    description: str  # what it asserts, thresholds filled in from the seed
    blocking: bool = False  # a failure stops everything downstream


@dataclass(frozen=True)
class Table:
    name: str
    path: Path
    description: str
    scope: str
    columns: tuple[Column, ...]
    checks: dict[str, Check]
    preview: dict  # sort_by / descending / columns: what a person wants to look at first
    cube: dict  # a statistic's dimensions and title, for JSON-stat and PX (lib/publish/cubes.py)

    @property
    def label_en(self) -> str:
        return str(self.cube.get("title", {}).get("en", self.name))

    @property
    def label_da(self) -> str:
        return str(self.cube.get("title", {}).get("da", self.name))

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def preview_of(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows and columns the YAML's preview names (sort_by: a leading '-' sorts descending)."""
        if sort_by := self.preview.get("sort_by"):
            frame = frame.sort_values(
                [key.lstrip("-") for key in sort_by], ascending=[not key.startswith("-") for key in sort_by]
            )
        return frame[self.preview["columns"]] if "columns" in self.preview else frame


def table_dirs() -> tuple[Path, Path]:
    root = project_dir() / "dbt_like_sql"
    return root / "models", root / "tables"


def _placeholders() -> dict[str, int | float]:
    """Every threshold of the seed by name (a whole number as an int), and sme_limit."""
    limits = {name: int(v) if float(v).is_integer() else v for name, v in seeds.thresholds().items()}
    return limits | {"sme_limit": seeds.sme_employee_limit()}


def _check(raw: dict, where: str) -> Check:
    if unknown := set(raw) - {"name", "description", "blocking"}:
        raise TableYamlError(f"{where}: check {raw.get('name')}: unknown keys {sorted(unknown)}")
    if any(ch.isdigit() for ch in raw["name"]):
        raise TableYamlError(f"{where}: check {raw['name']}: a number in a check's name belongs in the thresholds seed")
    description = " ".join(str(raw["description"]).split()).format_map(_placeholders())
    return Check(raw["name"], description, bool(raw.get("blocking", False)))


def _contract_column(contract: str, name: str):
    """The column in the latest template version that has it."""
    from cluster_pipeline.lib.survey.model import load_contract_file  # only for tables that say `contract:`

    versions = [load_contract_file(path) for path in (project_dir() / "data_contracts").glob(f"{contract}*.yaml")]
    for version in sorted(versions, key=lambda c: c.template_version or 0, reverse=True):
        found = {c.name: c for c in version.columns}
        if name in found:
            return found[name]
    raise TableYamlError(f"no column {name!r} in the {contract} contract")


def _column(raw: dict, where: str, fill: dict) -> Column:
    unknown = set(raw) - _COLUMN_KEYS
    if unknown:
        raise TableYamlError(f"{where}: unknown keys {sorted(unknown)}")
    name = raw["name"].format_map(fill)
    where = f"{where}.{name}"
    if "contract" in raw:
        source = _contract_column(raw["contract"], name)
        data_type, description = CONTRACT_TYPES[source.logical_type], source.description
        if raw.get("note"):
            description = f"{description} {raw['note']}"
    else:
        data_type, description = str(raw.get("data_type")), str(raw.get("description", ""))
    if data_type not in DATA_TYPES:
        raise TableYamlError(f"{where}: data_type {data_type!r} is not one of {sorted(DATA_TYPES)}")
    label = raw.get("label") or {}
    if not description or set(label) != {"en", "da"}:
        raise TableYamlError(f"{where}: every column needs a description and a label in English and Danish")
    return Column(
        name=name,
        data_type=data_type,
        description=" ".join(str(description).format_map(fill).split()),
        label_en=str(label["en"]).format_map(fill),
        label_da=str(label["da"]).format_map(fill),
        unit=raw.get("unit"),
        decimals=raw.get("decimals"),
    )


def _columns(entries: list[dict], where: str) -> tuple[Column, ...]:
    fill = _placeholders()
    columns = []
    for entry in entries:
        if "for_each_outcome" in entry:
            for outcome in outcomes():
                values = fill | {"outcome": outcome.flag, "meaning": outcome.meaning}
                values |= {"en": outcome.en, "da": outcome.da}
                columns += [_column(raw, where, values) for raw in entry["for_each_outcome"]]
        else:
            columns.append(_column(entry, where, fill))
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise TableYamlError(f"{where}: a column is named twice")
    return tuple(columns)


def load_table(path: Path) -> Table:
    document = read_yaml(path)
    (raw,) = document["models"]
    where = path.name
    if raw["name"] != path.stem:
        raise TableYamlError(f"{where}: names table {raw['name']!r}, expected {path.stem!r}")
    meta = raw.get("meta") or {}
    if meta.get("scope") not in SCOPES:
        raise TableYamlError(f"{where}: meta.scope must be one of {SCOPES}")
    return Table(
        name=raw["name"],
        path=path,
        description=" ".join(str(raw["description"]).split()),
        scope=meta["scope"],
        columns=_columns(raw["columns"], where),
        checks={c["name"]: _check(c, where) for c in raw.get("checks") or []},
        preview=meta.get("preview") or {},
        cube=meta.get("cube") or {},
    )


@cache
def published_tables() -> dict[str, Table]:
    """Every published table, by name."""
    return {p.stem: load_table(p) for folder in table_dirs() for p in sorted(folder.glob("*.yml"))}


def table(name: str) -> Table:
    return published_tables()[name]


def is_published(name: str) -> bool:
    """A table analysts read (the others are intermediate)."""
    return name in published_tables()


def cube_meta(name: str) -> dict:
    return table(name).cube


def schema(name: str) -> pa.Schema:
    return arrow_schema([c.spec for c in table(name).columns])


def columns(name: str) -> list[str]:
    return [c.name for c in table(name).columns]


def _names(scope: str) -> list[str]:
    return [name for name, t in published_tables().items() if t.scope == scope]


# one file per year (<output>/<table>/year=<YYYY>/) / one over all years (<output>/<table>/)
TABLES = _names("year")
ALL_YEARS_TABLES = _names("all_years")
REGISTER_TABLES = ["register_manifest", "register_quarantine"]
IMPACT_TABLES = [name for name in ALL_YEARS_TABLES if name.startswith(("impact_", "register_"))]
MEASUREMENT_TABLES = [name for name in IMPACT_TABLES if name not in REGISTER_TABLES]
