"""Small SVG charts for planners: a few kilobytes, no JavaScript, readable on a slow line.

Hand-written SVG rather than a plotting library at request time: the charts are simple (a
forecast with its interval band, horizontal bars with intervals, a few lines), the output is
deterministic and tiny, and the server does not load matplotlib per worker. Every label is
escaped; text is Unicode, so Vietnamese renders as is.

Text is never cut: the module estimates how wide a string is drawn (`text_width`, from the
characters and the font size, erring wide), wraps long titles, labels, legends and captions
onto lines (`<tspan>`), and sizes margins and rows from what it will draw. A chart is drawn
for a given `width` (320 to 960 px; a page inlines a narrow and a wide rendering and picks one
by media query, at 1:1 scale, so no text is under 12 px). Below `NARROW` px bar labels go
above their bars and legends stack.

Series survive greyscale printing and colour blindness: the line colours step through
relative luminance (`LINE_COLOURS`, at least `LINE_LUMINANCE_STEP` apart) and each line also
has its own dash and marker shape; negative bars are light and hatched, positive bars solid.
Every colour meets WCAG contrast on white: 4.5:1 for text, 3:1 for lines and bars.

The words the module writes itself come from `WORDS`, in Vietnamese and English
(`lang="vi"`, `"en"` or `"both"`, which writes "Vietnamese / English"); titles, labels and
captions passed in are shown as given. Numbers are written the Vietnamese way: 1.234; 0,8;
45 %.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

WIDTH = 760
MIN_WIDTH, MAX_WIDTH = 320, 960
NARROW = 480  # below this width bar labels go above their bars and legends stack
FONT_SIZE = 12
TITLE_SIZE = 14
LINE_HEIGHT = 1.3  # of the font size, between wrapped lines
ASCENT, DESCENT = 1.0, 0.3  # of the font size, above and below the baseline (with diacritics)

INK = "#1f2328"  # text, history line, whiskers: 15.8:1 on white
MUTED = "#57606a"  # axis text, notes: 6.4:1
GRID = "#d0d7de"  # decorative grid lines
AXIS = "#57606a"
REFERENCE = "#8a5c00"  # reference line and its label: 5.6:1
FORECAST = "#0550ae"  # forecast line: 7.6:1, dashed
BAND80 = "#a5c8f3"  # the 80 % band is darker than the 95 % band, also in greyscale
BAND95 = "#d3e4fa"
BAR_POSITIVE = "#4a89dc"  # solid: 3.6:1 on white, whiskers 4.5:1 on it
BAR_NEGATIVE = "#f8d0c4"  # light, hatched with BAR_NEGATIVE_LINE, outlined
BAR_NEGATIVE_LINE = "#b3261e"  # 6.5:1
# Line series: hues apart, and relative luminance stepping by about 0.0375 from 0.018 to
# 0.281 (3.2:1 on white at the lightest), so that greyscale still orders them; the dash and
# the marker tell them apart for sure. A line chart draws at most MAX_LINES series.
LINE_COLOURS = (
    "#151f53", "#831818", "#6c2ccc", "#0a65be", "#1b8439", "#dc37a3", "#0c96a3", "#e86d0c",
)  # fmt: skip
LINE_LUMINANCE_STEP = 0.035
LINE_DASHES = ("", "9 3", "2 3", "9 3 2 3", "5 5", "14 3 3 3", "2 7", "9 3 2 3 2 3")
MARKERS = ("circle", "square", "triangle", "diamond", "down", "plus", "cross", "ring")
MAX_LINES = len(LINE_COLOURS)
_MARKER_PATHS = {
    "circle": "m-3.5 0a3.5 3.5 0 1 0 7 0 3.5 3.5 0 1 0-7 0",
    "square": "m-3.2-3.2h6.4v6.4h-6.4z",
    "triangle": "m0-4.4 4.2 7.4h-8.4z",
    "diamond": "m0-4.6 4.6 4.6-4.6 4.6-4.6-4.6z",
    "down": "m0 4.4 4.2-7.4h-8.4z",
    "plus": "m-4.5 0h9m-4.5-4.5v9",
    "cross": "m-3.5-3.5 7 7m0-7-7 7",
    "ring": "m-3.5 0a3.5 3.5 0 1 0 7 0 3.5 3.5 0 1 0-7 0",
}
_STROKED_MARKERS = {"plus", "cross", "ring"}

WORDS: dict[str, tuple[str, str]] = {
    "actual": ("thực tế", "actual"),
    "forecast": ("dự báo", "forecast"),
    "band80": ("khoảng 80 %", "80 % interval"),
    "band95": ("khoảng 95 %", "95 % interval"),
    "suppressed": ("ẩn (< 10 người)", "suppressed"),
    "gaps": ("chỗ đứt: số liệu ẩn (< 10 người)", "gaps: suppressed (< 10 people)"),
    "more_series": ("và {n} chuỗi khác không vẽ", "{n} more series not drawn"),
    "months": ("tháng {first} – {last}", "months {first} – {last}"),
    "series": ("{n} chuỗi", "{n} series"),
    "rows": ("{n} dòng", "{n} rows"),
    "highest": ("cao nhất", "highest"),
    "lowest": ("thấp nhất", "lowest"),
    "no_data": ("chưa có số liệu", "no data"),
}
LANGS = ("vi", "en", "both")


def word(key: str, lang: str = "both", **values: object) -> str:
    """Return one of the module's own words in `lang` ("both": "Vietnamese / English")."""
    vi, en = (text.format(**values) for text in WORDS[key])
    return {"vi": vi, "en": en}.get(lang, f"{vi} / {en}")


