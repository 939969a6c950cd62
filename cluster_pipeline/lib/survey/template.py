"""The survey template's versions (../shared/SURVEY_TEMPLATE.md, "Template versions"): every
contract file of a survey kind, and which of them apply in a reporting year.

A contract says which template version it implements and from which year it is in force
(`templateVersion`, `reportingYears.from`); it stays in force until a higher version of its
kind takes over, and after that it is still accepted, with a warning, until its
`reportingYears.transitionUntil`. A new version is therefore a new contract file and
nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from cluster_pipeline.lib.project_files import contracts_dir
from cluster_pipeline.lib.survey.model import KINDS, Contract, ContractError, load_contract_file


@dataclass(frozen=True)
class Template:
    contracts: tuple[Contract, ...]  # every version of every survey kind

    def versions(self, kind: str) -> list[Contract]:
        """The kind's contracts, oldest template version first."""
        return sorted((c for c in self.contracts if c.kind == kind), key=lambda c: c.template_version)

    def current(self, kind: str, year: int) -> Contract:
        """The version in force for the year: the newest one whose first year has come."""
        in_force = [c for c in self.versions(kind) if c.years_from is None or c.years_from <= year]
        if not in_force:
            raise ContractError(f"no {kind} contract is in force in {year}")
        return in_force[-1]

    def accepted(self, kind: str, year: int) -> list[Contract]:
        """The versions a file of the year may follow: the current one first, then older ones
        still in their transition years (accepted with a warning)."""
        current = self.current(kind, year)
        older = [
            c
            for c in self.versions(kind)
            if c.template_version < current.template_version
            and c.transition_until is not None
            and year <= c.transition_until
        ]
        return [current, *reversed(older)]

    def version_in_force(self, year: int) -> int:
        """The template version of the year: the highest that any kind's current contract implements."""
        return max(self.current(kind, year).template_version for kind in self.kinds)

    def template_version_of(self, contract: Contract, year: int) -> int:
        """The template version a file validated by `contract` follows in `year`: a kind that did
        not change (the profile) follows the version in force; an older layout its own."""
        if contract is self.current(contract.kind, year):
            return self.version_in_force(year)
        return contract.template_version

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(k for k in KINDS if any(c.kind == k for c in self.contracts))

    def header_map(self, kind: str) -> dict[str, str]:
        """Every header any version of the kind knows (to recognise a file before its version is chosen)."""
        return self._header_maps[kind]

    @cached_property
    def _header_maps(self) -> dict[str, dict[str, str]]:
        return {k: {h: name for c in self.versions(k) for h, name in c.header_map.items()} for k in self.kinds}

    @cached_property
    def known_headers(self) -> frozenset[str]:
        """Every header of every kind and version (to find the header row below a title)."""
        return frozenset(h for k in self.kinds for h in self._header_maps[k])

    def column_names(self, kind: str) -> list[str]:
        """Every column of any version of the kind, in the order the versions introduce them."""
        return list(dict.fromkeys(col.name for c in self.versions(kind) for col in c.columns))


def load_template_from(directory: Path) -> Template:
    contracts = [load_contract_file(path) for path in sorted(directory.glob("*.yaml"))]
    survey = tuple(c for c in contracts if c.kind in KINDS)
    for kind in KINDS:
        versions = [c.template_version for c in survey if c.kind == kind]
        if len(versions) != len(set(versions)):
            raise ContractError(f"{directory}: two {kind} contracts implement the same template version")
    return Template(survey)


@cache
def load_template() -> Template:
    return load_template_from(contracts_dir())
