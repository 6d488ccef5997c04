"""SVG charts: nothing cut or clipped at 320 to 960 px, series apart in greyscale, WCAG
contrast, the module's own words in Vietnamese and English, escaping."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET

import pytest

from api import charts

NS = "{http://www.w3.org/2000/svg}"
WIDTHS = [320, 340, 760, 960]
# Series colours must differ by this much in relative luminance (WCAG), pairwise, so a
# greyscale print still orders them; their dash and marker tell them apart for sure.
LINE_LUMINANCE_MARGIN = 0.035
TEXT_CONTRAST, GRAPHIC_CONTRAST = 4.5, 3.0

LONG_PROVIDER = "Trung tâm Giáo dục nghề nghiệp – Giáo dục thường xuyên huyện Văn Giang"
LONG_GROUP = "Dân tộc thiểu số × Tuổi 15–24"
VERY_LONG = (
    "Khu công nghiệp Phố Nối A – Công ty TNHH May mặc Xuất khẩu Hưng Yên, phân xưởng số 2 "
    "(ca đêm), đường dẫn KCN-Phố-Nối-A-Yên-Mỹ-Văn-Lâm-Mỹ-Hào-liên-xã"
)
ESCAPED = 'Nhóm <b> & "A"'
BAR_LABELS = [LONG_PROVIDER, LONG_GROUP, "Huyện Yên Mỹ", ESCAPED, VERY_LONG, "Mỹ Hào"]
BAR_VALUES = [1234.0, -87.0, None, 45.0, 2.5, -23456.0]
BAR_LOW = [1000.0, -150.0, None, 20.0, 0.5, -28000.0]
BAR_HIGH = [1500.0, -20.0, None, 70.0, 30.0, -19000.0]
HISTORY_MONTHS = [f"{2023 + i // 12}-{i % 12 + 1:02d}" for i in range(36)]
FORECAST_MONTHS = [f"{2026 + i // 12}-{i % 12 + 1:02d}" for i in range(12)]
AREAS = ["Văn Giang", "Yên Mỹ", "Mỹ Hào", LONG_PROVIDER, "Khoái Châu", "Ân Thi", "Kim Động"]
SERIES = [
    (
        f"demand · garment · {area}",
        [
            None if (i + k) % 11 == 0 else 20.0 * (k + 1) + 15 * math.sin(i / 3 + k)
            for i in range(36)
        ],
    )
    for k, area in enumerate([*AREAS, ESCAPED])
]  # 8 series, with suppressed months


def _kwargs(width: int, **more) -> dict:
    """The default width is left out, so the callers' form (no width) is tested too."""
    return ({} if width == 760 else {"width": width}) | more


def _forecast(width: int, **more) -> str:
    history = [100 + 30 * math.sin(i / 2) + 2 * i for i in range(36)]
    history[5] = history[7] = None  # suppressed
    point = [190.0 + 3 * i for i in range(12)]
    spread80 = [10.0 + 2 * i for i in range(12)]
    spread95 = [18.0 + 3 * i for i in range(12)]
    return charts.forecast_chart(
        f"Dự báo / forecast: demand · garment · {LONG_PROVIDER}",
        HISTORY_MONTHS,
        history,
        FORECAST_MONTHS,
        point,
        [p - s for p, s in zip(point, spread80, strict=True)],
        [p + s for p, s in zip(point, spread80, strict=True)],
        [p - s for p, s in zip(point, spread95, strict=True)],
        [p + s for p, s in zip(point, spread95, strict=True)],
        caption="Phương pháp / method: Holt-Winters, chọn theo kiểm định lùi / chosen by backtest",
        **_kwargs(width, **more),
    )


def _gaps(width: int, **more) -> str:
    return charts.bar_chart(
        "Thiếu hụt 12 tháng tới theo khu vực / 12-month gap by area · garment",
        BAR_LABELS,
        BAR_VALUES,
        BAR_LOW,
        BAR_HIGH,
        caption="Dương = thiếu người, âm = thừa; vạch = khoảng 80 % / positive = shortfall, "
        "negative = surplus; whiskers = 80 % interval",
        **_kwargs(width, **more),
    )


def _rates(width: int, **more) -> str:
    return charts.bar_chart(
        "Tỷ lệ tác động (điểm) theo nhóm / scoring impact ratio by group",
        [LONG_GROUP, LONG_PROVIDER, "Nữ", "Khuyết tật"],
        [0.97, 0.41, None, 1.0],
        [0.9, 0.3, None, 0.95],
        [1.0, 0.55, None, 1.0],
        reference=0.8,
        reference_label="ngưỡng 0,8 / threshold 0.8",
        percent=True,
        **_kwargs(width, **more),
    )