# ---------------------------------------------------------------- text measure and wrap

_NARROW_CHARS = set("ijlI.,:;!|'`ı")
_SEMI_CHARS = set('frtJ()[]{}/\\-·\u00a0 *"')
_WIDE_LOWER = {"m": 0.98, "w": 0.84}
_WIDE_UPPER = {"M": 0.9, "W": 1.02}
_SYMBOLS = {"%": 0.96, "–": 0.52, "—": 1.0, "…": 1.0, "₫": 0.66, "&": 0.8, "@": 1.0}


def _char_em(char: str) -> float:
    """Return how wide one character is drawn, in em, erring wide (DejaVu Sans is wide)."""
    if unicodedata.combining(char) or char in "\u200b\u200c\u200d":
        return 0.0
    if char == " ":
        return 0.33
    if char in _NARROW_CHARS:
        return 0.32
    if char in _SEMI_CHARS:
        return 0.44
    if char in _SYMBOLS:
        return _SYMBOLS[char]
    if char.isdigit():
        return 0.65
    if char in _WIDE_LOWER:
        return _WIDE_LOWER[char]
    if char in _WIDE_UPPER:
        return _WIDE_UPPER[char]
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 1.05
    if char.islower():
        return 0.64
    if char.isupper():
        return 0.8
    return 0.86  # × = < > + and anything unknown


def text_width(text: str, size: float = FONT_SIZE, bold: bool = False) -> float:
    """Estimate the drawn width of `text` in px at `size` (Vietnamese diacritics add none)."""
    em = sum(_char_em(c) for c in unicodedata.normalize("NFD", text))
    return em * size * (1.08 if bold else 1.0)


def _break_word(word_text: str, max_width: float, size: float, bold: bool) -> list[str]:
    """Split a word wider than the line after its hyphens or slashes, else between letters
    (never before a combining mark), into pieces that fit."""
    if text_width(word_text, size, bold) <= max_width:
        return [word_text]
    pieces, current = [], ""
    for part in re.findall(r"[^-–/]+[-–/]*|[-–/]+", unicodedata.normalize("NFC", word_text)):
        if current and text_width(current + part, size, bold) > max_width:
            pieces.append(current)
            current = ""
        if text_width(part, size, bold) <= max_width:
            current += part
            continue
        for char in part:
            if current and text_width(current + char, size, bold) > max_width:
                pieces.append(current)
                current = ""
            current += char
    return [*pieces, current] if current else pieces


def wrap(text: str, max_width: float, size: float = FONT_SIZE, bold: bool = False) -> list[str]:
    """Wrap `text` at spaces into lines no wider than `max_width` px; nothing is dropped."""
    lines: list[str] = []
    current = ""
    for piece in text.split():
        for part in _break_word(piece, max_width, size, bold):
            candidate = f"{current} {part}" if current else part
            if current and text_width(candidate, size, bold) > max_width:
                lines.append(current)
                current = part
            else:
                current = candidate
    return [*lines, current] if current else lines or [""]


