"""The statistics site: one folder that works from disk, every link inside it, every page
rendered in Chromium with its charts, a page per cluster with its figures against all
clusters, and revised figures marked wherever they are shown."""

from __future__ import annotations

import html.parser
import json
import re
import shutil
from pathlib import Path
from urllib.parse import urldefrag

import dagster as dg
import pandas as pd
import pytest

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.publish.parquet_store import read_partition, read_table
from cluster_pipeline_tests.browser import ARTIFACTS, CHROMIUM, needs_chromium
from cluster_pipeline_tests.files import MEMBERS_HEADER_DA, PROFILE_HEADER_DA, member, write_csv
from cluster_pipeline_tests.runs import run_in_order


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.anchors: set[str] = set()

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        for name in ("href", "src"):
            if found.get(name):
                self.links.append(found[name])
        if found.get("id"):
            self.anchors.add(found["id"])


def _parsed(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def site_of(run) -> Path:
    return run.output / "site"


def test_every_link_of_the_site_leads_to_a_file_inside_it(sample_run):
    site = site_of(sample_run)
    pages = sorted(site.rglob("*.html"))
    broken, outside = [], []
    for page in pages:
        for link in _parsed(page).links:
            if link.startswith(("http:", "https:", "//", "data:")):
                outside.append((page.name, link))
                continue
            target, fragment = urldefrag(link)
            path = (page.parent / target).resolve() if target else page
            if (
                not path.exists()
                or not path.is_relative_to(site.resolve())
                or fragment
                and path.suffix == ".html"
                and fragment not in _parsed(path).anchors
            ):
                broken.append((str(page.relative_to(site)), link))
    assert not broken
    assert not outside, "the site fetches nothing from the network and links only inside itself"
    clusters = read_partition(sample_run.output, "clusters", max(sample_run.run.years))
    assert {p.stem for p in (site / "clusters").glob("*.html")} >= set(clusters["cluster_id"])


def test_the_site_offers_every_published_table_per_year_as_csv_equal_to_the_parquet(sample_run):
    data = site_of(sample_run) / "data"
    for year in sample_run.run.years:
        for name in ("memberships", "cluster_outcomes", "quarantine"):
            csv = pd.read_csv(data / name / f"{year}.csv", dtype=str, keep_default_na=False)
            parquet = read_partition(sample_run.output, name, year)
            assert len(csv) == len(parquet) and list(csv.columns) == list(parquet.columns)
    assert (data / "impact_estimates" / "impact_estimates.parquet").exists()
    assert (data / "releases.csv").exists() and (data / "revisions.csv").exists()


def _cells(text: str, heading: str) -> list[list[str]]:
    """The rows of the table after the heading, as the text of their cells."""
    table = text.split(heading, 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows]


def test_a_cluster_page_shows_its_members_each_year_with_its_rank_among_all_clusters(sample_run):
    cluster_id = "DK-CL-001"
    text = (site_of(sample_run) / "clusters" / f"{cluster_id}.html").read_text(encoding="utf-8")
    rows = {r[0]: r for r in _cells(text, "Its members over the years") if r}
    for year in sample_run.run.years:
        outcomes = read_partition(sample_run.output, "cluster_outcomes", year)
        catalogue = read_partition(sample_run.output, "clusters", year)
        companies = int(catalogue.set_index("cluster_id").at[cluster_id, "companies"])
        rank = int((catalogue["companies"] > companies).sum()) + 1
        assert rows[str(year)][1] == f"{companies:,}"
        assert rows[str(year)][2] == f"{rank} of {len(catalogue)}"
        innovating = int(outcomes.set_index("cluster_id").at[cluster_id, "new_products"])
        assert rows[str(year)][7] == f"{innovating:,}"


def test_a_cluster_page_compares_its_shares_with_the_median_of_all_clusters_and_the_nation(sample_run):
    cluster_id, year = "DK-CL-001", max(sample_run.run.years)
    text = (site_of(sample_run) / "clusters" / f"{cluster_id}.html").read_text(encoding="utf-8")
    shown = {r[0]: r for r in _cells(text, f"outcomes in {year} against all clusters") if r}
    outcomes = read_partition(sample_run.output, "cluster_outcomes", year).set_index("cluster_id")
    catalogue = read_partition(sample_run.output, "clusters", year).set_index("cluster_id")
    national = read_partition(sample_run.output, "national_outcomes", year).iloc[0]
    shares = outcomes["new_products"] / catalogue["companies"]
    row = shown["New products"]
    assert row[1] == f"{shares[cluster_id]:.1%}"
    assert row[3] == f"{shares.median():.1%}"
    region = catalogue.at[cluster_id, "region_code"]
    assert row[6] == f"{shares[catalogue['region_code'] == region].median():.1%}"
    assert row[7] == f"{national['new_products'] / national['companies']:.1%}"
    band = seeds.cluster_size_band_of(catalogue["companies"])
    assert f"{band[cluster_id]} cluster" in text


def _launch(playwright):
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking"]
    )


@needs_chromium
def test_every_page_renders_in_chromium_from_disk_with_its_charts_and_no_error(sample_run):
    from playwright.sync_api import sync_playwright

    site = site_of(sample_run)
    problems = []
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page()
        page.on("console", lambda m: problems.append((page.url, m.text)) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append((page.url, str(e))))
        page.on("requestfailed", lambda r: problems.append((page.url, r.url)))
        for path in sorted(site.rglob("*.html")):
            page.goto(path.resolve().as_uri())
            assert page.locator("h1").count() >= 1, path
            if path.parent.name == "clusters":
                charts = page.locator("figure svg")
                assert charts.count() == 2 and charts.first.bounding_box()["width"] > 300, path
        browser.close()
    assert not problems


