"""Small SVG charts for planners: a few kilobytes, no JavaScript, readable on a slow line.

Hand-written SVG rather than a plotting library at request time: the charts are simple (a
forecast with its interval band, horizontal bars with intervals, a few lines), the output is
deterministic and tiny, and the server does not load matplotlib per worker. Every label is
escaped; text is Unicode, so Vietnamese renders as is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

WIDTH = 760
PALETTE = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a3069")


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return ""
    if abs(value) >= 1000:
        return f"{value:,.0f}".replace(",", ".")
    if abs(value) >= 10 or float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.2f}".replace(".", ",")


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        high = low + 1
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= step * factor:
            step *= factor
            break
    start = math.floor(low / step) * step
    ticks, value = [], start
    while value <= high + step * 0.01:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _svg(height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12" role="img" '
        f'aria-label="{escape(title, {chr(34): "&quot;"})}">'
        f"<title>{escape(title)}</title>"
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>'
        f'<text x="12" y="20" font-size="14" font-weight="bold">{escape(title)}</text>'
        + "".join(body)
        + "</svg>"
    )


def _clean(values: Sequence[float | None]) -> list[float]:
    return [float("nan") if v is None else float(v) for v in values]


@dataclass(frozen=True)
class _MonthAxes:
    """A monthly x axis and a value y axis from 0 to the top tick, shared by the line charts."""

    n_months: int
    ticks: list[float]
    bottom: int
    left: int = 56
    right: int = WIDTH - 16
    top: int = 40

    def x(self, i: int) -> float:
        return self.left + (self.right - self.left) * i / (max(self.n_months, 2) - 1)

    def y(self, v: float) -> float:
        return self.bottom - (self.bottom - self.top) * v / self.ticks[-1]

    def grid(self) -> list[str]:
        """Horizontal grid lines with their values on the left."""
        return [
            f'<line x1="{self.left}" x2="{self.right}" y1="{self.y(t):.1f}" y2="{self.y(t):.1f}" '
            'stroke="#d0d7de" stroke-width="1"/>'
            f'<text x="{self.left - 6}" y="{self.y(t) + 4:.1f}" text-anchor="end">{_fmt(t)}</text>'
            for t in self.ticks
        ]

    def month_labels(self, labels: Sequence[str]) -> list[str]:
        """About twelve month labels under the axis."""
        step = max(1, max(self.n_months, 2) // 12)
        return [
            f'<text x="{self.x(i):.1f}" y="{self.bottom + 16}" text-anchor="middle" '
            f'font-size="10">{escape(labels[i])}</text>'
            for i in range(0, len(labels), step)
        ]


def forecast_chart(
    title: str,
    history_months: Sequence[str],
    history: Sequence[float | None],
    months: Sequence[str],
    point: Sequence[float],
    lo80: Sequence[float],
    hi80: Sequence[float],
    lo95: Sequence[float],
    hi95: Sequence[float],
    caption: str = "",
) -> str:
    """Draw history as a line, the forecast as a dashed line in its 80 % and 95 % bands."""
    history_values, point_values = _clean(history), _clean(point)
    bands = [_clean(v) for v in (lo80, hi80, lo95, hi95)]
    labels = list(history_months) + list(months)
    everything = [v for v in history_values + point_values + bands[3] if math.isfinite(v)]
    top = max(everything, default=1.0)
    axes = _MonthAxes(len(labels), _nice_ticks(0.0, max(top, 1.0)), bottom=300)
    x, y, left, bottom = axes.x, axes.y, axes.left, axes.bottom
    height = 350
    body = axes.grid()
    offset = len(history_values)
    for (low, high), fill in (((bands[2], bands[3]), "#cfe2ff"), ((bands[0], bands[1]), "#9ec5fe")):
        upper = [f"{x(offset + i):.1f},{y(v):.1f}" for i, v in enumerate(high)]
        lower = [f"{x(offset + i):.1f},{y(v):.1f}" for i, v in reversed(list(enumerate(low)))]
        if upper:
            body.append(f'<polygon points="{" ".join(upper + lower)}" fill="{fill}"/>')
    for values, start, style in (
        (history_values, 0, 'stroke="#24292f" stroke-width="2"'),
        (point_values, offset, 'stroke="#1f6feb" stroke-width="2" stroke-dasharray="6 4"'),
    ):
        segments, current = [], []
        for i, v in enumerate(values):
            if math.isfinite(v):
                current.append(f"{x(start + i):.1f},{y(v):.1f}")
            elif current:
                segments.append(current)
                current = []
        segments.append(current)
        for segment in segments:
            if len(segment) > 1:
                body.append(f'<polyline points="{" ".join(segment)}" fill="none" {style}/>')
    body += axes.month_labels(labels)
    legend = (
        "— thực tế / actual   - - dự báo / forecast   ▇ khoảng 80 % và 95 % / 80 % and 95 % "
        "intervals"
    )
    body.append(f'<text x="{left}" y="{bottom + 34}" font-size="11">{escape(legend)}</text>')
    if caption:
        body.append(f'<text x="{left}" y="{bottom + 48}" font-size="11">{escape(caption)}</text>')
    return _svg(height, body, title)


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    low: Sequence[float | None] | None = None,
    high: Sequence[float | None] | None = None,
    reference: float | None = None,
    reference_label: str = "",
    caption: str = "",
    percent: bool = False,
) -> str:
    """Draw horizontal bars (negative values to the left of zero) with interval whiskers."""
    vals = _clean(values)
    lows = _clean(low) if low is not None else [float("nan")] * len(vals)
    highs = _clean(high) if high is not None else [float("nan")] * len(vals)
    finite = [v for v in vals + lows + highs if math.isfinite(v)]
    if reference is not None:
        finite.append(reference)
    ticks = _nice_ticks(min([0.0, *finite]), max([0.0, *finite, 1e-9]))
    lo_v, hi_v = ticks[0], ticks[-1]
    left, right, top_px, row = 260, WIDTH - 20, 40, 22
    height = top_px + row * max(len(vals), 1) + 60

    def x(v: float) -> float:
        return left + (right - left) * (v - lo_v) / (hi_v - lo_v)

    def show(v: float) -> str:
        return f"{v * 100:.0f} %" if percent else _fmt(v)

    body = []
    bottom = top_px + row * max(len(vals), 1)
    for tick in ticks:
        body.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top_px}" y2="{bottom}" '
            'stroke="#d0d7de"/>'
            f'<text x="{x(tick):.1f}" y="{bottom + 14}" text-anchor="middle" font-size="10">'
            f"{show(tick)}</text>"
        )
    for i, (label, v) in enumerate(zip(labels, vals, strict=True)):
        y = top_px + row * i
        body.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">{escape(str(label)[:40])}</text>'
        )
        if not math.isfinite(v):
            body.append(
                f'<text x="{x(0) + 4:.1f}" y="{y + 15}" fill="#57606a">'
                "ẩn (&lt; 10 người) / suppressed</text>"
            )
            continue
        x0, x1 = sorted((x(0.0), x(v)))
        colour = "#d1242f" if v < 0 else "#1f6feb"
        body.append(
            f'<rect x="{x0:.1f}" y="{y + 4}" width="{max(x1 - x0, 1):.1f}" height="{row - 8}" '
            f'fill="{colour}"/>'
        )
        if math.isfinite(lows[i]) and math.isfinite(highs[i]):
            body.append(
                f'<line x1="{x(lows[i]):.1f}" x2="{x(highs[i]):.1f}" y1="{y + row / 2:.1f}" '
                f'y2="{y + row / 2:.1f}" stroke="#24292f" stroke-width="1.5"/>'
            )
        body.append(f'<text x="{max(x1, x0) + 4:.1f}" y="{y + 15}" font-size="10">{show(v)}</text>')
    if reference is not None:
        body.append(
            f'<line x1="{x(reference):.1f}" x2="{x(reference):.1f}" y1="{top_px - 4}" '
            f'y2="{bottom}" stroke="#9a6700" stroke-width="2" stroke-dasharray="4 3"/>'
            f'<text x="{x(reference) + 4:.1f}" y="{top_px - 6}" font-size="10" fill="#9a6700">'
            f"{escape(reference_label)}</text>"
        )
    if caption:
        body.append(f'<text x="12" y="{bottom + 34}" font-size="11">{escape(caption)}</text>')
    return _svg(height, body, title)


def line_chart(
    title: str, months: Sequence[str], lines: Sequence[tuple[str, Sequence[float | None]]]
) -> str:
    """Draw a few monthly series as lines with a legend (gaps where a value is suppressed)."""
    cleaned = [(label, _clean(values)) for label, values in lines]
    finite = [v for _, values in cleaned for v in values if math.isfinite(v)]
    axes = _MonthAxes(len(months), _nice_ticks(0.0, max([1.0, *finite])), bottom=280)
    x, y, left, bottom = axes.x, axes.y, axes.left, axes.bottom
    height = bottom + 40 + 16 * len(cleaned)
    body = axes.grid()
    for k, (label, values) in enumerate(cleaned):
        colour = PALETTE[k % len(PALETTE)]
        points = [f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values) if math.isfinite(v)]
        if len(points) > 1:
            body.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
                'stroke-width="1.5"/>'
            )
        ly = bottom + 36 + 16 * k
        body.append(
            f'<rect x="{left}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{left + 16}" y="{ly}">{escape(label)}</text>'
        )
    body += axes.month_labels(months)
    return _svg(height, body, title)
