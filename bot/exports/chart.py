"""The recap as one picture for the chat: where complaints went, where they came from,
where they stand, and how often each step kept its deadline.

Drawn with matplotlib's object API (`Figure` + the Agg canvas), never pyplot: pyplot
keeps global figures and a GUI backend, neither welcome in a server that draws from
several tasks. Sizes are chosen for a phone screen: 1200 × 1200 pixels, large type,
counts written on the bars rather than read off an axis.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure

from bot.core.budget import case_limit
from bot.core.model import CaseStatus
from bot.core.recap import (
    NO_UNIT,
    Recap,
    channel_name,
    percent,
    source_counts,
    step_timings,
    whole,
)
from bot.core.texts import Texts
from bot.exports.content import label, unit_name, unit_names_of

WIDTH_INCHES = 12
HEIGHT_INCHES = 12
DPI = 100  # 1200 × 1200 pixels
MAX_UNITS = 12  # the busiest units get a bar each; the rest share one
MAX_SOURCES = 12  # the channels and the office's sources; past that the rest share one
LABEL_WIDTH = 22  # characters per line of a bar's name
BAR_COLOUR = "#2E75B6"
STAFF_COLOUR = "#7B5EA7"  # sources of complaints an officer entered
GOOD, FAIR, POOR = "#2E8B57", "#E69F00", "#C0392B"  # share within the deadline
GOOD_SHARE, FAIR_SHARE = 0.8, 0.5
PANEL_HEIGHTS = (3.0, 4.8, 2.2)  # status, sources, deadlines
TITLE_SIZE = 20
PANEL_TITLE_SIZE = 16
TEXT_SIZE = 13


def render_recap_chart(recap: Recap, t: Texts, unit_names: Mapping[str, str]) -> bytes:
    """The recap chart as PNG bytes (a period without complaints gets a plain notice)."""
    figure = Figure(
        figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained", facecolor="white"
    )
    FigureCanvasAgg(figure)
    figure.suptitle(
        t(
            "chart_title",
            office=recap.office_name,
            period=recap.period.title(t),
            received=whole(t, recap.figures.received),
        ),
        fontsize=TITLE_SIZE,
        fontweight="bold",
    )
    if recap.figures.received:
        # Each panel is a sub-figure so its title centres over the labels and bars
        # together, rather than over the bars alone and off the picture's edge.
        # The units down the left; status, sources and deadlines on the right, each as
        # tall as its bars need (7 statuses, up to MAX_SOURCES sources, 4 steps).
        grid = figure.add_gridspec(3, 2, height_ratios=PANEL_HEIGHTS)
        _units_panel(figure.add_subfigure(grid[:, 0]), recap, t, unit_names)
        _status_panel(figure.add_subfigure(grid[0, 1]), recap, t)
        _source_panel(figure.add_subfigure(grid[1, 1]), recap, t)
        _deadline_panel(figure.add_subfigure(grid[2, 1]), recap, t)
    else:
        axes = figure.add_subplot()
        axes.axis("off")
        axes.text(0.5, 0.5, t("chart_empty"), ha="center", va="center", fontsize=24, wrap=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _units_panel(panel: SubFigure, recap: Recap, t: Texts, unit_names: Mapping[str, str]) -> None:
    _horizontal_bars(panel, t("chart_units"), unit_bars(recap, t, unit_names))


def unit_bars(
    recap: Recap, t: Texts, unit_names: Mapping[str, str]
) -> list[tuple[str, str, float]]:
    """A bar per unit of the agency, busiest first, those with no case too (at 0: that a
    unit received nothing is news), then the cases not yet disposed; past MAX_UNITS the
    rest share one bar."""
    names = unit_names_of(recap, unit_names)
    counts = {row.code: 0 for row in recap.units}
    counts.update((code, n) for code, n in recap.figures.by_unit.items() if n or code != NO_UNIT)
    ranked = sorted(
        ((code == NO_UNIT, n, unit_name(t, code, names)) for code, n in counts.items()),
        key=lambda item: (item[0], -item[1], item[2].casefold()),
    )
    shown = [(name, whole(t, n), float(n)) for _, n, name in ranked[:MAX_UNITS]]
    rest = ranked[MAX_UNITS:]
    if rest:
        total = sum(n for _, n, _ in rest)
        shown.append((t("chart_other_units", count=len(rest)), whole(t, total), float(total)))
    return shown


def source_bars(recap: Recap, t: Texts) -> list[tuple[str, str, float, str]]:
    """A bar per source: the channels reporters write in (self-reported), then the
    office's sources (entered by officers) in its order, each even at 0. Past MAX_SOURCES
    bars the busiest sources keep theirs, busiest first, and the rest share one. Each
    (name, written count, length, colour)."""
    items = source_counts(recap)
    if len(items) > MAX_SOURCES:
        channels = [item for item in items if not item.staff]
        ranked = sorted((item for item in items if item.staff), key=lambda item: -item.count)
        keep = max(MAX_SOURCES - 1 - len(channels), 0)
        items, rest = [*channels, *ranked[:keep]], ranked[keep:]
    else:
        rest = []
    bars = [
        (
            item.name if item.staff else t("chart_source_self", channel=channel_name(t, item.name)),
            whole(t, item.count),
            float(item.count),
            STAFF_COLOUR if item.staff else BAR_COLOUR,
        )
        for item in items
    ]
    if rest:
        total = sum(item.count for item in rest)
        name = t("chart_other_sources", count=len(rest))
        bars.append((name, whole(t, total), float(total), STAFF_COLOUR))
    return bars


def _source_panel(panel: SubFigure, recap: Recap, t: Texts) -> None:
    f = recap.figures
    bars = source_bars(recap, t)
    _horizontal_bars(
        panel,
        t(
            "chart_sources",
            self_reported=whole(t, f.self_reported_total),
            staff_entered=whole(t, f.staff_entered_total),
        ),
        [(name, text, length) for name, text, length, _ in bars],
        colours=[colour for _, _, _, colour in bars],
    )


def _status_panel(panel: SubFigure, recap: Recap, t: Texts) -> None:
    by_status = recap.figures.by_status
    known = [s.value for s in CaseStatus]
    others = sorted(set(by_status) - set(known))
    _horizontal_bars(
        panel,
        t("chart_status"),
        [
            (label(t, f"status_{s}", s), whole(t, by_status.get(s, 0)), float(by_status.get(s, 0)))
            for s in [*known, *others]
        ],
    )


def deadline_bars(recap: Recap, t: Texts) -> list[tuple[str, float | None]]:
    """Each step's share on time, in the order they happen: the acknowledgement, the
    staff steps the workflow has (`step_timings`), the whole case."""
    case_days = case_limit(t, recap.case_days, recap.case_days_working)
    return [
        (t("chart_step_acknowledgement"), recap.acknowledgement.share_within),
        *((t(f"chart_step_{name}"), timing.share_within) for name, timing in step_timings(recap)),
        (t("chart_step_closure", days=case_days), recap.closure.share_within),
    ]


def _deadline_panel(panel: SubFigure, recap: Recap, t: Texts) -> None:
    steps = deadline_bars(recap, t)
    _horizontal_bars(
        panel,
        t("chart_within"),
        [
            (
                name,
                t("chart_not_reached") if share is None else percent(share),
                0.0 if share is None else share * 100,
            )
            for name, share in steps
        ],
        colours=[_colour(share) for _, share in steps],
        full=100.0,
    )


def _horizontal_bars(
    panel: SubFigure,
    title: str,
    items: Sequence[tuple[str, str, float]],
    *,
    colours: Sequence[str] | None = None,
    full: float | None = None,
) -> None:
    """Bars top-down in the given order, each (name, written value, length) with its
    value written at its end; `full` fixes the scale (100 for percentages)."""
    panel.suptitle(title, fontsize=PANEL_TITLE_SIZE, fontweight="bold")
    axes = panel.add_subplot()
    positions = list(range(len(items)))
    lengths = [length for _, _, length in items]
    bars = axes.barh(positions, lengths, color=colours or BAR_COLOUR)
    axes.set_yticks(
        positions,
        [_wrap(name) for name, _, _ in items],
        fontsize=TEXT_SIZE,
    )
    axes.invert_yaxis()
    axes.bar_label(bars, labels=[text for _, text, _ in items], padding=4, fontsize=TEXT_SIZE)
    scale = full if full is not None else max([*lengths, 1.0])
    axes.set_xlim(0, scale * 1.25)  # room for the value after the longest bar
    for side in ("top", "right", "bottom"):
        axes.spines[side].set_visible(False)
    axes.xaxis.set_visible(False)  # the bars carry their numbers
    axes.tick_params(length=0)


def _wrap(name: str) -> str:
    """Long names over several lines, keeping the line breaks a template asks for."""
    return "\n".join(
        textwrap.fill(line, LABEL_WIDTH, max_lines=2, placeholder="…") for line in name.splitlines()
    )


def _colour(share: float | None) -> str:
    if share is None or share >= GOOD_SHARE:
        return GOOD
    return FAIR if share >= FAIR_SHARE else POOR