def _line_step(size: float) -> float:
    return size * LINE_HEIGHT


def _text(
    x: float,
    y: float,
    lines: Sequence[str] | str,
    size: float = FONT_SIZE,
    anchor: str = "start",
    fill: str = INK,
    bold: bool = False,
) -> str:
    """Write a text element, a tspan per line (absolute x and y), `y` the first baseline."""
    lines = [lines] if isinstance(lines, str) else list(lines)
    attrs = f'x="{x:.1f}" y="{y:.1f}"'
    if size != FONT_SIZE:
        attrs += f' font-size="{size:g}"'
    if anchor != "start":
        attrs += f' text-anchor="{anchor}"'
    if fill != INK:
        attrs += f' fill="{fill}"'
    if bold:
        attrs += ' font-weight="bold"'
    if len(lines) == 1:
        return f"<text {attrs}>{escape(lines[0])}</text>"
    step = _line_step(size)
    spans = "".join(
        f'<tspan x="{x:.1f}" y="{y + step * k:.1f}">{escape(line)}</tspan>'
        for k, line in enumerate(lines)
    )
    return f"<text {attrs}>{spans}</text>"


def _block_height(n_lines: int, size: float = FONT_SIZE) -> float:
    """Return the height from the top of a wrapped block to below its last line."""
    return size * ASCENT + _line_step(size) * (n_lines - 1) + size * DESCENT


# ---------------------------------------------------------------- numbers


def _fmt(value: float, decimals: int = 2) -> str:
    """Write a number the Vietnamese way: 1.234, 12, 0,85 (trailing zeros dropped)."""
    if not math.isfinite(value):
        return ""
    if abs(value) >= 1000:
        return f"{value:,.0f}".replace(",", ".")
    if abs(value) >= 10 or float(value).is_integer():
        return f"{value:.0f}"
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text.replace(".", ",")


def _percent(value: float) -> str:
    return f"{value * 100:.0f} %"


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        high = low + 1
    raw = (high - low) / max(count, 1)
    step = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= step * factor:
            step *= factor
            break
    start = math.floor(low / step + 1e-9) * step
    ticks, value = [], start
    while value <= high + step * 0.01:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def _clean(values: Sequence[float | None]) -> list[float]:
    return [float("nan") if v is None else float(v) for v in values]


# ---------------------------------------------------------------- the frame


@dataclass(frozen=True)
class _Frame:
    """The width, the padding and the language of one rendering."""

    width: int
    lang: str

    @property
    def pad(self) -> int:
        return 10 if self.narrow else 16

    @property
    def narrow(self) -> bool:
        return self.width < NARROW

    @property
    def inner(self) -> float:
        return self.width - 2 * self.pad


def _frame(width: int, lang: str) -> _Frame:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, not {lang!r}")
    return _Frame(max(MIN_WIDTH, min(MAX_WIDTH, int(width))), lang)


def _title_block(frame: _Frame, title: str) -> tuple[list[str], float]:
    """Return the title drawn at the top and the y where the chart below it may start."""
    lines = wrap(title, frame.inner, TITLE_SIZE, bold=True)
    baseline = frame.pad + TITLE_SIZE * ASCENT
    body = [_text(frame.pad, baseline, lines, TITLE_SIZE, bold=True)]
    return body, frame.pad + _block_height(len(lines), TITLE_SIZE) + 10


def _paragraph(frame: _Frame, text: str, top: float, fill: str = INK) -> tuple[list[str], float]:
    """Return a wrapped paragraph across the width starting at `top`, and the y below it."""
    if not text:
        return [], top
    lines = wrap(text, frame.inner)
    body = [_text(frame.pad, top + FONT_SIZE * ASCENT, lines, fill=fill)]
    return body, top + _block_height(len(lines)) + 6


def _svg(frame: _Frame, height: float, body: list[str], title: str, desc: str = "") -> str:
    width, height = frame.width, math.ceil(height)
    quoted = escape(title, {'"': "&quot;"})
    lang = {"vi": "vi", "en": "en"}.get(frame.lang, "vi")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="{FONT_SIZE}" '
        f'fill="{INK}" role="img" aria-label="{quoted}" lang="{lang}">'
        f"<title>{escape(title)}</title>"
        + (f"<desc>{escape(desc)}</desc>" if desc else "")
        + f'<rect width="{width}" height="{height}" fill="#ffffff"/>'
        + "".join(body)
        + "</svg>"
    )


