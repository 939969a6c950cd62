"""What the published figures must be for a sample year, computed from the generator's own
model, and the true organisation of every good members row (the same entity id in every year)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.vocabulary import FLAGS


def regional_truth(company_flags: pd.DataFrame, entities: pd.DataFrame) -> dict:
    """Per region: distinct companies located there and those with new_products."""
    region_of = seeds.municipalities().set_index("municipality_code")["region_code"]
    region = entities.loc[company_flags.index, "municipality_code"].map(region_of)
    frame = company_flags.assign(region=region.to_numpy())
    return {
        code: {"companies": int(len(group)), "new_products": int(group["new_products"].sum())}
        for code, group in frame.groupby("region")
    }


def service_intensity_truth(flags: pd.DataFrame, old_layout_clusters: list[int]) -> dict:
    """Per band of services used: distinct companies and those with each flag (service_intensity).
    A company with a membership in a file of the old layout has no known total."""
    companies = flags[flags["actor_type"] == "company"]
    per_company = companies.groupby("entity").agg(
        services=("services_used", "sum"),
        unknown=("cluster_index", lambda c: bool(set(c) & set(old_layout_clusters))),
        **{f: (f, "any") for f in FLAGS},
    )
    bands = seeds.service_bands()
    band = pd.Series("unknown", index=per_company.index)
    for row in bands.itertuples():
        inside = per_company["services"].between(
            row.low, per_company["services"].max() if pd.isna(row.high) else row.high
        )
        band[inside & ~per_company["unknown"]] = row.band
    truth = {}
    for name in [*bands["band"], "unknown"]:
        mine = per_company[band == name]
        truth[name] = {"companies": len(mine), **{f: int(mine[f].sum()) for f in FLAGS}}
    return truth


def year_truth(
    year,
    universe,
    profiles,
    memberships,
    truth_rows,
    bad_rows,
    bad_files,
    ignored,
    superseded,
    old_layout_clusters=(),
) -> dict:
    """What the published figures must be, computed from the generator's own model."""
    rows = pd.DataFrame(truth_rows)
    ents = universe.entities_in(year).set_index("entity")
    rows = rows.join(ents[["actor_type", "employees"]], on="entity")
    companies = rows[rows["actor_type"] == "company"]
    flags = memberships.assign(entity=universe.entities["entity"].to_numpy()[memberships["entity_index"]])
    flags = flags.join(ents[["actor_type", "employees"]], on="entity")
    company_flags = flags[flags["actor_type"] == "company"].groupby("entity")[FLAGS].any()
    employees = ents.loc[company_flags.index, "employees"]
    sme = employees < seeds.sme_employee_limit()
    cluster_flags = flags[flags["actor_type"] == "company"].groupby(["cluster_index", "entity"])[FLAGS].any()
    valid = (profiles["label"].isin(["gold", "silver", "bronze"])) & profiles["label_valid_until"].map(
        lambda d: d is not None and d >= date(year, 12, 31)
    )
    clusters = {}
    for c, profile in profiles.iterrows():
        mine = flags[flags["cluster_index"] == c]
        committed = mine[(mine["actor_type"] == "company") & mine["committed_member"]]["entity"].nunique()
        helix = set(mine["actor_type"]) >= {"company", "knowledge_institution", "public_actor"}
        failures = []
        if committed < 20:
            failures.append("committed_companies")
        if not helix:
            failures.append("triple_helix")
        if profile["staff_fte"] < 1:
            failures.append("staff_fte")
        if not (valid[c] or profile["label"] == "in_process"):
            failures.append("label")
        clusters[profile["cluster_id"]] = {
            "label": profile["label"],
            "label_valid": bool(valid[c]),
            "companies": int(mine[mine["actor_type"] == "company"]["entity"].nunique()),
            "committed_companies": int(committed),
            "triple_helix": helix,
            "eligible": not failures,
            "eligibility_failures": failures,
        }
    return {
        "year": year,
        "distinct_companies": int(companies["entity"].nunique()),
        "distinct_organisations": int(rows["entity"].nunique()),
        "companies_sme": int(sme.sum()),
        "national": {f: int(company_flags[f].sum()) for f in FLAGS},
        "national_sme": {f: int((company_flags[f] & sme).sum()) for f in FLAGS},
        "sum_of_clusters": {f: int(cluster_flags[f].sum()) for f in FLAGS},
        "member_rows": len(rows),
        "valid_labels": {lab: int((valid & (profiles["label"] == lab)).sum()) for lab in ("gold", "silver", "bronze")},
        "clusters": clusters,
        "regions": regional_truth(company_flags, ents),
        "bad_rows": bad_rows,
        "bad_files": bad_files,
        "ignored_files": ignored,
        "superseded_files": superseded,
        # template version 2 years only (the sample has services_used from then on)
        "service_intensity": service_intensity_truth(flags, list(old_layout_clusters))
        if (rows["template_version"] == 2).any()
        else None,
    }


def load_truth_rows(landing: Path, year: int) -> pd.DataFrame:
    """The true organisation of every good members row: source_file, source_sheet, source_row, entity."""
    return pd.read_csv(
        Path(landing) / "_truth" / f"{year}_rows.csv", dtype={"source_sheet": "string", "source_row": "int64"}
    )
