"""The reference pages in docs/ keep their tables where the facts live: the survey template's
columns come from the data contracts, the register extract's from its contract, the published
tables' from their schemas. Each page is prose written by hand around blocks marked

    <!-- generated: <block> -->  ...  <!-- end generated -->

which `python -m cluster_pipeline.lib.reference_docs` rewrites (a test fails when a page is
out of date)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from cluster_pipeline.lib.project_files import contracts_dir
from cluster_pipeline.lib.survey.model import Column, Contract
from cluster_pipeline.lib.survey.template import load_template

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ("survey_template.md", "register_extract.md", "published_tables.md")
_BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w.]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.DOTALL)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _rule(column: Column) -> str:
    """What a value must be, in words (the contract's rules, not its regular expressions)."""
    words = {"string": "text", "integer": "whole number", "number": "number", "boolean": "yes/no", "date": "date"}
    parts = [words[column.logical_type]]
    if column.valid_values:
        danish = {v: [a for a, to in column.value_aliases.items() if to == v and a != v] for v in column.valid_values}
        parts = [", ".join(f"`{v}`" + (f" ({', '.join(danish[v])})" if danish[v] else "") for v in column.valid_values)]
    if column.minimum is not None or column.maximum is not None:
        low = "" if column.minimum is None else f"{column.minimum:g}"
        high = "" if column.maximum is None else f"{column.maximum:g}"
        parts.append(f"{low} to {high}" if low and high else f">= {low}" if low else f"<= {high}")
    if column.exclusive_minimum is not None:
        parts.append(f"> {column.exclusive_minimum:g}")
    if column.date_formats:
        parts.append(
            " or ".join(f.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD") for f in column.date_formats)
        )
    if column.check_digit:
        parts.append("8 digits with the modulus-11 check")
    if column.equals_reporting_year:
        parts.append("the landing folder's year")
    if column.reference_data:
        parts.append(f"one of the {column.reference_data.split('.')[0]} codes")
    if column.foreign_key:
        parts.append("a cluster with a profile in the same year")
    return "; ".join(parts)


def _required(column: Column) -> str:
    if column.required:
        return "yes"
    if column.required_when:
        other, values = column.required_when
        return f"when {other} is {', '.join(values)}"
    return "no"


def columns_table(contract: Contract) -> str:
    lines = ["| column | also read as | value | required | meaning |", "|---|---|---|---|---|"]
    for column in contract.columns:
        lines.append(
            f"| `{column.name}` | {', '.join(f'`{a}`' for a in column.aliases)} | {_cell(_rule(column))} | "
            f"{_required(column)} | {_cell(column.description)} |"
        )
    return "\n".join(lines) + "\n"


def _contract_blocks() -> dict[str, str]:
    from cluster_pipeline.lib.survey.model import load_contract_file

    template = load_template()
    blocks = {
        f"{contract.kind}.v{contract.template_version}": columns_table(contract)
        for kind in template.kinds
        for contract in template.versions(kind)
    }
    blocks["register"] = columns_table(load_contract_file(contracts_dir() / "register.yaml"))
    return blocks


def _published_blocks() -> dict[str, str]:
    from cluster_pipeline.lib import tables

    blocks = {}
    for name, table in tables.published_tables().items():
        lines = [f"{table.description} ({table.path.relative_to(table.path.parents[2]).as_posix()})", ""]
        lines += ["| column | type | unit | label (en / da) | meaning |", "|---|---|---|---|---|"]
        for column in table.columns:
            lines.append(
                f"| `{column.name}` | {column.spec.type} | {column.unit or ''} | "
                f"{_cell(column.label_en)} / {_cell(column.label_da)} | {_cell(column.description)} |"
            )
        blocks[f"table.{name}"] = "\n".join(lines) + "\n"
    return blocks


def blocks() -> dict[str, str]:
    return _contract_blocks() | _published_blocks()


def refreshed(text: str, found: dict[str, str]) -> str:
    """The page with every generated block rewritten (an unknown block name is an error)."""

    def body(match: re.Match) -> str:
        name = match.group("name")
        if name not in found:
            raise KeyError(f"no generated block {name!r} (known: {', '.join(sorted(found))})")
        return match.group(1) + "\n" + found[name] + "\n" + match.group(4)

    return _BLOCK.sub(body, text)


def main() -> None:
    found = blocks()
    for page in PAGES:
        path = DOCS / page
        path.write_text(refreshed(path.read_text(encoding="utf-8"), found), encoding="utf-8")
        print(f"refreshed {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