def _chart_id(*parts: object) -> str:
    """Return an id prefix unique to this chart and width (two renderings may share a page)."""
    return "c" + hashlib.sha1(repr(parts).encode()).hexdigest()[:8]


# ---------------------------------------------------------------- legends


@dataclass(frozen=True)
class _Key:
    """One legend entry: a swatch (SVG drawn in a 28 × 12 box at 0,0) and its words."""

    swatch: str
    label: str


SWATCH_W = 28
MONTH_GAP = 10  # from the x axis to the top of the month labels, below the 0 of the y axis


def _legend(frame: _Frame, keys: Sequence[_Key], top: float) -> tuple[list[str], float]:
    """Lay legend entries out in rows (one per row when narrow), wrapping long labels."""
    body: list[str] = []
    gap = 16
    x, y, row_height = float(frame.pad), top, 0.0
    for key in keys:
        indent = SWATCH_W + 6 if key.swatch else 0
        lines = wrap(key.label, frame.inner - indent)
        entry_w = indent + max(text_width(line) for line in lines)
        if x > frame.pad and (frame.narrow or x + entry_w > frame.width - frame.pad):
            x, y, row_height = float(frame.pad), y + row_height + 4, 0.0
        if key.swatch:
            body.append(f'<g transform="translate({x:.1f},{y + 1:.1f})">{key.swatch}</g>')
        body.append(_text(x + indent, y + FONT_SIZE * ASCENT, lines))
        row_height = max(row_height, _block_height(len(lines)))
        x += entry_w + gap
    return body, y + row_height + 6 if keys else top


def _line_swatch(colour: str, dash: str = "", marker: str = "", width: float = 2) -> str:
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    line = f'<path d="M0 6H{SWATCH_W}" stroke="{colour}" stroke-width="{width:g}"{dash_attr}/>'
    return line + (_markers(colour, marker, [(SWATCH_W / 2, 6.0)]) if marker else "")


def _band_swatch(fill: str) -> str:
    return f'<rect x="0" y="0" width="{SWATCH_W}" height="12" fill="{fill}"/>'


def _marker_style(colour: str, shape: str) -> str:
    if shape in _STROKED_MARKERS:
        fill = "#ffffff" if shape == "ring" else "none"
        return f'fill="{fill}" stroke="{colour}" stroke-width="1.8"'
    return f'fill="{colour}"'


def _markers(colour: str, shape: str, points: Sequence[tuple[float, float]]) -> str:
    """Draw one marker shape at each of a few points, all in one path."""
    if not points:
        return ""
    d = "".join(f"M{px:.1f} {py:.1f}{_MARKER_PATHS[shape]}" for px, py in points)
    return f'<path d="{d}" {_marker_style(colour, shape)}/>'


def _marker_run(
    marker_id: str, colour: str, shape: str, points: Sequence[tuple[float, float]]
) -> str:
    """Draw a marker at each of many points: an SVG marker on the vertices of an unstroked
    path, a few bytes a point."""
    if not points:
        return ""
    d = "M" + " ".join(f"{px:.0f} {py:.0f}" for px, py in points)
    return (
        f'<marker id="{marker_id}" viewBox="-6 -6 12 12" markerWidth="12" markerHeight="12" '
        f'markerUnits="userSpaceOnUse"><path d="M0 0{_MARKER_PATHS[shape]}" '
        f"{_marker_style(colour, shape)}/></marker>"
        f'<path d="{d}" fill="none" stroke="none" marker-start="url(#{marker_id})" '
        f'marker-mid="url(#{marker_id})" marker-end="url(#{marker_id})"/>'
    )


# ---------------------------------------------------------------- monthly axes


