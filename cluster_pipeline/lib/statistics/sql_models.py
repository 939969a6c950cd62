"""dbt-style SQL models: dbt_like_sql/models/*.sql, referring to each other, to upstream
tables and to seeds with {{ ref('name') }}, run in DuckDB for one reporting year.

A model's dependencies are read from its Jinja syntax tree (every ref() call), not with a
regex: a ref inside a Jinja comment does not count, and a computed ref is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb
import jinja2
import jinja2.nodes
import pandas as pd

from cluster_pipeline.lib.project_files import project_dir
from cluster_pipeline.lib.vocabulary import FLAGS

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True)


class ModelError(ValueError):
    """A model cannot be parsed, has an unknown ref, or fails in DuckDB."""


@dataclass(frozen=True)
class Model:
    name: str
    path: Path
    sql: str
    refs: tuple[str, ...]

    @property
    def yaml_path(self) -> Path:
        """What the model's table means, column by column (dbt's convention: beside the SQL)."""
        return self.path.with_suffix(".yml")


def models_dir() -> Path:
    return project_dir() / "dbt_like_sql" / "models"


def seed_names() -> set[str]:
    return {p.stem for p in (project_dir() / "dbt_like_sql" / "seeds").glob("*.csv")}


def refs_of(sql: str, where: str) -> tuple[str, ...]:
    try:
        tree = _ENV.parse(sql)
    except jinja2.TemplateSyntaxError as exc:
        raise ModelError(f"{where}: line {exc.lineno}: {exc.message}") from None
    refs = []
    for call in tree.find_all(jinja2.nodes.Call):
        if isinstance(call.node, jinja2.nodes.Name) and call.node.name == "ref":
            if len(call.args) != 1 or not isinstance(call.args[0], jinja2.nodes.Const):
                raise ModelError(f"{where}: line {call.lineno}: ref() takes one literal name")
            refs.append(call.args[0].value)
    return tuple(dict.fromkeys(refs))


def load_model(path: Path) -> Model:
    sql = path.read_text(encoding="utf-8")
    return Model(path.stem, path, sql, refs_of(sql, path.name))


@cache
def load_models() -> dict[str, Model]:
    """All models in dependency order."""
    models = {m.name: m for m in map(load_model, sorted(models_dir().glob("*.sql")))}
    order = TopologicalSorter({name: [r for r in m.refs if r in models] for name, m in models.items()}).static_order()
    return {name: models[name] for name in order}


@cache
def macros() -> str:
    """dbt_like_sql/macros/*.sql: Jinja macros every model may call."""
    return "".join(
        p.read_text(encoding="utf-8") for p in sorted((project_dir() / "dbt_like_sql" / "macros").glob("*.sql"))
    )


def render(model: Model, year: int) -> str:
    """SQL with every ref replaced by the relation of that name (registered by run_model); the
    year, the five outcome flags and the macros are there to use too."""
    return _ENV.from_string(macros() + model.sql).render(ref=lambda name: f'"{name}"', year=int(year), flags=FLAGS)


def run_model(
    model: Model, year: int, inputs: dict[str, pd.DataFrame | Path], declared: list[str] | None = None
) -> pd.DataFrame:
    """Run one model over its inputs: a DataFrame or a Parquet file for each ref that is not a
    seed; seeds are read from dbt_like_sql/seeds/ as text (the models cast what they need).
    With `declared` (its YAML's columns), the SQL must return exactly those."""
    seeds = seed_names()
    missing = [r for r in model.refs if r not in inputs and r not in seeds]
    if missing:
        raise ModelError(f"{model.name}: no input for ref(s) {', '.join(missing)}")
    with duckdb.connect() as con:
        for name in model.refs:
            source = inputs.get(name)
            if source is None:
                path = project_dir() / "dbt_like_sql" / "seeds" / f"{name}.csv"
                con.read_csv(str(path), header=True, all_varchar=True).create_view(name)
            elif isinstance(source, pd.DataFrame):
                con.register(name, source)
            else:
                con.read_parquet(str(source)).create_view(name)
        try:
            frame = con.execute(render(model, year)).df()
        except duckdb.Error as exc:
            raise ModelError(f"{model.name} ({model.path.name}) failed for {year}: {exc}") from None
    return in_declared_columns(model, frame, declared)


def in_declared_columns(model: Model, frame: pd.DataFrame, declared: list[str] | None) -> pd.DataFrame:
    """The model's output in the order its YAML declares; a column the SQL returns that the YAML
    does not declare (or the reverse) is an error, never dropped or published undescribed."""
    if declared is None:
        return frame
    extra = [c for c in frame.columns if c not in declared]
    missing = [c for c in declared if c not in frame.columns]
    if extra or missing:
        raise ModelError(
            f"{model.name}: {model.path.name} returns columns its {model.yaml_path.name} does not declare "
            f"({', '.join(extra) or 'none'}) and lacks declared ones ({', '.join(missing) or 'none'})"
        )
    return frame[declared]
