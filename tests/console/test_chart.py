"""The dashboard's chart: inline SVG with a title and a description for screen readers."""

from __future__ import annotations

from pacsbridge.console.chart import Series, bar_chart, nice_ceiling


def test_the_scale_ends_on_a_round_number():
    assert [nice_ceiling(v) for v in (0, 1, 3, 7, 11, 48, 120)] == [1, 1, 5, 10, 20, 50, 200]


def test_a_chart_draws_a_bar_per_minute_and_series_and_says_what_it_shows():
    svg = str(bar_chart([Series("Received", "#1d4ed8", [0] * 59 + [7]),
                         Series("Sent <&>", "#047857", [1] * 60)],
                        title="HL7 per minute", minutes=60))  # fmt: skip
    assert svg.startswith("<svg") and svg.count("<rect") == 61  # no bar for an empty minute
    assert '<title id="chart-title">HL7 per minute</title>' in svg
    assert "Received: 7 in total, at most 7 in a minute" in svg
    assert "<title>Received: 7 at −0 min</title>" in svg and ">now<" in svg
    assert "Sent &lt;&amp;&gt;" in svg and "<&>" not in svg  # labels are escaped