@dataclass(frozen=True)
class _MonthAxes:
    """A monthly x axis and a value y axis from 0 to the top tick, shared by the line charts."""

    n_months: int
    ticks: list[float]
    left: float
    right: float
    top: float
    bottom: float

    def x(self, i: int) -> float:
        return self.left + (self.right - self.left) * i / (max(self.n_months, 2) - 1)

    def y(self, v: float) -> float:
        return self.bottom - (self.bottom - self.top) * v / self.ticks[-1]

    def grid(self) -> list[str]:
        """Horizontal grid lines with their values on the left."""
        d = "".join(f"M{self.left:.1f} {self.y(t):.1f}H{self.right:.1f}" for t in self.ticks)
        body = [f'<path d="{d}" stroke="{GRID}" stroke-width="1"/>']
        body += [
            _text(self.left - 6, self.y(t) + FONT_SIZE * 0.35, _fmt(t), anchor="end", fill=MUTED)
            for t in self.ticks
        ]
        return body

    def month_labels(self, labels: Sequence[str]) -> list[str]:
        """Label as many months as fit without touching, every 1, 2, 3, 4, 6 or 12 months."""
        widest = max((text_width(label) for label in labels), default=0.0)
        spacing = (self.right - self.left) / max(self.n_months - 1, 1)
        step = next(
            (s for s in (1, 2, 3, 4, 6, 12, 24, 36) if s * spacing >= widest + 8),
            max(1, self.n_months),
        )
        y = self.bottom + MONTH_GAP + FONT_SIZE * ASCENT
        d = "".join(f"M{self.x(i):.1f} {self.bottom:.1f}v4" for i in range(0, len(labels), step))
        return [f'<path d="{d}" stroke="{AXIS}"/>'] + [
            _text(self.x(i), y, labels[i], anchor="middle", fill=MUTED)
            for i in range(0, len(labels), step)
        ]


def _month_axes(frame: _Frame, labels: Sequence[str], top_value: float, top: float) -> _MonthAxes:
    """Size a monthly plot for the frame: the left margin from the tick labels, the right
    from the last month label, the height from the width."""
    ticks = _nice_ticks(0.0, max(top_value, 1.0), 4 if frame.narrow else 5)
    tick_w = max(text_width(_fmt(t)) for t in ticks)
    first_half = text_width(labels[0]) / 2 if labels else 0.0
    last_half = text_width(labels[-1]) / 2 if labels else 0.0
    left = frame.pad + max(tick_w + 6, first_half)
    right = frame.width - frame.pad - last_half
    plot_height = max(170.0, min(280.0, frame.width * 0.4))
    return _MonthAxes(len(labels), ticks, left, right, top, top + plot_height)


def _segments(
    values: Sequence[float],
    x: Callable[[int], float],
    y: Callable[[float], float],
    start: int = 0,
) -> list[list[tuple[float, float]]]:
    """Split a series at missing values into runs of points."""
    runs: list[list[tuple[float, float]]] = [[]]
    for i, v in enumerate(values):
        if math.isfinite(v):
            runs[-1].append((x(start + i), y(v)))
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def _line_path(runs: Sequence[Sequence[tuple[float, float]]], style: str) -> str:
    """Draw runs of points as one path (a gap between runs); runs of one point draw nothing."""
    d = "".join(
        "M" + " ".join(f"{px:.0f} {py:.0f}" for px, py in run) for run in runs if len(run) > 1
    )
    return f'<path d="{d}" fill="none" {style}/>' if d else ""


