"""Chart geometry for inline SVG: bars, lines and their labels, in a fixed viewBox.

The template draws what these describe (rectangles, polylines, ``<title>`` tooltips);
nothing here writes markup, so every label still goes through the template's escaping.
Series are numbered: the stylesheet colours ``s0``, ``s1``… .
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 150
TOP = 6  # room above the tallest bar
Format = Callable[[float], str]


def usd(value: float) -> str:
    return f"${value:,.4f}"


def count(value: float) -> str:
    return f"{value:,.0f}"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} s"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # None: no value for that run (nothing drawn)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    title: str


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Line:
    series: int
    name: str
    points: str  # the polyline's "x,y x,y …"
    dots: tuple[Dot, ...]


@dataclass(frozen=True)
class Chart:
    title: str
    bars: tuple[Bar, ...]
    lines: tuple[Line, ...]
    legend: tuple[tuple[int, str], ...]  # (series number, name)
    scale: str  # what the top of the chart stands for
    first: str  # the first and last labels along the bottom
    last: str
    palette: str = "plain"  # the stylesheet's colours for the series ("outcome": green, red)
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def empty(self) -> bool:
        return not self.bars and not self.lines


def _y(value: float, top: float) -> float:
    return round(HEIGHT - (value / top) * (HEIGHT - TOP), 2) if top > 0 else HEIGHT


def bar_chart(
    title: str,
    labels: Sequence[str],
    stacks: Sequence[Series],
    fmt: Format,
    line: Series | None = None,
    line_fmt: Format | None = None,
    palette: str = "plain",
) -> Chart:
    """Stacked bars, one column per label, and an optional line on its own scale."""
    n = len(labels)
    step = WIDTH / n if n else WIDTH
    gap = step * 0.15 if step > 3 else 0.0
    totals = [sum(s.values[i] or 0.0 for s in stacks) for i in range(n)]
    top = max(totals, default=0.0)
    bars = []
    for i, label in enumerate(labels):
        base = 0.0
        for number, series in enumerate(stacks):
            value = series.values[i] or 0.0
            if value <= 0:
                continue
            y0, y1 = _y(base, top), _y(base + value, top)
            bars.append(
                Bar(
                    x=round(i * step + gap / 2, 2),
                    y=y1,
                    width=round(step - gap, 2),
                    height=round(y0 - y1, 2),
                    series=number,
                    title=f"{label}: {series.name} {fmt(value)}",
                )
            )
            base += value
    lines: tuple[Line, ...] = ()
    scale = f"top: {fmt(top)}"
    legend = [(number, s.name) for number, s in enumerate(stacks)]
    if line is not None:
        line_top = max((v for v in line.values if v is not None), default=0.0)
        drawn = _line(len(stacks), line, labels, line_top, line_fmt or fmt, step)
        lines = (drawn,) if drawn.dots else ()
        scale += f"; line top: {(line_fmt or fmt)(line_top)}"
        legend.append((len(stacks), line.name))
    return Chart(
        title,
        tuple(bars),
        lines,
        tuple(legend),
        scale,
        labels[0] if labels else "",
        labels[-1] if labels else "",
        palette,
    )


def _line(
    number: int, series: Series, labels: Sequence[str], top: float, fmt: Format, step: float
) -> Line:
    dots = tuple(
        Dot(
            round(i * step + step / 2, 2),
            _y(value, top),
            f"{labels[i]}: {series.name} {fmt(value)}",
        )
        for i, value in enumerate(series.values)
        if value is not None
    )
    return Line(number, series.name, " ".join(f"{d.x},{d.y}" for d in dots), dots)


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Format,
    top: float | None = None,
) -> Chart:
    """One line per series on a shared scale (``top``: a fixed one, as 100% for recall)."""
    step = WIDTH / len(labels) if labels else WIDTH
    if top is None:
        top = max((v for s in series for v in s.values if v is not None), default=0.0)
    lines = tuple(_line(n, s, labels, top, fmt, step) for n, s in enumerate(series))
    return Chart(
        title,
        (),
        tuple(line for line in lines if line.dots),
        tuple((n, s.name) for n, s in enumerate(series)),
        f"top: {fmt(top)}",
        labels[0] if labels else "",
        labels[-1] if labels else "",
    )
