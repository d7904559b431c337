"""Charts drawn on the server as inline SVG: no chart library, no script.

An SVG in the page is markup like any other: it is sent with the fragment the dashboard
refreshes, scales with the page (``viewBox``), is read by screen readers through its
``<title>`` and ``<desc>``, and needs nothing from a CDN or a bundler. Colours are
presentation attributes, so the console's Content-Security-Policy can forbid inline styles.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 1000, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28  # room for the axis labels


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    values: list[int]  # one per minute, oldest first


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... not below ``value`` (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def bar_chart(series: list[Series], *, title: str, minutes: int) -> Markup:
    """Bars per minute for each of ``series``, side by side, over the last ``minutes`` minutes
    (now at the right). Bars rather than lines: counts per minute are separate amounts, and
    equal values of two series would hide one line under the other."""
    top = nice_ceiling(max((max(s.values, default=0) for s in series), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / minutes
    bar = slot * 0.8 / max(len(series), 1)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    summary = "; ".join(f"{s.name}: {sum(s.values)} in total, at most {max(s.values, default=0)}"
                        f" in a minute" for s in series)  # fmt: skip
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title chart-desc">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(summary)}</desc>',
    ]
    for value in (0, top / 2, top):
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" '
                     f'y2="{y(value):.1f}" stroke="#d0d4da" stroke-width="1"/>')  # fmt: skip
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
                     f'font-size="12" fill="#4b5563">{value:g}</text>')  # fmt: skip
    for ago in (45, 30, 15, 0):
        if ago >= minutes:
            continue
        label = "now" if ago == 0 else f"−{ago} min"
        middle = LEFT + slot * (minutes - 1 - ago + 0.5)
        parts.append(f'<text x="{middle:.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
                     f'font-size="12" fill="#4b5563">{label}</text>')  # fmt: skip
    for j, item in enumerate(series):
        for i, value in enumerate(item.values):
            if value <= 0:
                continue
            x = LEFT + slot * i + slot * 0.1 + bar * j
            parts.append(f'<rect x="{x:.1f}" y="{y(value):.1f}" width="{bar:.1f}" '
                         f'height="{TOP + plot_h - y(value):.1f}" fill="{escape(item.colour)}">'
                         f"<title>{escape(item.name)}: {value} at −{minutes - 1 - i} min"
                         "</title></rect>")  # fmt: skip
    parts.append("</svg>")
    return Markup("".join(parts))
