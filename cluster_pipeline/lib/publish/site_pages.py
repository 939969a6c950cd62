"""What each page of the statistics site shows, as plain values for its template: the front
page, a year's national page, the regions, the cluster catalogue and a page per cluster.
Figures come from the published tables (lib/publish/site.py reads them); a revised figure
carries its earlier value and release."""

from __future__ import annotations

import pandas as pd

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.publish import site_charts
from cluster_pipeline.lib.publish.site import INNOVATION, Revised, SiteFigures
from cluster_pipeline.lib.vocabulary import outcomes

STATUS_TEXT = {"met": "met", "on_track": "on track", "not_met": "not met"}


def _label(value) -> str:
    """A cluster's label as shown: "none" where the profile gives none."""
    return value if isinstance(value, str) and value else "none"


def _flag(value) -> bool:
    return False if value is None or pd.isna(value) else bool(value)


def _int(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _share(part, whole) -> float | None:
    return None if not whole or pd.isna(part) or pd.isna(whole) else float(part) / float(whole)


def _figure(value, revised: dict | None, kind: str = "count") -> dict:
    """A figure as the templates print it: the value, and where it was revised, the earlier one."""
    return {"value": value, "kind": kind, "revised": revised}


def _national(figures: SiteFigures, year: int) -> pd.Series:
    national = figures.statistics["national_outcomes"]
    return national[national["year"] == year].iloc[0]


def national_page(figures: SiteFigures, year: int, revised: Revised) -> dict:
    now = _national(figures, year)
    before = _national(figures, year - 1) if year - 1 in figures.years else None
    measures = [("companies", "Companies in any cluster")] + [(o.flag, o.en) for o in outcomes()]
    cards = [
        {
            "label": label,
            **_figure(_int(now[m]), revised.of("national_outcomes", year, m)),
            "before": None if before is None else _int(before[m]),
        }
        for m, label in measures
    ]
    return {"year": year, "cards": cards, "indicators": indicators(figures, year, revised)}


def indicators(figures: SiteFigures, year: int, revised: Revised) -> list[dict]:
    status = figures.statistics["indicator_status"]
    rows = status[status["year"] == year].sort_values("indicator_id")
    return [
        {
            "id": r.indicator_id,
            "title": r.title,
            "value": r.value,
            "target": r.target,
            "digits": 0 if all(pd.isna(v) or float(v).is_integer() for v in (r.value, r.target)) else 2,
            "status": r.status,
            "status_text": STATUS_TEXT.get(r.status, r.status),
            "revised": revised.of("indicator_status", year, "value", indicator_id=r.indicator_id),
        }
        for r in rows.itertuples()
    ]


def regions_page(figures: SiteFigures, year: int, revised: Revised) -> dict:
    regions = figures.statistics["regional_outcomes"]
    rows = regions[regions["year"] == year].sort_values("region_code")
    return {
        "year": year,
        "outcomes": [o.en for o in outcomes()],
        "rows": [
            {
                "code": r["region_code"],
                "name": r["region_name"],
                "companies": _figure(
                    _int(r["companies"]),
                    revised.of("regional_outcomes", year, "companies", region_code=r["region_code"]),
                ),
                "outcomes": [
                    _figure(
                        _int(r[o.flag]), revised.of("regional_outcomes", year, o.flag, region_code=r["region_code"])
                    )
                    for o in outcomes()
                ],
                "share_innovating": r["share_innovating"],
                "location_quotient": r["location_quotient"],
            }
            for _, r in rows.iterrows()
        ],
    }


def catalogue_page(figures: SiteFigures, year: int) -> dict:
    joined = figures.clusters_by_year[year].sort_values("cluster_id")
    regions = seeds.region_names()
    return {
        "year": year,
        "outcomes": [o.en for o in outcomes()],
        "rows": [
            {
                "id": r["cluster_id"],
                "name": r["cluster_name"],
                "region": regions.get(r["region_code"], r["region_code"]),
                "label": _label(r["label"]),
                "label_valid": _flag(r["label_valid"]),
                "eligible": _flag(r["eligible"]),
                "companies": _int(r["companies"]),
                "committed": _int(r["committed_companies"]),
                "sme_share": _share(r["companies_sme"], r["companies"]),
                "shares": [r[f"{o.flag}_share"] for o in outcomes()],
            }
            for _, r in joined.iterrows()
        ],
    }


def _rank(values: pd.Series, own: float) -> int:
    return int((values > own).sum()) + 1


def _services(figures: SiteFigures, cluster_id: str) -> list[dict]:
    counted = figures.services[figures.services["cluster_id"] == cluster_id]
    table = counted.pivot_table(index="year", columns="band", values="companies", aggfunc="sum", fill_value=0)
    bands = list(seeds.service_bands()["band"])
    return [
        {"year": int(year), "bands": [int(row.get(b, 0)) for b in bands], "total": int(row.sum())}
        for year, row in table.iterrows()
    ]


def cluster_page(figures: SiteFigures, cluster_id: str, revised: Revised) -> dict:
    regions = seeds.region_names()
    history: list[dict] = []
    series_own: list[float | None] = []
    series_peers: list[list[float]] = []
    latest_year = figures.years[0]
    for year in figures.years:
        table = figures.clusters_by_year[year]
        own = table[table["cluster_id"] == cluster_id]
        if own.empty:
            series_own.append(None)
            series_peers.append([])
            continue
        own_row = own.iloc[0]
        latest_year = year
        peers = table[table["size_band"] == own_row["size_band"]]
        national = _national(figures, year)
        history.append(
            {
                "year": year,
                "companies": _figure(
                    _int(own_row["companies"]), revised.of("cluster_outcomes", year, "companies", cluster_id=cluster_id)
                ),
                "rank": _rank(table["companies"], own_row["companies"]),
                "of": len(table),
                "peer_median": float(peers["companies"].median()),
                "committed": _int(own_row["committed_companies"]),
                "participating": _int(own_row["companies"] - own_row["committed_companies"]),
                "sme_share": _share(own_row["companies_sme"], own_row["companies"]),
                "innovating": _figure(
                    _int(own_row[INNOVATION]), revised.of("cluster_outcomes", year, INNOVATION, cluster_id=cluster_id)
                ),
                "innovating_share": own_row[f"{INNOVATION}_share"],
                "national_innovating_share": _share(national[INNOVATION], national["companies"]),
                "label": _label(own_row["label"]),
                "label_valid_until": own_row["label_valid_until"],
                "label_valid": _flag(own_row["label_valid"]),
                "eligible": _flag(own_row["eligible"]),
                "failures": list(
                    own_row["eligibility_failures"] if own_row["eligibility_failures"] is not None else []
                ),
                "quarantined_rows": _quarantined(figures, year, cluster_id),
                "files_set_aside": int((figures.files_set_aside["year"] == year).sum()),
            }
        )
        series_own.append(float(own_row["companies"]))
        series_peers.append(peers["companies"].astype(float).tolist())
    latest = figures.clusters_by_year[latest_year]
    own_row = latest[latest["cluster_id"] == cluster_id].iloc[0]
    national = _national(figures, latest_year)
    band = own_row["size_band"]
    comparison = []
    for o in outcomes():
        shares = latest[f"{o.flag}_share"].dropna()
        peers = latest.loc[latest["size_band"] == band, f"{o.flag}_share"].dropna()
        neighbours = latest.loc[latest["region_code"] == own_row["region_code"], f"{o.flag}_share"].dropna()
        comparison.append(
            {
                "label": o.en,
                "own": own_row[f"{o.flag}_share"],
                "national": _share(national[o.flag], national["companies"]),
                "median": shares.median(),
                "q1": shares.quantile(0.25),
                "q3": shares.quantile(0.75),
                "peer_median": peers.median(),
                "region_median": neighbours.median(),
                "rank": _rank(shares, own_row[f"{o.flag}_share"]),
                "of": len(shares),
                "values": shares.tolist(),
            }
        )
    name = own_row["cluster_name"]
    return {
        "id": cluster_id,
        "name": name,
        "region": regions.get(own_row["region_code"], own_row["region_code"]),
        "latest_year": latest_year,
        "size_band": band,
        "size_band_text": seeds.cluster_size_bands().set_index("band").loc[band, "description"],
        "peers": sorted(latest.loc[(latest["size_band"] == band) & (latest["cluster_id"] != cluster_id), "cluster_id"]),
        "in_region": int((latest["region_code"] == own_row["region_code"]).sum()),
        "history": history,
        "comparison": comparison,
        "services": _services(figures, cluster_id),
        "service_bands": list(seeds.service_bands()["band"]),
        "series_chart": site_charts.series_with_peers(
            figures.years, series_own, series_peers, f"{name}: member companies by year against its peers' quartiles"
        ),
        "distribution_chart": site_charts.distribution_strips(
            comparison, f"{name}: share of member companies with each outcome in {latest_year} against all clusters"
        ),
    }


def _quarantined(figures: SiteFigures, year: int, cluster_id: str) -> int:
    rows = figures.quarantined_rows
    found = rows[(rows["year"] == year) & (rows["cluster_id"] == cluster_id)]
    return int(found["rows"].sum())


def cluster_ids(figures: SiteFigures) -> list[str]:
    return sorted(figures.clusters["cluster_id"].unique()) if len(figures.clusters) else []
