"""The statistics site's small charts as inline SVG, written directly: a site draws a few
hundred of them (matplotlib costs a tenth of a second each, these nothing), and each is a
plain picture of numbers the page prints beside it."""

from __future__ import annotations

from html import escape

OWN, OTHERS, NATIONAL, BOX = "#0072B2", "#9aa4ae", "#D55E00", "#dfe6ee"


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>' + "".join(body) + "</svg>"
    )


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        position = q * (len(ordered) - 1)
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    return at(0.25), at(0.5), at(0.75)


def distribution_strips(rows: list[dict], title: str) -> str:
    """One strip per row (label, values of every cluster, own value, national value; shares
    0-1): the clusters as grey dots, their quartiles as a box with the median, this cluster
    as a blue dot, the national share as an orange tick."""
    label_width, width, row_height = 190, 640, 30
    plot = width - label_width - 20
    shown = [v for row in rows for v in [*row["values"], row.get("own"), row.get("national")] if v is not None]
    top = min(1.0, max(0.1, -(-max(shown + [0.0]) * 1.1 // 0.1) * 0.1))  # the next tenth above every share
    body = [
        f'<text x="{label_width}" y="14" font-size="11" fill="#5b6570">0%</text>',
        f'<text x="{label_width + plot}" y="14" font-size="11" fill="#5b6570" text-anchor="end">{top:.0%}</text>',
    ]
    for i, row in enumerate(rows):
        y = 30 + i * row_height
        values = [v for v in row["values"] if v is not None]
        body.append(f'<text x="0" y="{y + 4}" font-size="12">{escape(row["label"])}</text>')
        body.append(f'<line x1="{label_width}" x2="{label_width + plot}" y1="{y}" y2="{y}" stroke="#d7dce1"/>')
        if values:
            q1, median, q3 = _quartiles(values)
            x = lambda v: label_width + plot * max(0.0, min(1.0, v / top))  # noqa: E731
            body.append(
                f'<rect x="{x(q1):.1f}" y="{y - 7}" width="{max(x(q3) - x(q1), 1):.1f}" height="14" fill="{BOX}"/>'
            )
            body.append(f'<line x1="{x(median):.1f}" x2="{x(median):.1f}" y1="{y - 8}" y2="{y + 8}" stroke="#5b6570"/>')
            body += [f'<circle cx="{x(v):.1f}" cy="{y}" r="2.2" fill="{OTHERS}"/>' for v in values]
            if row.get("national") is not None:
                n = x(row["national"])
                body.append(f'<path d="M{n:.1f} {y - 10} l4 -6 h-8 z" fill="{NATIONAL}"/>')
            if row.get("own") is not None:
                body.append(f'<circle cx="{x(row["own"]):.1f}" cy="{y}" r="5" fill="{OWN}" stroke="#fff"/>')
    return _svg(width, 30 + len(rows) * row_height, body, title)


def series_with_peers(years: list[int], own: list[float | None], peers: list[list[float]], title: str) -> str:
    """This cluster's figure over the years (blue line) over its peers' quartiles (grey band)
    and median (grey line)."""
    width, height, left, bottom = 560, 180, 48, 24
    spread = [(*_quartiles(p),) if p else (None, None, None) for p in peers]
    top = max([v for v in own if v is not None] + [s[2] for s in spread if s[2] is not None] + [1]) * 1.1
    plot_w, plot_h = width - left - 16, height - bottom - 12
    x = lambda i: left + (plot_w * i / max(len(years) - 1, 1))  # noqa: E731
    y = lambda v: 12 + plot_h * (1 - v / top)  # noqa: E731
    body = [f'<line x1="{left}" x2="{left + plot_w}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#d7dce1"/>']
    body.append(f'<text x="{left - 6}" y="{y(0):.1f}" font-size="11" text-anchor="end">0</text>')
    body.append(
        f'<text x="{left - 6}" y="{y(top / 1.1) + 4:.1f}" font-size="11" text-anchor="end">{top / 1.1:,.0f}</text>'
    )
    band = [(x(i), s) for i, s in enumerate(spread) if s[0] is not None]
    if band:
        upper = " ".join(f"{px:.1f},{y(s[2]):.1f}" for px, s in band)
        lower = " ".join(f"{px:.1f},{y(s[0]):.1f}" for px, s in reversed(band))
        body.append(f'<polygon points="{upper} {lower}" fill="{BOX}"/>')
        body.append(
            f'<polyline points="{" ".join(f"{px:.1f},{y(s[1]):.1f}" for px, s in band)}" fill="none" stroke="{OTHERS}" '
            'stroke-width="2"/>'
        )
    points = [(x(i), y(v)) for i, v in enumerate(own) if v is not None]
    if points:
        body.append(
            f'<polyline points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in points)}" fill="none" stroke="{OWN}" '
            'stroke-width="2.5"/>'
        )
        body += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3.5" fill="{OWN}"/>' for a, b in points]
    body += [
        f'<text x="{x(i):.1f}" y="{height - 6}" font-size="11" text-anchor="middle">{year}</text>'
        for i, year in enumerate(years)
    ]
    return _svg(width, height, body, title)
