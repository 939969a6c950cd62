"""The published statistics as cubes: dimensions with labelled categories, one metric dimension
(the table's measures, each with its unit and decimals) and a value for every combination.

JSON-stat and PX are two spellings of the same cube, and a release compares the same figures,
so the cube is built once here from a table's YAML (lib/tables.py): its `meta.cube` names the
dimension columns (role geo where they are places, a column that labels their categories);
every other number column is a measure; a yearly table gets the year as its time dimension.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cluster_pipeline.lib import tables

YEAR = "year"
CONTENTS = "contents"  # the metric dimension's id (PX's CONTVARIABLE)
NUMBER_TYPES = {"int64": 0, "float64": 2}  # a measure's type and its decimals unless the YAML says others

# A cell's status, as JSON-stat's `status` and PX's dots carry it (the same words in both)
MISSING = ".."  # no figure for this combination (not applicable or not measured)
SUPPRESSED = "x"  # withheld by the disclosure rule
REVISED = "r"  # changed since it was first published
STATUS_TEXT = {
    MISSING: ("not available", "ikke tilgængelig"),
    SUPPRESSED: ("suppressed to protect confidential data", "udeladt af hensyn til diskretion"),
    REVISED: ("revised since first published", "revideret siden første offentliggørelse"),
}


@dataclass(frozen=True)
class Category:
    id: str
    label_en: str
    label_da: str


@dataclass(frozen=True)
class Measure:
    column: str
    label_en: str
    label_da: str
    unit: str
    decimals: int


@dataclass(frozen=True)
class Dimension:
    id: str
    label_en: str
    label_da: str
    role: str | None  # time, geo or None (the metric dimension is the cube's `measures`)
    categories: tuple[Category, ...]

    def label(self, language: str) -> str:
        return self.label_en if language == "en" else self.label_da


@dataclass(frozen=True)
class Cube:
    table: str
    title_en: str
    title_da: str
    description: str
    dimensions: tuple[Dimension, ...]  # without the metric dimension, which comes last
    measures: tuple[Measure, ...]
    values: np.ndarray  # float, NaN where there is no figure; shape = sizes, row-major
    status: dict[int, str] = field(default_factory=dict)  # flat index -> MISSING / SUPPRESSED / REVISED

    def title(self, language: str) -> str:
        """The subject by its dimensions, the time last, as StatBank titles a table ("... by region and year")."""
        subject = self.title_en if language == "en" else self.title_da
        names = [d.label(language).lower() for d in self.dimensions if d.role != "time"]
        names += [d.label(language).lower() for d in self.dimensions if d.role == "time"]
        word = {"en": ("by", "and"), "da": ("efter", "og")}[language]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {word[1]} {names[-1]}"
        return f"{subject} {word[0]} {listed}" if names else subject

    @property
    def ids(self) -> list[str]:
        return [d.id for d in self.dimensions] + [CONTENTS]

    @property
    def sizes(self) -> list[int]:
        return [len(d.categories) for d in self.dimensions] + [len(self.measures)]

    def flat_index(self, key: dict[str, str], measure: str) -> int:
        """The position of one figure in the value array (row-major, the metric dimension last)."""
        positions = [next(i for i, c in enumerate(d.categories) if c.id == key[d.id]) for d in self.dimensions]
        positions.append(next(i for i, m in enumerate(self.measures) if m.column == measure))
        return int(np.ravel_multi_index(positions, self.sizes))


@dataclass(frozen=True)
class CubeSpec:
    """What the table's YAML says about its cube."""

    table: str
    dimensions: tuple[dict, ...]  # column, role, labels (a column naming the categories)
    measures: tuple[Measure, ...]
    suppression_column: str | None
    yearly: bool


# the statistics published as cubes (JSON-stat, PX, releases): the tables whose YAML says `meta.cube`
STATISTICS = [name for name, table in tables.published_tables().items() if table.cube]


def cube_spec(name: str) -> CubeSpec:
    spec = tables.table(name)
    declared = tables.cube_meta(name)
    dimensions = tuple(declared.get("dimensions") or [])
    taken = {d.get(key) for d in dimensions for key in ("column", "labels", "within")}
    measures = tuple(
        Measure(
            c.name,
            c.label_en,
            c.label_da,
            c.unit or "",
            c.decimals if c.decimals is not None else NUMBER_TYPES[c.data_type],
        )
        for c in spec.columns
        if c.data_type in NUMBER_TYPES and c.name not in taken and c.name not in declared.get("exclude", [])
    )
    return CubeSpec(name, dimensions, measures, declared.get("suppression"), spec.scope == "year")


