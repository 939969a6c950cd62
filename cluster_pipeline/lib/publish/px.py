"""A cube as a PX file (PC-Axis, the format of StatBank and every PxWeb site): Danish and
English in one file (LANGUAGE="da", each translated keyword right after its Danish one),
the year as the heading, the other dimensions and the contents as the stub, missing figures
as dots. No well-kept Python library writes PX; the tests read these files back with pyaxis.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np

from cluster_pipeline.lib.publish.cubes import MISSING, STATUS_TEXT, SUPPRESSED, YEAR, Cube

LANGUAGE, OTHER = "da", "en"
CONTENTS_LABEL = {"da": "indhold", "en": "contents"}
# PX's dots, as PxWeb and pyaxis read them: "." no figure, ".." withheld (statistical disclosure)
DOTS = {MISSING: '"."', SUPPRESSED: '".."'}
LINE = 240  # PX lines stay under 256 characters


def _quoted(text: str) -> str:
    return '"' + str(text).replace('"', "'").replace(";", ",") + '"'


def _text(text: str) -> str:
    """A long text as consecutive quoted strings, one per line (PX joins them)."""
    words, parts, line = str(text).split(), [], ""
    for word in words:
        if line and len(line) + len(word) > LINE - 10:
            parts.append(line + " ")
            line = ""
        line += (" " if line and not line.endswith(" ") else "") + word
    parts.append(line)
    return "\n".join(_quoted(p) for p in parts)


def _list(items: list[str]) -> str:
    lines, line = [], ""
    for item in map(_quoted, items):
        if line and len(line) + len(item) > LINE:
            lines.append(line)
            line = ""
        line += ("," if line else "") + item
    lines.append(line)
    return ",\n".join(lines)


class _Keywords:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, keyword: str, value: str, subkey: str = "", translated: str | None = None, subkey_en: str = ""):
        """KEYWORD("subkey")=value; then KEYWORD[en]("subkey")=translated; where given."""
        self.lines.append(f"{keyword}{_subkey(subkey)}={value};")
        if translated is not None:
            self.lines.append(f"{keyword}[{OTHER}]{_subkey(subkey_en)}={translated};")


def _subkey(subkey: str) -> str:
    return f'("{subkey}")' if subkey else ""


def _labels(cube: Cube, language: str) -> tuple[list[str], dict[str, list[str]]]:
    """The variables' names and their values' texts in one language, in PX order (stub, heading)."""
    names = [d.label(language).lower() for d in cube.dimensions] + [CONTENTS_LABEL[language]]
    values = {}
    for name, d in zip(names, cube.dimensions):
        values[name] = [c.label_en if language == "en" else c.label_da for c in d.categories]
    values[names[-1]] = [m.label_en if language == "en" else m.label_da for m in cube.measures]
    return names, values


def _px_order(cube: Cube) -> tuple[list[int], list[int]]:
    """Positions of the cube's axes in the stub and the heading: the year heads the columns."""
    axes = list(range(len(cube.dimensions) + 1))
    time = [i for i, d in enumerate(cube.dimensions) if d.id == YEAR]
    heading = time or [axes[-1]]
    return [a for a in axes if a not in heading], heading


def _cell(value: float, status: str | None, decimals: int) -> str:
    if status in DOTS or math.isnan(value):
        return DOTS.get(status or MISSING, DOTS[MISSING])
    return f"{value:.{decimals}f}"


