"""The theme's chart: monthly volume against the baseline and the target, as plotly JSON for the
page's plotly.js (served from the installed plotly package, as the overview's charts)."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio
from django.utils.translation import gettext as _

from kuaiban.themes.selectors import Figures

FONT = '"Noto Sans CJK SC","WenQuanYi Micro Hei","PingFang SC","Microsoft YaHei",sans-serif'
BLUE, GREY, GREEN, RED = "#1565c0", "#9fb3c8", "#2e7d32", "#c62828"


def volume_chart(fig_data: Figures) -> str:
    """Bars: each month's volume (the baseline months grey); a dashed line: the baseline; a
    green line over the theme's months: the target."""
    labels = [m.label for m in fig_data.months]
    theme_labels = [m.label for m in fig_data.months if m.phase == "theme"]
    fig = go.Figure()
    fig.add_bar(
        x=labels,
        y=[m.volume for m in fig_data.months],
        name=_("appeals per month"),
        marker_color=[GREY if m.phase == "baseline" else BLUE for m in fig_data.months],
        text=["" if m.volume is None else str(m.volume) for m in fig_data.months],
        textposition="outside",
    )
    fig.add_scatter(
        x=labels,
        y=[fig_data.baseline] * len(labels),
        name=_("baseline %(v)s") % {"v": f"{fig_data.baseline:g}"},
        mode="lines",
        line={"color": RED, "dash": "dash"},
    )
    fig.add_scatter(
        x=theme_labels,
        y=[fig_data.target] * len(theme_labels),
        name=_("target %(v)s") % {"v": f"{fig_data.target:g}"},
        mode="lines",
        line={"color": GREEN, "width": 3},
    )
    top = max([m.volume or 0 for m in fig_data.months] + [fig_data.baseline, 1])
    fig.update_layout(
        height=320,
        margin={"l": 8, "r": 8, "t": 8, "b": 8},
        font={"family": FONT, "size": 12},
        paper_bgcolor="#fff",
        plot_bgcolor="#fff",
        legend={"orientation": "h", "y": -0.2},
        xaxis={"type": "category", "fixedrange": True, "automargin": True},
        yaxis={
            "range": [0, top * 1.25],
            "fixedrange": True,
            "automargin": True,
            "gridcolor": "#eef2f6",
        },
        bargap=0.35,
    )
    text = pio.to_json(fig, validate=False, engine="json")
    # As Django's json_script does: nothing in the data can close the <script> element.
    return str(text).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
