"""The reference pages in docs/ hold the tables of the contracts and schemas they document, and
the README points only at files in the project."""

import re
from pathlib import Path

from cluster_pipeline.lib.reference_docs import DOCS, PAGES, blocks, refreshed

ROOT = Path(__file__).resolve().parents[1]


def test_every_reference_page_holds_the_current_tables_of_the_contracts_and_schemas():
    found = blocks()
    stale = [
        page
        for page in PAGES
        if refreshed((DOCS / page).read_text(encoding="utf-8"), found) != (DOCS / page).read_text(encoding="utf-8")
    ]
    assert not stale, f"run `.venv/bin/python -m cluster_pipeline.lib.reference_docs` ({', '.join(stale)} out of date)"


def test_every_published_table_and_template_version_has_its_block_on_a_page():
    text = "".join((DOCS / page).read_text(encoding="utf-8") for page in PAGES)
    missing = [name for name in blocks() if f"<!-- generated: {name} -->" not in text]
    assert not missing


def test_the_readme_links_only_to_files_inside_the_project():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#]+)", readme)
    local = [t for t in targets if not t.startswith(("http://", "https://"))]
    assert "../shared" not in readme
    assert all((ROOT / t).exists() for t in local), [t for t in local if not (ROOT / t).exists()]