def px_file(cube: Cube, updated: datetime, source: dict[str, str], notes: dict[str, list[str]] | None = None) -> str:
    """The cube as PX text (UTF-8); source and notes by language ("da", "en")."""
    notes = notes or {}
    stub, heading = _px_order(cube)
    names = {lang: _labels(cube, lang) for lang in (LANGUAGE, OTHER)}
    (da_names, da_values), (en_names, en_values) = names[LANGUAGE], names[OTHER]
    stamp = updated.strftime("%Y%m%d %H:%M")
    # DECIMALS is the fewest of any measure; PRECISION raises it for the measures with more
    decimals = min([m.decimals for m in cube.measures] or [0])
    k = _Keywords()
    k.add("CHARSET", '"ANSI"')
    k.add("AXIS-VERSION", '"2013"')
    k.add("CODEPAGE", '"utf-8"')
    k.add("LANGUAGE", _quoted(LANGUAGE))
    k.add("LANGUAGES", _list([LANGUAGE, OTHER]))
    k.add("CREATION-DATE", _quoted(stamp))
    k.add("DECIMALS", str(decimals))
    k.add("SHOWDECIMALS", str(decimals))
    k.add("MATRIX", _quoted(cube.table.upper()))
    k.add("SUBJECT-CODE", '"KLYNGER"')
    k.add("SUBJECT-AREA", '"Klyngestatistik"', translated='"Cluster statistics"')
    k.add("CONTENTS", _quoted(cube.title_da), translated=_quoted(cube.title_en))
    k.add("TITLE", _text(cube.title(LANGUAGE)), translated=_text(cube.title(OTHER)))
    k.add("UNITS", '"se indhold"', translated='"see contents"')
    k.add("STUB", _list([da_names[i] for i in stub]), translated=_list([en_names[i] for i in stub]))
    k.add("HEADING", _list([da_names[i] for i in heading]), translated=_list([en_names[i] for i in heading]))
    k.add("CONTVARIABLE", _quoted(da_names[-1]), translated=_quoted(en_names[-1]))
    for i in stub + heading:
        k.add("VALUES", _list(da_values[da_names[i]]), da_names[i], _list(en_values[en_names[i]]), en_names[i])
    codes = [[c.id for c in d.categories] for d in cube.dimensions] + [[m.column for m in cube.measures]]
    for i in stub + heading:
        k.add("CODES", _list(codes[i]), da_names[i], _list(codes[i]), en_names[i])
    for m, (da, en) in enumerate(zip(da_values[da_names[-1]], en_values[en_names[-1]])):
        measure = cube.measures[m]
        k.add("UNITS", _quoted(measure.unit or "-"), da, _quoted(measure.unit or "-"), en)
        k.add("LAST-UPDATED", _quoted(stamp), da, _quoted(stamp), en)
        if measure.decimals > decimals:
            k.add(
                "PRECISION",
                str(measure.decimals),
                f'{da_names[-1]}","{da}',
                str(measure.decimals),
                f'{en_names[-1]}","{en}',
            )
    k.add("SOURCE", _text(source[LANGUAGE]), translated=_text(source[OTHER]))
    dots = {
        lang: " ".join(f"{DOTS[s]}: {STATUS_TEXT[s][0 if lang == OTHER else 1]}." for s in (MISSING, SUPPRESSED))
        for lang in (LANGUAGE, OTHER)
    }
    note = {lang: " ".join([*notes.get(lang, []), dots[lang]]) for lang in (LANGUAGE, OTHER)}
    k.add("NOTE", _text(note[LANGUAGE]), translated=_text(note[OTHER]))
    return "\n".join(k.lines) + "\nDATA=\n" + _data(cube, stub, heading) + ";\n"


def _data(cube: Cube, stub: list[int], heading: list[int]) -> str:
    order = stub + heading
    sizes = cube.sizes
    if not len(cube.values):  # nothing published yet (services are asked from template version 2)
        return ""
    cells = np.arange(len(cube.values)).reshape(sizes).transpose(order)
    columns = math.prod(sizes[i] for i in heading)
    lines = []
    for row in cells.reshape(-1, columns):
        text = []
        for flat in row.tolist():
            measure = cube.measures[np.unravel_index(flat, sizes)[-1]]
            text.append(_cell(cube.values[flat], cube.status.get(flat), measure.decimals))
        lines.append(" ".join(text))
    return "\n".join(lines)