@needs_chromium
def test_the_cluster_catalogue_sorts_by_a_column_in_the_browser(sample_run):
    from playwright.sync_api import sync_playwright

    year = max(sample_run.run.years)
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto((site_of(sample_run) / str(year) / "clusters.html").resolve().as_uri())
        page.click("#catalogue th:nth-child(5)")  # Companies: largest first
        first = page.locator("#catalogue tbody tr").first.locator("td").nth(4).inner_text()
        catalogue = read_partition(sample_run.output, "clusters", year)
        assert first == f"{int(catalogue['companies'].max()):,}"
        page.goto((site_of(sample_run) / "clusters" / "DK-CL-001.html").resolve().as_uri())
        page.set_viewport_size({"width": 1100, "height": 1300})
        ARTIFACTS.mkdir(exist_ok=True)  # looked at, and copied to docs/site_cluster_page.png for the README
        page.screenshot(path=str(ARTIFACTS / "site_cluster_page.png"))
        browser.close()


# --- a revision, end to end -------------------------------------------------------------------------


def _year_files(landing: Path, members: int) -> None:
    folder = landing / "2016"
    profile = ["DK-CL-001", "2016", "Vindklyngen", "Midtjylland", "guld", "31.12.2017", "2,5", "2005"]
    write_csv(folder / "profil.csv", [PROFILE_HEADER_DA, profile], ";")
    rows = [member(name=f"Firma {i} ApS", cvr=str(30000000 + i * 7)) for i in range(members)]
    write_csv(folder / "medlemmer.csv", [MEMBERS_HEADER_DA, *rows], ";")


@pytest.fixture(scope="module")
def revised_run(tmp_path_factory):
    """One year published, then its members file replaced by one with fewer members."""
    root = tmp_path_factory.mktemp("revised")
    landing, output = root / "landing", root / "published"
    with dg.instance_for_test() as instance:
        _year_files(landing, 30)
        first = run_in_order(landing, output, [2016], instance)
        before = read_table(output, "revisions")
        _year_files(landing, 24)
        second = run_in_order(landing, output, [2016], instance)
        again = read_table(output, "releases")
        third = run_in_order(landing, output, [2016], instance)
    assert not first.site_errors and not second.site_errors and not third.site_errors
    return output, before, again


def test_a_replaced_file_makes_a_release_whose_revisions_name_the_file_and_the_earlier_values(revised_run):
    output, before, _ = revised_run
    assert before is not None and before.empty, "the first release revises nothing"
    revisions = read_table(output, "revisions")
    national = revisions[(revisions["table"] == "national_outcomes") & (revisions["measure"] == "companies")]
    (row,) = national.to_dict("records")
    assert (row["previous_value"], row["new_value"]) == (30.0, 24.0)
    assert row["cause"].startswith("file replaced: medlemmer.csv")
    assert row["previous_release"].endswith(".1") and row["release"].endswith(".2")


def test_running_again_without_a_change_makes_no_release(revised_run):
    output, _, releases_after_second = revised_run
    assert len(read_table(output, "releases")) == len(releases_after_second) == 2


def test_the_site_and_the_downloads_mark_a_revised_figure_with_its_earlier_value(revised_run):
    output, _, _ = revised_run
    page = (output / "site" / "2016" / "index.html").read_text(encoding="utf-8")
    assert re.search(r"24 <span class=\"revised\"[^>]*>r<span class=\"was\">\(was 30 in release [^)]*\.1\)", page)
    cluster = (output / "site" / "clusters" / "DK-CL-001.html").read_text(encoding="utf-8")
    assert "was 30 in release" in cluster
    dataset = json.loads((output / "site" / "data" / "national_outcomes.json").read_text(encoding="utf-8"))
    companies = dataset["dimension"]["contents"]["category"]["index"].index("companies")
    assert dataset["status"][str(companies)] == "r" and dataset["value"][companies] == 24
    px = (output / "site" / "data" / "national_outcomes.px").read_text(encoding="utf-8")
    assert "revideret" in px.split("NOTE=", 1)[1] and "revised" in px.split("NOTE[en]=", 1)[1]


def test_the_statistics_site_is_one_folder_that_can_be_moved(revised_run, tmp_path):
    output, _, _ = revised_run
    moved = shutil.copytree(output / "site", tmp_path / "elsewhere")
    for page in moved.rglob("*.html"):
        for link in _parsed(page).links:
            target, _ = urldefrag(link)
            assert not target or (page.parent / target).resolve().is_relative_to(moved.resolve()), link


def test_a_download_is_written_again_when_its_table_changed_and_reused_when_not(revised_run):
    output, _, _ = revised_run  # the members file replaced between the first and second run, not after
    data = output / "site" / "data"
    csv = pd.read_csv(data / "memberships" / "2016.csv")
    assert len(csv) == len(read_partition(output, "memberships", 2016)) == 24
    sources = json.loads((data / "_sources.json").read_text(encoding="utf-8"))
    assert sources["memberships/2016"]["rows"] == 24