def _lines(width: int, **more) -> str:
    return charts.line_chart(
        "Chuỗi theo tháng / monthly series", HISTORY_MONTHS, SERIES, **_kwargs(width, **more)
    )


CHARTS = {"forecast": _forecast, "gaps": _gaps, "rates": _rates, "lines": _lines}
LABELS = {
    "forecast": [f"Dự báo / forecast: demand · garment · {LONG_PROVIDER}"],
    "gaps": BAR_LABELS,
    "rates": [LONG_GROUP, LONG_PROVIDER, "Nữ", "Khuyết tật", "ngưỡng 0,8 / threshold 0.8"],
    "lines": [label for label, _ in SERIES],
}
CASES = [pytest.param(kind, width, id=f"{kind}-{width}") for kind in CHARTS for width in WIDTHS]


# ---------------------------------------------------------------- reading the SVG


def _luminance(colour: str) -> float:
    """WCAG relative luminance of #rrggbb."""

    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(colour: str, background: str = "#ffffff") -> float:
    a, b = sorted((_luminance(colour), _luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def _lines_of(text: ET.Element) -> list[tuple[float, float, str]]:
    """The drawn lines of a text element: (x, baseline y, string)."""
    spans = text.findall(f"{NS}tspan")
    if not spans:
        return [(float(text.get("x")), float(text.get("y")), text.text or "")]
    assert not (text.text or "").strip()
    return [(float(s.get("x")), float(s.get("y")), s.text or "") for s in spans]


def _texts(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{NS}text"))


def _boxes(root: ET.Element) -> list[tuple[float, float, float, float, str]]:
    """Every drawn line's estimated box (left, top, right, bottom, string)."""
    base = float(root.get("font-size"))
    boxes = []
    for text in _texts(root):
        size = float(text.get("font-size", base))
        bold = text.get("font-weight") == "bold"
        anchor = text.get("text-anchor", "start")
        for x, y, string in _lines_of(text):
            w = charts.text_width(string, size, bold)
            left = {"start": x, "middle": x - w / 2, "end": x - w}[anchor]
            boxes.append(
                (left, y - charts.ASCENT * size, left + w, y + charts.DESCENT * size, string)
            )
    return boxes


def _joined(text: ET.Element) -> str:
    return " ".join(string for _, _, string in _lines_of(text))


def _squeezed(string: str) -> str:
    return re.sub(r"\s+", "", string)


def _series_strokes(root: ET.Element) -> list[tuple[str, str]]:
    """(colour, dash) of the lines drawn in the plot (legend swatches stand in <g>)."""
    return [
        (el.get("stroke"), el.get("stroke-dasharray", ""))
        for el in root
        if el.tag in (f"{NS}path", f"{NS}polyline")
        and el.get("fill") == "none"
        and el.get("stroke") not in (None, "none", charts.GRID, charts.AXIS, charts.MUTED)
        and not el.get("d", "M").startswith(("M0 6", "M0 0"))
        and "H" not in el.get("d", "")  # whiskers
    ]


# ---------------------------------------------------------------- the tests


@pytest.mark.parametrize(("kind", "width"), CASES)
def test_chart_is_well_formed_accessible_svg(kind, width):
    svg = CHARTS[kind](width)
    assert svg.startswith("<svg")
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    assert int(root.get("width")) == width
    assert root.get("viewBox") == f"0 0 {width} {root.get('height')}"
    assert root.get("role") == "img" and root.get("aria-label")
    assert root.find(f"{NS}title").text == root.get("aria-label")
    assert (root.find(f"{NS}desc").text or "").strip()
    assert "<script" not in svg and "@font-face" not in svg
    assert svg == CHARTS[kind](width)  # deterministic


@pytest.mark.parametrize(("kind", "width"), CASES)
def test_every_label_is_shown_whole(kind, width):
    root = ET.fromstring(CHARTS[kind](width))
    shown = {_squeezed(_joined(text)) for text in _texts(root)}
    for label in LABELS[kind]:
        assert _squeezed(label) in shown, label
    # Wrapped at spaces, a label reads back as given.
    spaced = {_joined(text) for text in _texts(root)}
    for label in LABELS[kind]:
        if all(charts.text_width(w) < 200 for w in label.split()):
            assert label in spaced, label


@pytest.mark.parametrize(("kind", "width"), CASES)
def test_every_text_lies_inside_the_chart_and_none_overlap(kind, width):
    root = ET.fromstring(CHARTS[kind](width))
    height = float(root.get("height"))
    boxes = _boxes(root)
    for left, top, right, bottom, string in boxes:
        assert left >= 0 and right <= width, (string, left, right, width)
        assert top >= 0 and bottom <= height, (string, top, bottom, height)
    for a, b in itertools.combinations(boxes, 2):
        # Wrapped lines touch (ascent + descent = the line step); 0.5 px of rounding allowed.
        tol = 0.5
        apart = a[2] <= b[0] + tol or b[2] <= a[0] + tol or a[3] <= b[1] + tol or b[3] <= a[1] + tol
        assert apart, (a, b)


@pytest.mark.parametrize(("kind", "width"), CASES)
def test_fonts_are_readable_at_one_to_one(kind, width):
    root = ET.fromstring(CHARTS[kind](width))
    sizes = [float(t.get("font-size", root.get("font-size"))) for t in _texts(root)]
    assert min(sizes) >= 12


@pytest.mark.parametrize(("kind", "width"), CASES)
def test_text_contrast_is_at_least_4_5_on_white(kind, width):
    root = ET.fromstring(CHARTS[kind](width))
    for text in _texts(root):
        colour = text.get("fill", root.get("fill", "#000000"))
        assert _contrast(colour) >= TEXT_CONTRAST, (_joined(text), colour)


@pytest.mark.parametrize("width", WIDTHS)
def test_line_series_differ_in_colour_dash_and_greyscale(width):
    root = ET.fromstring(_lines(width))
    strokes = _series_strokes(root)
    assert len(set(strokes)) == len(strokes) == len(SERIES) == 8
    assert len({dash for _, dash in strokes}) == len(strokes)  # apart without colour too
    colours = [colour for colour, _ in strokes]
    for a, b in itertools.combinations(colours, 2):
        assert abs(_luminance(a) - _luminance(b)) >= LINE_LUMINANCE_MARGIN, (a, b)
    for colour in colours:
        assert _contrast(colour) >= GRAPHIC_CONTRAST, colour
    # Each series has its own marker shape too, drawn in the plot and in its legend key.
    marker_shapes = [
        (m.find(f"{NS}path").get("d"), m.find(f"{NS}path").get("fill"))
        for m in root.iter(f"{NS}marker")
    ]
    assert len(set(marker_shapes)) == len(SERIES)


def test_line_chart_draws_at_most_max_lines_and_says_how_many_more():
    many = SERIES + [(f"series {k}", [float(k)] * 36) for k in range(3)]
    root = ET.fromstring(charts.line_chart("Chuỗi", HISTORY_MONTHS, many, lang="en"))
    assert len(_series_strokes(root)) == charts.MAX_LINES == 8
    assert any("3 more series not drawn" in _joined(t) for t in _texts(root))


@pytest.mark.parametrize("width", WIDTHS)
def test_forecast_history_bands_and_forecast_stay_apart_in_greyscale(width):
    root = ET.fromstring(_forecast(width))
    strokes = _series_strokes(root)
    (history, history_dash), (forecast, forecast_dash) = strokes
    assert history_dash == "" and forecast_dash  # solid actuals, dashed forecast
    assert abs(_luminance(history) - _luminance(forecast)) >= 0.05
    assert min(_contrast(history), _contrast(forecast)) >= GRAPHIC_CONTRAST
    band95, band80 = [p.get("fill") for p in root.iter(f"{NS}polygon")]
    assert _luminance(band95) - _luminance(band80) >= 0.15  # 80 % darker than 95 %
    # The forecast line reads on the darker band.
    assert _contrast(forecast, band80) >= GRAPHIC_CONTRAST


@pytest.mark.parametrize("width", WIDTHS)
def test_negative_bars_are_hatched_and_lighter_positive_bars_solid(width):
    root = ET.fromstring(_gaps(width))
    bars = [r for r in root if r.tag == f"{NS}rect" and r.get("height") == "14"]
    fills = [bar.get("fill") for bar in bars]
    assert len(bars) == 5  # one row suppressed
    negative = [f for f in fills if f.startswith("url(#")]
    positive = [f for f in fills if not f.startswith("url(#")]
    assert len(negative) == 2 and len(positive) == 3
    pattern = root.find(f".//{NS}pattern")
    assert negative[0] == f"url(#{pattern.get('id')})"
    base = pattern.find(f"{NS}rect").get("fill")
    hatch = pattern.find(f"{NS}path").get("stroke")
    assert _luminance(base) - _luminance(positive[0]) >= 0.3
    assert _contrast(positive[0]) >= GRAPHIC_CONTRAST and _contrast(hatch) >= GRAPHIC_CONTRAST
    # Both renderings of one chart may share a page: their pattern ids differ.
    other = ET.fromstring(_gaps(340 if width == 760 else 760)).find(f".//{NS}pattern")
    assert other.get("id") != pattern.get("id")


@pytest.mark.parametrize("width", WIDTHS)
def test_value_labels_sit_past_the_bar_ends_inside_the_chart(width):
    root = ET.fromstring(_gaps(width))
    shown = {_joined(t) for t in _texts(root)}
    assert {"1.234", "-87", "45", "2,5", "-23.456"} <= shown
    for left, _, right, _, string in _boxes(root):
        if string in ("1.234", "-23.456"):
            assert left >= 0 and right <= width


@pytest.mark.parametrize("width", [340, 760])
def test_narrow_bar_charts_put_labels_above_their_bars(width):
    root = ET.fromstring(_gaps(width))
    label = next(t for t in _texts(root) if _joined(t) == "Huyện Yên Mỹ")
    x = float(label.get("x"))
    if width < charts.NARROW:
        assert label.get("text-anchor", "start") == "start" and x < 20
    else:
        assert label.get("text-anchor") == "end"


@pytest.mark.parametrize(("kind", "width"), CASES)
def test_suppressed_values_are_said_in_words(kind, width):
    root = ET.fromstring(CHARTS[kind](width))
    shown = " ".join(_joined(t) for t in _texts(root))
    assert "(< 10 người)" in shown


@pytest.mark.parametrize(
    ("lang", "present", "absent"),
    [
        ("vi", ["thực tế", "dự báo", "khoảng 80 %", "khoảng 95 %"], ["actual", "forecast"]),
        ("en", ["actual", "forecast", "80 % interval", "95 % interval"], ["thực tế", "dự báo"]),
        ("both", ["thực tế / actual", "dự báo / forecast", "khoảng 80 % / 80 % interval"], []),
    ],
)
def test_the_charts_own_words_follow_lang(lang, present, absent):
    root = ET.fromstring(_forecast(760, lang=lang))
    legend = [_joined(t) for t in _texts(root) if "Dự báo / forecast:" not in _joined(t)]
    legend = [t for t in legend if "Phương pháp" not in t]
    words = " | ".join(legend)
    for text in present:
        assert text in words
    for text in absent:
        assert text not in words
    bars = " ".join(_joined(t) for t in _texts(ET.fromstring(_gaps(340, lang=lang))))
    assert {"vi": "ẩn (< 10 người)", "en": "suppressed", "both": "ẩn (< 10 người) / suppressed"}[
        lang
    ] in bars
    if lang == "en":
        assert "người" not in bars.replace("thiếu người", "")


def test_unknown_lang_is_refused():
    with pytest.raises(ValueError, match="lang"):
        _lines(760, lang="fr")


def test_labels_are_escaped():
    svg = _gaps(760)
    assert "<b>" not in svg and '>Nhóm &lt;b&gt; &amp; "A"<' in svg
    root = ET.fromstring(svg)
    assert ESCAPED in {_joined(t) for t in _texts(root)}
    title = 'Tiêu đề <x> & "y"'
    svg = charts.bar_chart(title, ["a"], [1.0])
    root = ET.fromstring(svg)
    assert root.get("aria-label") == title and root.find(f"{NS}title").text == title
    assert 'aria-label="Tiêu đề &lt;x&gt; &amp; &quot;y&quot;"' in svg


@pytest.mark.parametrize(
    ("value", "text"),
    [(1234, "1.234"), (-23456, "-23.456"), (0.8, "0,8"), (0.85, "0,85"), (45, "45")],
)
def test_numbers_are_written_the_vietnamese_way(value, text):
    assert charts._fmt(value) == text
    assert charts._percent(0.45) == "45 %"


def test_width_estimate_ignores_diacritics_and_errs_wide():
    assert charts.text_width("Việt Nam") == charts.text_width("Viet Nam")
    assert charts.text_width("Mỹ Hào") == pytest.approx(charts.text_width("My Hao"))
    # DejaVu Sans, the widest common sans-serif, draws 12 px "Giáo dục nghề nghiệp" in ~126 px.
    assert charts.text_width("Giáo dục nghề nghiệp", 12) >= 126
    assert charts.text_width("2025-07", 12) >= 48


@pytest.mark.parametrize("kind", CHARTS)
def test_charts_stay_small(kind):
    for width in (340, 760):
        assert len(CHARTS[kind](width).encode()) < 12_000


def test_empty_charts_still_draw():
    for svg in (
        charts.bar_chart("Trống", [], []),
        charts.line_chart("Trống", [], []),
        charts.line_chart("Trống", ["2025-01"], [("a", [None])]),
        charts.forecast_chart("Trống", [], [], ["2025-01"], [1.0], [0.5], [1.5], [0.2], [2.0]),
    ):
        assert ET.fromstring(svg).get("role") == "img"
