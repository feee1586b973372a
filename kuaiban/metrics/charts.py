"""Plotly figures of the overview, built server-side with plotly's Python API.

Each function returns the figure as JSON text (safe to put inside a ``<script>`` element); the
page draws it with plotly.js served from the installed plotly package (``vendor/plotly.min.js``).
A point's ``customdata`` is the URL of the appeals behind it: clicking a bar opens them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

FONT = '"Noto Sans CJK SC","WenQuanYi Micro Hei","PingFang SC","Microsoft YaHei",sans-serif'
BRAND, BLUE, GREEN, GREY = "#c62828", "#1565c0", "#2e7d32", "#9fb3c8"


def _layout(fig: go.Figure, *, height: int = 300, **extra: Any) -> str:
    fig.update_layout(
        height=height,
        margin={"l": 8, "r": 8, "t": 8, "b": 8},
        font={"family": FONT, "size": 12},
        paper_bgcolor="#fff",
        plot_bgcolor="#fff",
        legend={"orientation": "h", "y": 1.12},
        **extra,
    )
    fig.update_xaxes(automargin=True, gridcolor="#eef2f6")
    fig.update_yaxes(automargin=True, gridcolor="#eef2f6")
    text = pio.to_json(fig, validate=False, engine="json")
    # As Django's json_script does: nothing in the data can close the <script> element.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def trend(
    days: Sequence[str],
    received: Sequence[int],
    closed: Sequence[int],
    urls: Sequence[str],
    closed_urls: Sequence[str],
) -> str:
    fig = go.Figure()
    fig.add_bar(x=days, y=received, name="受理", marker_color=BLUE, customdata=urls)
    fig.add_scatter(
        x=days,
        y=closed,
        name="其中已办结",
        mode="lines+markers",
        line={"color": GREEN},
        customdata=closed_urls,
    )
    return _layout(fig, hovermode="x unified", xaxis={"type": "category", "tickangle": -45})


def bars(
    names: Sequence[str],
    values: Sequence[float | int | None],
    urls: Sequence[str],
    *,
    color: str = BLUE,
    horizontal: bool = True,
    suffix: str = "",
) -> str:
    shown = [v if v is not None else 0 for v in values]
    text = [("—" if v is None else f"{v:g}{suffix}") for v in values]
    fig = go.Figure()
    if horizontal:
        fig.add_bar(
            y=list(names),
            x=shown,
            orientation="h",
            marker_color=color,
            customdata=list(urls),
            text=text,
            textposition="auto",
        )
        fig.update_yaxes(autorange="reversed")
        height = max(160, 26 * len(names) + 40)
    else:
        fig.add_bar(
            x=list(names),
            y=shown,
            marker_color=color,
            customdata=list(urls),
            text=text,
            textposition="auto",
        )
        height = 300
    return _layout(fig, height=height, showlegend=False)


def donut(names: Sequence[str], values: Sequence[int], urls: Sequence[str]) -> str:
    fig = go.Figure(
        go.Pie(
            labels=list(names),
            values=list(values),
            hole=0.5,
            customdata=list(urls),
            sort=False,
            textinfo="label+percent",
            textposition="inside",
        )
    )
    return _layout(fig, showlegend=False)
