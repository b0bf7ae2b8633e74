"""The digest's chart: incidents per category per room, this week against last week.

Drawn with matplotlib's object API on the Agg canvas (no display, no pyplot global state, safe
in a long-running asyncio process), imported only when a chart is drawn so the bot's start
and memory do not pay for matplotlib until the first digest. The size in pixels is fixed by
``chart_size`` so the ``m.image`` event can state width and height exactly.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DPI = 100
HEIGHT_IN = 5.0


@dataclass(frozen=True, slots=True)
class Chart:
    png: bytes
    width: int
    height: int


def chart_size(rooms: int) -> tuple[int, int]:
    """Pixels: 40 per room's pair of bars (80 rooms: 3500), never narrower than 800."""
    width_in = max(8.0, 0.4 * rooms + 3.0)
    return int(width_in * DPI), int(HEIGHT_IN * DPI)


def incidents_chart(
    rooms: Sequence[str],
    category_names: Mapping[str, str],
    this_week: Sequence[Mapping[str, int]],
    last_week: Sequence[Mapping[str, int]],
    labels: Mapping[str, str],
) -> Chart:
    """Two stacked bars per room (last week faded, this week solid), one colour per category.

    ``labels`` has the localised ``title``, ``this_week``, ``last_week`` and ``count`` texts.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    width, height = chart_size(len(rooms))
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    palette = [
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
        "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79",
    ]  # fmt: skip
    categories = list(category_names)
    positions = range(len(rooms))
    for offset, weeks, alpha in ((-0.2, last_week, 0.4), (0.2, this_week, 1.0)):
        bottoms = [0] * len(rooms)
        for index, category in enumerate(categories):
            values = [week.get(category, 0) for week in weeks]
            if not any(values):
                continue
            axes.bar(
                [p + offset for p in positions],
                values,
                width=0.38,
                bottom=bottoms,
                color=palette[index % len(palette)],
                alpha=alpha,
            )
            bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    used = [c for c in categories if any(w.get(c) for w in (*this_week, *last_week))]
    handles = [
        Patch(color=palette[categories.index(c) % len(palette)], label=category_names[c])
        for c in used
    ]
    handles += [
        Patch(color="#555555", alpha=0.4, label=labels["last_week"]),
        Patch(color="#555555", label=labels["this_week"]),
    ]
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    axes.set_xticks(list(positions), list(rooms), rotation=60, ha="right", fontsize=8)
    axes.set_ylabel(labels["count"])
    axes.set_title(labels["title"])
    axes.yaxis.get_major_locator().set_params(integer=True)
    inches = width / DPI  # fixed margins in inches: room for the axis label and the legend
    figure.subplots_adjust(left=0.6 / inches, right=1 - 1.9 / inches, bottom=0.3, top=0.9)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return Chart(buffer.getvalue(), width, height)