# ---------------------------------------------------------------- the charts


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
    *,
    width: int = WIDTH,
    lang: str = "both",
) -> str:
    """Draw history as a solid line, the forecast as a dashed line in its 80 % and 95 % bands."""
    frame = _frame(width, lang)
    history_values, point_values = _clean(history), _clean(point)
    bands = [_clean(v) for v in (lo80, hi80, lo95, hi95)]
    labels = list(history_months) + list(months)
    everything = [v for v in history_values + point_values + bands[3] if math.isfinite(v)]
    body, top = _title_block(frame, title)
    axes = _month_axes(frame, labels, max(everything, default=1.0), top + 6)
    x, y = axes.x, axes.y
    body += axes.grid()
    offset = len(history_values)
    if months and history_values:
        boundary = (x(offset - 1) + x(offset)) / 2
        body.append(
            f'<path d="M{boundary:.1f} {axes.top:.1f}V{axes.bottom:.1f}" stroke="{MUTED}" '
            'stroke-dasharray="2 3"/>'
        )
    for low, high, fill in ((bands[2], bands[3], BAND95), (bands[0], bands[1], BAND80)):
        upper = [(x(offset + i), y(v)) for i, v in enumerate(high) if math.isfinite(v)]
        lower = [(x(offset + i), y(v)) for i, v in enumerate(low) if math.isfinite(v)][::-1]
        if len(upper) > 1 and len(lower) > 1:
            coords = " ".join(f"{px:.1f},{py:.1f}" for px, py in upper + lower)
            body.append(f'<polygon points="{coords}" fill="{fill}"/>')
    history_runs = _segments(history_values, x, y)
    forecast_runs = _segments(point_values, x, y, offset)
    history_style = f'stroke="{INK}" stroke-width="2"'
    forecast_style = f'stroke="{FORECAST}" stroke-width="2.5" stroke-dasharray="7 4"'
    for runs, style, colour in (
        (history_runs, history_style, INK),
        (forecast_runs, forecast_style, FORECAST),
    ):
        body.append(_line_path(runs, style))
        lonely = [run[0] for run in runs if len(run) == 1]
        body.append(_markers(colour, "circle", lonely))
    body += axes.month_labels(labels)
    keys = [
        _Key(_line_swatch(INK), word("actual", lang)),
        _Key(_line_swatch(FORECAST, "7 4", width=2.5), word("forecast", lang)),
        _Key(_band_swatch(BAND80), word("band80", lang)),
        _Key(_band_swatch(BAND95), word("band95", lang)),
    ]
    if any(not math.isfinite(v) for v in history_values):
        keys.append(_Key("", word("gaps", lang)))
    legend, below = _legend(frame, keys, axes.bottom + MONTH_GAP + _block_height(1) + 8)
    body += legend
    notes, below = _paragraph(frame, caption, below)
    body += notes
    desc = "; ".join(
        part
        for part in (
            history_months
            and f"{word('actual', lang)}: {history_months[0]} – {history_months[-1]}",
            months
            and point_values
            and f"{word('forecast', lang)}: {months[0]} – {months[-1]}, "
            f"{_fmt(point_values[0])} → {_fmt(point_values[-1])}",
        )
        if part
    )
    return _svg(frame, below + frame.pad - 6, body, title, desc)


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
    *,
    width: int = WIDTH,
    lang: str = "both",
) -> str:
    """Draw horizontal bars (negative values to the left of zero) with interval whiskers.

    Wide, the labels stand in a left column sized to them (up to 40 % of the width, wrapped);
    narrow, each label stands above its bar across the whole width. Value labels sit past the
    end of the bar or whisker, outside the bar, with room kept for them on both sides.
    """
    frame = _frame(width, lang)
    labels = [str(label) for label in labels]
    vals = _clean(values)
    lows = _clean(low) if low is not None else [float("nan")] * len(vals)
    highs = _clean(high) if high is not None else [float("nan")] * len(vals)
    finite = [v for v in vals + lows + highs if math.isfinite(v)]
    if reference is not None:
        finite.append(reference)
    ticks = _nice_ticks(min([0.0, *finite]), max([0.0, *finite, 1e-9]), 4 if frame.narrow else 5)
    lo_v, hi_v = ticks[0], ticks[-1]
    show = _percent if percent else _fmt
    suppressed = word("suppressed", lang)

    def reach(i: int) -> tuple[float, float]:
        """The lowest and highest value drawn on row i (bar and whisker)."""
        drawn = [v for v in (0.0, vals[i], lows[i], highs[i]) if math.isfinite(v)]
        return min(drawn), max(drawn)

    # Room for the value labels past the bar ends, and for the end tick labels.
    pos_room = max(
        (text_width(show(v)) + 5 for v in vals if math.isfinite(v) and v >= 0), default=0.0
    )
    neg_room = max(
        (text_width(show(v)) + 5 for v in vals if math.isfinite(v) and v < 0), default=0.0
    )
    body, top = _title_block(frame, title)
    bar_h = 14.0
    if frame.narrow:
        label_w = frame.inner
        plot_l0 = float(frame.pad)
    else:
        widest = max((text_width(label) for label in labels), default=0.0)
        label_w = min(widest, frame.inner * 0.4)
        plot_l0 = frame.pad + label_w + 10
    plot_r0 = frame.width - frame.pad
    left = plot_l0 + max(neg_room, text_width(show(lo_v)) / 2)
    right = plot_r0 - max(pos_room, text_width(show(hi_v)) / 2)
    if reference is not None:
        top += _block_height(1) + 4

    def x(v: float) -> float:
        return left + (right - left) * (v - lo_v) / (hi_v - lo_v)

    # Lay rows out: the label (wrapped), the bar and, for a suppressed row, the note.
    zero = x(0.0)
    note_room = max(plot_r0 - zero - 4, zero - 4 - plot_l0)
    rows = []
    y = top
    for i, label in enumerate(labels):
        label_lines = wrap(label, label_w)
        note_lines = wrap(suppressed, note_room) if not math.isfinite(vals[i]) else []
        label_h = _block_height(len(label_lines))
        if frame.narrow:
            bar_top = y + label_h + 2
            row_h = label_h + 2 + max(bar_h, _block_height(len(note_lines)) if note_lines else 0)
        else:
            content = max(bar_h, label_h, _block_height(len(note_lines)) if note_lines else 0)
            bar_top = y + (content - bar_h) / 2
            row_h = content
        rows.append((y, bar_top, label_lines, note_lines))
        y += row_h + (10 if frame.narrow else 8)
    bottom = y - 4
    bands = (
        [(bar_top - 3, bar_top + bar_h + 3) for _, bar_top, _, _ in rows]
        if frame.narrow
        else [(top - 4, bottom)]
    )

    def vertical(at: float) -> str:
        return "".join(f"M{at:.1f} {y0:.1f}V{y1:.1f}" for y0, y1 in bands)

    body.append(f'<path d="{"".join(vertical(x(t)) for t in ticks)}" stroke="{GRID}"/>')
    if lo_v < 0 < hi_v:
        body.append(f'<path d="{vertical(zero)}" stroke="{AXIS}"/>')
    tick_y = bottom + 4 + FONT_SIZE * ASCENT
    shown_ticks = ticks
    widest_tick = max(text_width(show(t)) for t in ticks)
    if len(ticks) > 1 and x(ticks[1]) - x(ticks[0]) < widest_tick + 8:
        shown_ticks = ticks[::2]
    body += [_text(x(t), tick_y, show(t), anchor="middle", fill=MUTED) for t in shown_ticks]
    hatch = _chart_id(frame.width, title, labels, vals) + "n"
    if any(math.isfinite(v) and v < 0 for v in vals):
        body.append(
            f'<defs><pattern id="{hatch}" width="7" height="7" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)"><rect width="7" height="7" fill="{BAR_NEGATIVE}"/>'
            f'<path d="M0 0V7" stroke="{BAR_NEGATIVE_LINE}" stroke-width="2"/></pattern></defs>'
        )
    for i, (row_y, bar_top, label_lines, note_lines) in enumerate(rows):
        if frame.narrow:
            body.append(_text(frame.pad, row_y + FONT_SIZE * ASCENT, label_lines))
        else:
            label_top = bar_top + bar_h / 2 - _block_height(len(label_lines)) / 2
            body.append(
                _text(plot_l0 - 10, label_top + FONT_SIZE * ASCENT, label_lines, anchor="end")
            )
        v = vals[i]
        mid = bar_top + bar_h / 2
        if not math.isfinite(v):
            note_top = mid - _block_height(len(note_lines)) / 2 + FONT_SIZE * ASCENT
            if plot_r0 - zero - 4 >= zero - 4 - plot_l0:
                body.append(_text(zero + 4, note_top, note_lines, fill=MUTED))
            else:
                body.append(_text(zero - 4, note_top, note_lines, anchor="end", fill=MUTED))
            continue
        x0, x1 = sorted((zero, x(v)))
        if v < 0:
            style = f'fill="url(#{hatch})" stroke="{BAR_NEGATIVE_LINE}"'
        else:
            style = f'fill="{BAR_POSITIVE}"'
        body.append(
            f'<rect x="{x0:.1f}" y="{bar_top:.1f}" width="{max(x1 - x0, 1):.1f}" '
            f'height="{bar_h:g}" {style}/>'
        )
        if math.isfinite(lows[i]) and math.isfinite(highs[i]):
            a, b = x(lows[i]), x(highs[i])
            body.append(
                f'<path d="M{a:.1f} {mid:.1f}H{b:.1f}M{a:.1f} {mid - 4:.1f}v8M{b:.1f} '
                f'{mid - 4:.1f}v8" stroke="{INK}" stroke-width="1.5" fill="none"/>'
            )
        low_end, high_end = reach(i)
        value_y = mid + FONT_SIZE * 0.35
        if v >= 0:
            body.append(_text(x(high_end) + 5, value_y, show(v)))
        else:
            body.append(_text(x(low_end) - 5, value_y, show(v), anchor="end"))
    if reference is not None:
        at = x(reference)
        body.append(
            f'<path d="M{at:.1f} {top - 4:.1f}V{top:.1f}{vertical(at)}" stroke="{REFERENCE}" '
            'stroke-width="2" stroke-dasharray="4 3"/>'
        )
        ref_y = top - 8 - FONT_SIZE * DESCENT
        if at + 4 + text_width(reference_label) <= frame.width - frame.pad:
            body.append(_text(at + 4, ref_y, reference_label, fill=REFERENCE))
        else:
            body.append(_text(at - 4, ref_y, reference_label, anchor="end", fill=REFERENCE))
    notes, below = _paragraph(frame, caption, tick_y + FONT_SIZE * DESCENT + 8)
    body += notes
    return _svg(frame, below + frame.pad - 6, body, title, _bar_desc(labels, vals, show, lang))


