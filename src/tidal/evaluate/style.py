"""One chart style for the report and the live dashboard: colours, fonts, Plotly layout.

>>> from tidal.evaluate.style import colour, layout
>>> colour("online", 0), layout("t")["font"]["family"].split(",")[0]
('#1f77b4', 'Inter')
"""

from __future__ import annotations

from typing import Any

__all__ = ["FONT", "PALETTES", "CSS", "colour", "layout", "line_style"]

FONT = "Inter, 'Segoe UI', Helvetica, Arial, sans-serif"

#: shades per family, so that a glance tells online (blues) from batch (oranges) and hybrids
PALETTES = {
    "online": ["#1f77b4", "#4a98c9", "#0b4f7c", "#7fb3d5"],
    "batch": ["#e6550d", "#fd8d3c", "#a63603", "#fdae6b"],
    "hybrid": ["#2ca02c", "#74c476", "#006d2c", "#a1d99b"],
    "baseline": ["#7f7f7f", "#b0b0b0", "#4d4d4d", "#d0d0d0"],
    "engine": ["#9467bd"],
}
CHANGE_COLOUR = "#d62728"
#: within a family, learners differ by dash as well as by shade (shades alone are hard to tell)
DASHES = ("solid", "dash", "dot", "dashdot", "longdash")


def colour(fam: str, index: int = 0) -> str:
    """The ``index``-th colour of a family ("online", "batch", "hybrid", "baseline")."""
    shades = PALETTES.get(fam, PALETTES["baseline"])
    return shades[index % len(shades)]


def line_style(fam: str, index: int = 0) -> dict[str, Any]:
    """The line of the ``index``-th learner of a family: its family's colour, its own dash;
    baselines are thin and dotted so they read as references.

    >>> line_style("batch", 1), line_style("baseline", 0)["dash"]
    ({'color': '#fd8d3c', 'dash': 'dash', 'width': 1.8}, 'dot')
    """
    if fam == "baseline":
        return {"color": colour(fam, index), "dash": ("dot", "dashdot")[index % 2], "width": 1.2}
    return {"color": colour(fam, index), "dash": DASHES[index % len(DASHES)], "width": 1.8}


def layout(title: str, height: int = 380, **extra: Any) -> dict[str, Any]:
    """A Plotly layout dict in the house style."""
    base: dict[str, Any] = {
        "title": {"text": title, "x": 0.01, "font": {"size": 16}},
        "font": {"family": FONT, "size": 12, "color": "#222"},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 45},
        "paper_bgcolor": "white",
        "plot_bgcolor": "#fafafa",
        "legend": {"orientation": "h", "y": -0.18},
        "hovermode": "x unified",
    }
    base.update(extra)
    return base


CSS = f"""
body {{ font-family: {FONT}; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }}
h1 {{ font-size: 1.6em; margin-bottom: .2em; }}
h2 {{ font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }}
table {{ border-collapse: collapse; font-size: .85em; }}
th, td {{ padding: .25em .6em; border-bottom: 1px solid #eee; text-align: right; }}
td {{ white-space: nowrap; font-variant-numeric: tabular-nums; }}
th:first-child, td:first-child {{ text-align: left; }}
.scroll {{ max-width: 100%; overflow-x: auto; }}
.verdict {{ background: #f3f8f3; border-left: 4px solid #2ca02c; padding: .6em 1em; }}
.verdict .headline {{ font-size: 1.15em; font-weight: 600; margin: .2em 0 .5em; }}
.verdict ol {{ margin: .3em 0 .8em; padding-left: 1.4em; line-height: 1.45; }}
.considerations {{ width: 100%; table-layout: fixed; background: white; }}
.considerations td {{ white-space: normal; text-align: left; vertical-align: top; }}
.considerations th {{ text-align: left; }}
.considerations th:first-child {{ width: 11em; }}
.fam-online {{ border-top: 3px solid #1f77b4; }}
.fam-batch {{ border-top: 3px solid #e6550d; }}
.fam-hybrid {{ border-top: 3px solid #2ca02c; }}
.empty {{ color: #888; font-style: italic; }}
.stamp {{ color: #666; font-size: .8em; }}
pre {{ background: #f6f6f6; padding: .6em; overflow-x: auto; font-size: .8em; }}
"""
