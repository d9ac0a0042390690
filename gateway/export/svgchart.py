"""Bar charts as inline SVG, drawn on the server (no script, no external assets)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

__all__ = ["PALETTE", "bar_chart", "stacked_bar_chart"]

PALETTE = ("#3b7dd8", "#8c9db5", "#d9534f", "#f0ad4e", "#5cb85c", "#9b59b6")
LABEL_W, VALUE_W, BAR_H, GAP, TOP = 190, 70, 18, 6, 28


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


Number = Callable[[float], str]


def _number(v: float, unit: str, number: Number | None = None) -> str:
    """The value as the reader writes numbers (`number`, e.g. Babel's), else with a thin-space grouping."""
    if number is not None:
        return f"{number(v)}{unit}"
    text = f"{v:,.0f}".replace(",", " ") if float(v).is_integer() or abs(v) >= 100 else f"{v:.2f}"
    return f"{text}{unit}"


def _frame(width: int, height: int, title: str, body: list[str]) -> str:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" font-family="sans-serif" '
            f'font-size="12">')
    caption = (f'<title>{escape(title)}</title>'
               f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>')
    return head + caption + "".join(body) + "</svg>"


def bar_chart(data: Sequence[tuple[str, float]], *, title: str = "", width: int = 640, unit: str = "",
              color: str = PALETTE[0], number: Number | None = None) -> str:
    """Horizontal bars, one per (label, value), longest bar = the largest value."""
    top = max((v for _, v in data), default=0) or 1
    span = width - LABEL_W - VALUE_W
    body = []
    for i, (label, value) in enumerate(data):
        y = TOP + i * (BAR_H + GAP)
        w = max(0.0, value) / top * span
        body.append(
            f'<text x="{LABEL_W - 6}" y="{y + BAR_H - 5}" text-anchor="end">{escape(_short(str(label)))}</text>'
            f'<rect x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H}" fill="{color}">'
            f'<title>{escape(str(label))}: {escape(_number(value, unit, number))}</title></rect>'
            f'<text x="{LABEL_W + w + 4:.1f}" y="{y + BAR_H - 5}">{escape(_number(value, unit, number))}</text>')
    return _frame(width, TOP + len(data) * (BAR_H + GAP) + 4, title, body)


def stacked_bar_chart(rows: Sequence[tuple[str, Sequence[float]]], series: Sequence[str], *, title: str = "",
                      width: int = 640, colors: Sequence[str] = PALETTE, number: Number | None = None) -> str:
    """Horizontal stacked bars (one segment per series) with a legend under the title."""
    top = max((sum(v) for _, v in rows), default=0) or 1
    span = width - LABEL_W - VALUE_W
    body = [f'<rect x="{LABEL_W + i * 120}" y="{TOP - 4}" width="10" height="10" fill="{colors[i % len(colors)]}"/>'
            f'<text x="{LABEL_W + i * 120 + 14}" y="{TOP + 5}">{escape(name)}</text>' for i, name in enumerate(series)]
    for r, (label, values) in enumerate(rows):
        y = TOP + 14 + r * (BAR_H + GAP)
        x = float(LABEL_W)
        body.append(f'<text x="{LABEL_W - 6}" y="{y + BAR_H - 5}" text-anchor="end">'
                    f'{escape(_short(str(label)))}</text>')
        for s, value in enumerate(values):
            w = max(0.0, value) / top * span
            if w > 0:
                body.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR_H}" '
                            f'fill="{colors[s % len(colors)]}"><title>{escape(str(label))}, {escape(series[s])}: '
                            f'{escape(_number(value, "", number))}</title></rect>')
            x += w
        body.append(f'<text x="{x + 4:.1f}" y="{y + BAR_H - 5}">{escape(_number(sum(values), "", number))}</text>')
    return _frame(width, TOP + 14 + len(rows) * (BAR_H + GAP) + 4, title, body)