def _category_ids(spec_entry: dict, frame: pd.DataFrame) -> pd.Series:
    """A dimension's category of every row: its column, or `within:column` where the YAML names
    a column it lies within (group_by:group), or the `missing` category where it is null."""
    ids = frame[spec_entry["column"]].astype("string")
    if within := spec_entry.get("within"):
        ids = frame[within].astype("string") + ":" + ids
    if missing := spec_entry.get("missing"):
        ids = ids.fillna(missing["id"])
    return ids


def _dimension(spec_entry: dict, frame: pd.DataFrame, table: tables.Table, names: dict[str, str]) -> Dimension:
    column = table.column(spec_entry["column"])
    ids = frame[column.name]
    if label_column := spec_entry.get("labels"):
        pairs = frame[[column.name, label_column]].dropna().astype(str).drop_duplicates(column.name)
        names = dict(zip(pairs[column.name], pairs[label_column])) | names
    categories = [Category(i, names.get(i, i), names.get(i, i)) for i in sorted(ids.dropna().unique())]
    if missing := spec_entry.get("missing"):
        categories = [Category(missing["id"], missing["en"], missing["da"])] + [
            c for c in categories if c.id != missing["id"]
        ]
    return Dimension(column.name, column.label_en, column.label_da, spec_entry.get("role"), tuple(categories))


def build_cube(name: str, frame: pd.DataFrame, category_names: dict[str, dict[str, str]] | None = None) -> Cube:
    """The table's cube from its rows (a yearly table's rows of every year, with a `year` column);
    category_names gives labels a table does not carry itself (a cluster's name)."""
    spec, table = cube_spec(name), tables.table(name)
    category_names = category_names or {}
    dimensions = []
    if spec.yearly:
        years = tuple(Category(str(y), str(y), str(y)) for y in sorted(frame[YEAR].unique()))
        dimensions.append(Dimension(YEAR, "Year", "År", "time", years))
    frame = frame.assign(**{d["column"]: _category_ids(d, frame) for d in spec.dimensions})
    dimensions += [_dimension(d, frame, table, category_names.get(d["column"], {})) for d in spec.dimensions]
    sizes = [len(d.categories) for d in dimensions] + [len(spec.measures)]
    values = np.full(math.prod(sizes), np.nan)
    status: dict[int, str] = {}
    if len(frame):
        positions = [
            pd.Categorical(frame[d.id].astype(str), categories=[c.id for c in d.categories]).codes for d in dimensions
        ]
        if pd.DataFrame(np.column_stack(positions)).duplicated().any():
            raise ValueError(f"{name}: two rows for the same combination of {[d.id for d in dimensions]}")
        suppressed = frame[spec.suppression_column].notna().to_numpy() if spec.suppression_column else None
        for m, measure in enumerate(spec.measures):
            flat = np.ravel_multi_index([*positions, np.full(len(frame), m)], sizes)
            column = pd.to_numeric(frame[measure.column], errors="coerce").astype("float64").to_numpy()
            values[flat] = column
            if suppressed is not None:
                status |= dict.fromkeys(flat[suppressed].tolist(), SUPPRESSED)
    for index in np.flatnonzero(np.isnan(values)).tolist():
        status.setdefault(index, MISSING)
    return Cube(
        name, table.label_en, table.label_da, table.description, tuple(dimensions), spec.measures, values, status
    )


def rounded(value: float, decimals: int) -> float | None:
    """A figure as published: rounded to its measure's decimals (None where there is none)."""
    return None if value is None or math.isnan(value) else round(float(value), decimals)


def figures(cube: Cube) -> pd.DataFrame:
    """Every published figure of the cube, one row each: year, the other dimensions as text
    (`cluster_id=C01`), measure and value as published (rounded). What releases compare."""
    rows = []
    names = [d.id for d in cube.dimensions]
    combos = itertools.product(*[[c.id for c in d.categories] for d in cube.dimensions])
    for position, ids in enumerate(combos):
        for m, measure in enumerate(cube.measures):
            flat = position * len(cube.measures) + m  # row-major, the metric dimension last
            if cube.status.get(flat) in (MISSING, SUPPRESSED):
                continue
            key = dict(zip(names, ids))
            rows.append(
                {
                    "table": cube.table,
                    "year": int(key.pop(YEAR)) if YEAR in key else None,
                    "dimensions": "; ".join(f"{k}={v}" for k, v in key.items()),
                    "measure": measure.column,
                    "value": rounded(cube.values[flat], measure.decimals),
                }
            )
    return pd.DataFrame(rows, columns=["table", "year", "dimensions", "measure", "value"]).astype({"year": "Int64"})
