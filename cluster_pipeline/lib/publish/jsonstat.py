"""A cube as a JSON-stat 2.0 dataset (https://json-stat.org/full/), one file per language as
StatBank serves them. No well-kept Python library writes full JSON-stat (roles, units,
status); the tests read these files back with pyjstat and validate them with
jsonstat-validator."""

from __future__ import annotations

import math

from cluster_pipeline.lib.publish.cubes import CONTENTS, STATUS_TEXT, Cube

LANGUAGES = ("en", "da")
CONTENTS_LABEL = {"en": "Contents", "da": "Indhold"}


def _label(thing, language: str) -> str:
    return thing.label_en if language == "en" else thing.label_da


def dataset(cube: Cube, language: str, updated: str, source: str, notes: list[str] | None = None) -> dict:
    """The cube in one language. `updated` is ISO 8601 (the release's time); notes are the
    dataset's footnotes (revisions, what a figure is)."""
    dimension: dict[str, dict] = {}
    for d in cube.dimensions:
        dimension[d.id] = {
            "label": d.label(language),
            "category": {
                "index": [c.id for c in d.categories],
                "label": {c.id: _label(c, language) for c in d.categories},
            },
        }
    dimension[CONTENTS] = {
        "label": CONTENTS_LABEL[language],
        "category": {
            "index": [m.column for m in cube.measures],
            "label": {m.column: _label(m, language) for m in cube.measures},
            "unit": {m.column: {"label": m.unit, "decimals": m.decimals} for m in cube.measures},
        },
    }
    roles: dict[str, list[str]] = {"metric": [CONTENTS]}
    for d in cube.dimensions:
        if d.role:
            roles.setdefault(d.role, []).append(d.id)
    used = sorted(set(cube.status.values()))
    return {
        "version": "2.0",
        "class": "dataset",
        "label": cube.title(language),
        "source": source,
        "updated": updated,
        "note": [cube.description, *(notes or [])],
        "id": cube.ids,
        "size": cube.sizes,
        "role": roles,
        "dimension": dimension,
        "value": [None if math.isnan(v) else _number(v, cube, i) for i, v in enumerate(cube.values.tolist())],
        "status": {str(i): s for i, s in sorted(cube.status.items())},
        "extension": {"status": {s: STATUS_TEXT[s][LANGUAGES.index(language)] for s in used}},
    }


def _number(value: float, cube: Cube, flat: int) -> float | int:
    decimals = cube.measures[flat % len(cube.measures)].decimals
    return int(round(value)) if decimals == 0 else round(value, decimals)
