"""The survey's shared vocabulary, below every area: ingest, contracts, companies, statistics and
publish all speak of the five outcome flags. They are facts of the members contract (the columns
with an `outcome` property, in the template's order); this module reads them from there with
nothing heavier than the YAML parser, since the CLI's help lists them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from cluster_pipeline.lib.project_files import contracts_dir, read_yaml


@dataclass(frozen=True)
class Outcome:
    flag: str
    meaning: str  # completes "companies that ..."
    en: str  # label
    da: str


@cache
def outcomes() -> tuple[Outcome, ...]:
    document = read_yaml(contracts_dir() / "members.yaml")
    found = []
    for column in document["schema"][0]["properties"]:
        for prop in column.get("customProperties") or []:
            if prop["property"] == "outcome":
                found.append(Outcome(column["name"], **prop["value"]))
    return tuple(found)


FLAG_DESCRIPTIONS = {o.flag: o.meaning for o in outcomes()}
FLAGS = list(FLAG_DESCRIPTIONS)  # the five outcome flags, in the template's order
