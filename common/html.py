"""HTML building blocks shared by winback's self-contained pages (model report, list summary).

Every page is one file: styles inline, images as ``data:`` URIs, no script and no network, so it
opens offline and can be mailed. Cells passed to :func:`table` are escaped by the caller.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

_CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #d9dde5; --zebra: #f4f6f9;
        --accent: #1f5fa8; --best: #dff3e4; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica,
       Arial, sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 1.7em; margin: 0.2em 0 0.1em; }
h2 { font-size: 1.3em; margin: 2em 0 0.6em; padding-bottom: 0.25em;
     border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05em; margin: 1.4em 0 0.5em; }
p, li { max-width: 80ch; }
.muted, figcaption, .note { color: var(--muted); font-size: 0.92em; }
.headline { font-size: 1.2em; font-weight: 600; color: var(--accent); margin: 0.8em 0; }
nav { display: flex; flex-wrap: wrap; gap: 6px 16px; padding: 10px 0 4px;
      border-bottom: 1px solid var(--line); }
nav a { color: var(--accent); text-decoration: none; }
nav a:hover { text-decoration: underline; }
table { border-collapse: collapse; margin: 0.4em 0 1em; font-size: 0.92em; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left;
         vertical-align: top; }
th { background: #e9edf3; font-weight: 600; }
tbody tr:nth-child(even) { background: var(--zebra); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
td ul { margin: 0; padding-left: 1.1em; }
td.why { min-width: 30em; font-size: 0.95em; }
td li { margin: 0 0 2px; }
.row { display: flex; flex-wrap: wrap; gap: 0 40px; align-items: flex-start; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; margin: 1em 0 1.4em; }
.kpi { flex: 1 1 170px; max-width: 240px; padding: 10px 14px; border: 1px solid var(--line);
       border-left: 4px solid var(--accent); background: var(--zebra); }
.kpi b { display: block; font-size: 1.55em; font-variant-numeric: tabular-nums; }
.kpi span { color: var(--muted); font-size: 0.88em; }
td.best { background: var(--best); font-weight: 700; }
.scroll { overflow-x: auto; }
figure { margin: 1.2em 0 2em; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
code { font-size: 0.92em; background: var(--zebra); padding: 0 3px; }
@media print {
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  nav { display: none; }
  .scroll { overflow: visible; }
  h2, h3 { break-after: avoid; }
  figure, tr, .kpi { break-inside: avoid; }
  thead { display: table-header-group; }
  .kpi, th, tbody tr:nth-child(even), td.best { print-color-adjust: exact; }
}
"""


def escape(value: object) -> str:
    """Text made safe for HTML content and attribute values."""
    return html.escape(str(value), quote=True)


def number(value: object) -> str:
    """A figure for a table: thousands separated, three decimals below 1, ``—`` for missing."""
    if value is None or value is pd.NA:
        return "—"
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return f"{int(value):,}"
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        return "—"
    size = abs(number)
    decimals = 0 if size >= 100 or (size >= 1 and number.is_integer()) else 2 if size >= 1 else 3
    return f"{number:,.{decimals}f}"


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    numeric: Sequence[bool] | None = None,
    row_attrs: Sequence[str] | None = None,
) -> str:
    """A table from already-escaped cells (a cell may carry its own ``<td …>``)."""
    numeric = numeric or [False] * len(header)
    head = "".join(
        f'<th class="num">{h}</th>' if n else f"<th>{h}</th>"
        for h, n in zip(header, numeric, strict=True)
    )
    body = []
    for i, row in enumerate(rows):
        cells = "".join(
            c if c.startswith("<td") else (f'<td class="num">{c}</td>' if n else f"<td>{c}</td>")
            for c, n in zip(row, numeric, strict=True)
        )
        attrs = f" {row_attrs[i]}" if row_attrs else ""
        body.append(f"<tr{attrs}>{cells}</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def breakable(name: str) -> str:
    """An identifier escaped for a header cell, allowed to wrap after ``_`` and ``.``."""
    return escape(name).replace("_", "_<wbr>").replace(".", ".<wbr>")


def key_figures(items: Iterable[tuple[str, str]]) -> str:
    """A row of key figures, each an already-escaped value above its label."""
    cards = "".join(f'<div class="kpi"><b>{value}</b><span>{label}</span></div>'
                    for value, label in items)  # fmt: skip
    return f'<div class="kpis">{cards}</div>'


def section(anchor: str, title: str, body: str) -> str:
    """A titled section that the page's navigation can link to as ``#anchor``."""
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>\n{body}\n</section>'


def png_uri(path: Path) -> str:
    """A PNG file as a ``data:`` URI, so the page carries its images."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def page(
    title: str,
    subtitle: str,
    nav: str,
    sections: Sequence[str],
    *,
    meta: Mapping[str, str] | None = None,
    style: str = "",
) -> str:
    """A whole HTML document: header with title, subtitle and navigation, then the sections.

    ``meta`` adds ``<meta name=… content=…>`` tags, facts a program reads from the page;
    ``style`` adds CSS after the shared styles.
    """
    tags = "".join(
        f'<meta name="{escape(name)}" content="{escape(value)}">'
        for name, value in (meta or {}).items()
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">{tags}'
        f"<title>{escape(title)}</title><style>{_CSS}{style}</style></head>\n"
        f'<body><main><header><h1>{escape(title)}</h1><p class="muted">{escape(subtitle)}</p>'
        f"<nav>{nav}</nav></header>\n" + "\n".join(sections) + "\n</main></body></html>\n"
    )


__all__ = ["breakable", "escape", "key_figures", "number", "page", "png_uri", "section", "table"]
