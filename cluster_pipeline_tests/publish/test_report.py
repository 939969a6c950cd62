"""The yearly statistics report: the figures as people read them, from the published tables."""

import re

import dagster as dg

from cluster_pipeline.lib.publish.parquet_store import read_partition
from cluster_pipeline.lib.publish.report import indicator_differences, indicators_in_report
from cluster_pipeline_tests.browser import needs_chromium, screenshot
from cluster_pipeline_tests.files import MEMBERS_HEADER_DA, PROFILE_HEADER_DA, member, write_csv
from cluster_pipeline_tests.runs import run_in_order

STATUS_WORDS = {"met": "met", "on_track": "on track", "not_met": "not met"}


def report_of(run) -> str:
    return (run.output / "reports" / f"{run.year}.html").read_text(encoding="utf-8")


def test_the_report_shows_every_indicator_value_and_status_from_indicator_status(sample_run):
    text = report_of(sample_run)
    published = read_partition(sample_run.output, "indicator_status", sample_run.year)
    shown = indicators_in_report(text)
    assert set(shown) == set(published["indicator_id"])
    for row in published.itertuples():
        assert shown[row.indicator_id] == (float(row.value), row.status)
        cells = re.search(rf'<tr data-indicator="{row.indicator_id}".*?</tr>', text, re.S).group(0)
        assert f'<span class="status {row.status}">{STATUS_WORDS[row.status]}</span>' in cells


def test_the_report_check_finds_a_figure_that_differs(sample_run):
    published = read_partition(sample_run.output, "indicator_status", sample_run.year)
    text = report_of(sample_run)
    assert indicator_differences(text, published) == []
    value = repr(float(published.set_index("indicator_id").at["innovation", "value"]))
    tampered = text.replace(
        f'data-indicator="innovation" data-value="{value}"', 'data-indicator="innovation" data-value="1.0"'
    )
    assert indicator_differences(tampered, published) == ["innovation"]
    checks = {c.check_name: c.passed for c in sample_run.outcome.checks}
    assert checks["report_shows_indicator_status"]


def test_the_report_loads_nothing_from_outside_and_is_small_enough_to_mail(sample_run):
    path = sample_run.output / "reports" / f"{sample_run.year}.html"
    text = path.read_text(encoding="utf-8")
    assert path.stat().st_size < 8 * 1024 * 1024
    assert not re.search(r'\b(src|href)\s*=\s*["\']?(https?:|//)', text)
    assert "<script" not in text and "@import" not in text and not re.search(r"url\(\s*['\"]?(https?:|//)", text)
    assert text.count("<svg") >= 9  # six indicators, outcomes, regions, labels: all inline


def test_the_headline_compares_distinct_counts_with_the_sum_of_clusters(sample_run):
    text = report_of(sample_run)
    national = read_partition(sample_run.output, "national_outcomes", sample_run.year).iloc[0]
    row = re.search(r"<tr><td>New products</td>(.*?)</tr>", text).group(1)
    assert f"{national['new_products']:,}" in row and f"{national['new_products_sum_of_clusters']:,}" in row


def test_a_cluster_named_like_markup_appears_as_text(tmp_path):
    folder = tmp_path / "landing" / "2016"
    name = "<script>alert(1)</script> & Co"
    write_csv(
        folder / "profil.csv",
        [PROFILE_HEADER_DA, ["DK-CL-001", "2016", name, "Midtjylland", "guld", "31.12.2017", "2,5", "2005"]],
        ";",
    )
    write_csv(folder / "medlemmer.csv", [MEMBERS_HEADER_DA, *[member(name=f"Firma {i} ApS") for i in range(3)]], ";")
    with dg.instance_for_test() as instance:
        outcome = run_in_order(tmp_path / "landing", tmp_path / "published", [2016], instance)
    assert outcome.years[2016].success, outcome.years[2016].errors
    text = (tmp_path / "published" / "reports" / "2016.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in text
    assert "<script>" not in text


@needs_chromium
def test_the_report_renders_in_headless_chromium(sample_run, tmp_path):
    url = (sample_run.output / "reports" / f"{sample_run.year}.html").resolve().as_uri()
    shot = screenshot(url, f"report_{sample_run.year}.png", tmp_path / "chromium", width=1280, height=2400)
    assert shot.stat().st_size > 100_000  # text, cards and charts, not a blank page


def test_the_data_quality_accounting_adds_up_to_every_row_read(sample_run):
    text = report_of(sample_run)
    manifest = read_partition(sample_run.output, "ingest_manifest", sample_run.year)
    found = re.search(
        r"([\d,]+) rows read = ([\d,]+) accepted \+ ([\d,]+) quarantined \+ ([\d,]+) in files set aside whole \+ "
        r"([\d,]+) in files a later version replaced",
        text,
    )
    read, *parts = (int(g.replace(",", "")) for g in found.groups())
    assert read == int(manifest["rows_read"].sum()) == sum(parts)
    assert parts[2] > 0 and parts[3] > 0  # the sample sets files aside and supersedes a draft


def test_quarantined_rules_are_shown_in_words_with_their_id_in_small_print(sample_run):
    text = report_of(sample_run)
    section = text[text.index('<section id="quality">') : text.index('<section id="impact">')]
    shown = '<td>postal_code must be &gt;= 800 and &lt;= 9990<br><span class="small">rule postal_code.range</span>'
    assert shown in section
    assert "A row can break several rules" in section
    assert "^DK-CL-" not in section


def test_every_eligibility_value_of_the_catalogue_is_explained(sample_run):
    text = report_of(sample_run)
    failures = set(re.findall(r"<td>no: ([a-z ,]+)</td>", text))
    named = {name for shown in failures for name in shown.split(", ")}
    assert named, "the sample has ineligible clusters"
    legend = re.search(r"Eligible: the national criteria.*?</p>", text, re.S).group(0)
    assert all(f"<b>{name}</b>" in legend for name in named)


def test_the_balance_chart_names_regions_and_industries_not_codes(sample_run):
    text = report_of(sample_run)
    assert "region=" not in text and "log_productivity_pre" not in text
    assert "region: Hovedstaden" in text and "industry: NACE" in text
