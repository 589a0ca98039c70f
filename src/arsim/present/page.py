"""report.html: one self-contained page that opens offline, in any browser, from a file or an e-mail attachment.

The Vega, Vega-Lite and vega-embed JavaScript is inlined once (vl-convert's bundle, the same one altair
inlines in a single chart), and each chart's spec carries its data, so the page fetches nothing. When every
chart has drawn, the page marks ``<body data-charts="done">``; a chart that fails shows its error in place
and in ``#chart-errors``, so a reader (and the browser test) sees it rather than a blank space.
"""

from __future__ import annotations

import functools
import html
import json
from pathlib import Path

import pandas as pd

from arsim.files import write_text
from arsim.present.report import Report

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1180px; color: #222;
       padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.question { color: #555; font-style: italic; }
.headline { font-size: 1.15rem; background: #f3f7fb; border-left: 4px solid #1f77b4; padding: .8rem 1rem; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }
th, td { padding: .25rem .5rem; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; } th { background: #fafafa; white-space: normal; vertical-align: bottom; }
.chart { margin: 1rem 0; } .notes li, .details td { color: #555; font-size: .85rem; } .details td { text-align: left; white-space: normal; }
.wide { overflow-x: auto; } #chart-errors:empty { display: none; } #chart-errors { color: #b00; }
"""


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@functools.lru_cache(maxsize=1)
def _bundle() -> str:
    """The inlined JavaScript of vega-embed with Vega-Lite and Vega, for the Vega-Lite version altair writes."""
    import vl_convert
    from altair.utils._importers import vl_version_for_vl_convert

    return vl_convert.javascript_bundle(vl_version=vl_version_for_vl_convert())


def render_page(report: Report) -> str:
    """The whole report page as HTML text."""
    specs = [chart.to_dict() for _, chart in report.charts]
    sections = []
    for index, (title, _) in enumerate(report.charts):
        sections.append(f'<h2>{html.escape(title)}</h2>\n<div class="chart" id="chart-{index}"></div>')
    details = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in report.details)
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in report.notes)
    script = (
        "const specs = " + json.dumps(specs, allow_nan=False).replace("</", "<\\/") + ";\n"
        "const errors = document.getElementById('chart-errors');\n"
        "Promise.allSettled(specs.map((spec, i) => vegaEmbed('#chart-' + i, spec, {actions: false, renderer: 'svg'})"
        ".catch(error => { console.error('arsim report: chart ' + i + ' could not be drawn:', error);"
        " errors.textContent += 'chart ' + i + ': ' + error + '\\n';"
        " document.getElementById('chart-' + i).textContent = 'This chart could not be drawn: ' + error; throw error; })))"
        ".then(() => { document.body.dataset.charts = errors.textContent ? 'failed' : 'done'; });\n"
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="arsim report">
<title>{html.escape(report.title)}</title>
<style>{STYLE}</style>
<script>{_bundle()}</script>
</head>
<body data-charts="pending" data-kind="{html.escape(report.kind)}">
<h1>{html.escape(report.title)}</h1>
<p class="question">{html.escape(report.question)}</p>
<p class="headline">{html.escape(report.headline)}</p>
<pre id="chart-errors"></pre>
<h2>Key figures (money in {html.escape(report.currency)})</h2>
<div class="wide">{_table(report.kpi_table)}</div>
{chr(10).join(sections)}
<h2>About these results</h2>
<ul class="notes">{notes}</ul>
<table class="details"><tbody>{details}</tbody></table>
<p class="notes">The tables behind this page are in report.xlsx and the CSV files beside it.</p>
<script>{script}</script>
</body>
</html>
"""


def write_page(report: Report, path: str | Path) -> Path:
    """Write report.html whole (through a temporary sibling, see `arsim.files`)."""
    return write_text(path, render_page(report))
