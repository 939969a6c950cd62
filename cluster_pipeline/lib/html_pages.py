"""The Jinja templates of the project's HTML pages (the yearly report, the pre-submission
check page): every value escaped by autoescape, an unknown name an error, not a blank."""

from __future__ import annotations

from pathlib import Path

import jinja2

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def template(name: str) -> jinja2.Template:
    return _ENVIRONMENT.get_template(name)