def _bar_desc(labels: Sequence[str], vals: Sequence[float], show, lang: str) -> str:
    shown = [(v, label) for label, v in zip(labels, vals, strict=True) if math.isfinite(v)]
    parts = [word("rows", lang, n=len(labels))]
    if shown:
        best, worst = max(shown), min(shown)
        parts.append(f"{word('highest', lang)}: {best[1]} {show(best[0])}")
        parts.append(f"{word('lowest', lang)}: {worst[1]} {show(worst[0])}")
    return "; ".join(parts)


def line_chart(
    title: str,
    months: Sequence[str],
    lines: Sequence[tuple[str, Sequence[float | None]]],
    *,
    width: int = WIDTH,
    lang: str = "both",
) -> str:
    """Draw up to MAX_LINES monthly series, each with its colour, dash and marker, and a legend
    (gaps where a value is suppressed; series past MAX_LINES are counted, not drawn)."""
    frame = _frame(width, lang)
    drawn = [(label, _clean(values)) for label, values in list(lines)[:MAX_LINES]]
    left_out = max(0, len(lines) - MAX_LINES)
    finite = [v for _, values in drawn for v in values if math.isfinite(v)]
    body, top = _title_block(frame, title)
    axes = _month_axes(frame, months, max([1.0, *finite]), top + 6)
    x, y = axes.x, axes.y
    body += axes.grid()
    spacing = (axes.right - axes.left) / max(len(months) - 1, 1)
    chart_id = _chart_id(frame.width, title, months, drawn)
    every = max(1, math.ceil(40 / spacing))  # markers about 40 px apart on each line
    keys = []
    for k, (label, values) in enumerate(drawn):
        colour, dash, marker = LINE_COLOURS[k], LINE_DASHES[k], MARKERS[k]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        runs = _segments(values, x, y)
        style = f'stroke="{colour}" stroke-width="2"{dash_attr}'
        body.append(_line_path(runs, style))
        marked = [
            (x(i), y(v))
            for i, v in enumerate(values)
            if math.isfinite(v) and (i % every == k % every)
        ]
        marked += [run[0] for run in runs if len(run) == 1 and run[0] not in marked]
        body.append(_marker_run(f"{chart_id}m{k}", colour, marker, marked))
        keys.append(_Key(_line_swatch(colour, dash, marker), label))
    body += axes.month_labels(months)
    if any(not math.isfinite(v) for _, values in drawn for v in values):
        keys.append(_Key("", word("gaps", lang)))
    if left_out:
        keys.append(_Key("", word("more_series", lang, n=left_out)))
    legend, below = _legend(frame, keys, axes.bottom + MONTH_GAP + _block_height(1) + 8)
    body += legend
    desc = word("series", lang, n=len(lines))
    if months:
        desc += ", " + word("months", lang, first=months[0], last=months[-1])
    return _svg(frame, below + frame.pad - 6, body, title, desc)
