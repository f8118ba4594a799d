"""Geometry of the build-time SVG figures: the taxonomy tree and accuracy against trainable parameters.

This module only computes positions and labels; `templates/*.svg.j2` draw them (escaping every label).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .views import TreeNode

# ---------------------------------------------------------------- taxonomy tree


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float
    name: str
    count: int
    href: str
    level: int


@dataclass(frozen=True)
class Edge:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class TreeFigure:
    width: int
    height: int
    boxes: list[Box]
    edges: list[Edge]


ROW = 46
BOX_H = 34
COLUMNS = ((8, 150), (196, 210), (446, 226))  # (x, width) of the root, the categories and the sub-categories


def tree_figure(root_name: str, root_count: int, root_href: str, nodes: list[TreeNode]) -> TreeFigure:
    """A left-to-right tree: every node a box with its method count; leaves one per row."""
    boxes: list[Box] = []
    edges: list[Edge] = []
    row = 0

    def place(node: TreeNode, level: int) -> float:
        nonlocal row
        if node.children:
            centres = [place(c, level + 1) for c in node.children]
            cy = (centres[0] + centres[-1]) / 2
        else:
            cy = row * ROW + ROW / 2
            row += 1
        x, w = COLUMNS[min(level, len(COLUMNS) - 1)]
        boxes.append(Box(x, cy - BOX_H / 2, w, BOX_H, node.name, node.count, node.href, level))
        for child in node.children:
            child_box = next(b for b in boxes if b.href == child.href)
            edges.append(Edge(x + w, cy, child_box.x, child_box.y + BOX_H / 2))
        return cy

    centres = [place(n, 1) for n in nodes]
    height = max(row, 1) * ROW
    cy = height / 2
    x, w = COLUMNS[0]
    boxes.append(Box(x, cy - BOX_H / 2, w, BOX_H, root_name, root_count, root_href, 0))
    edges += [Edge(x + w, cy, COLUMNS[1][0], c) for c in centres]
    width = COLUMNS[-1][0] + COLUMNS[-1][1] + 8
    return TreeFigure(width=width, height=int(height), boxes=boxes, edges=edges)


# ---------------------------------------------------------------- accuracy vs parameters


@dataclass(frozen=True)
class PlotInput:
    label: str
    params_m: float
    score: float
    href: str | None


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    label_x: float
    label_y: float
    anchor: str
    leader: bool  # the label was moved away from its point: draw a line to it
    on_front: bool
    href: str | None
    tooltip: str


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True)
class Plot:
    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    points: list[Point]
    front: str  # SVG polyline points of the Pareto front, as a staircase
    x_title: str
    y_title: str
    zero_params: list[str]  # labels drawn in the "0" column left of the log axis
    axis_break: float | None  # x of the mark between the "0" column and the log axis


def pareto_front(items: list[PlotInput]) -> set[int]:
    """Indices of the points no other point beats: none with at most as many parameters and a higher score, or
    fewer parameters and the same score. Every point counts, baselines and zero-parameter points included."""
    front: set[int] = set()
    best = -math.inf
    for i in sorted(range(len(items)), key=lambda i: (items[i].params_m, -items[i].score)):
        if items[i].score > best:
            front.add(i)
            best = items[i].score
    return front


def _params_label(value: float) -> str:
    return f"{value:g}M"


Placed = tuple[float, float, str, bool]


Rect = tuple[float, float, float, float]


def _place_labels(xs: list[float], ys: list[float], labels: list[str], edges: tuple[float, float],
                  obstacles: list[Rect]) -> list[Placed]:
    """Label positions that overlap no other label, point or obstacle: beside the point, else stepped up or down."""
    placed: list[Rect] = [(x - 4, y - 4, x + 4, y + 4) for x, y in zip(xs, ys, strict=True)] + obstacles
    out: list[Placed] = [(0.0, 0.0, "start", False)] * len(xs)
    for i in sorted(range(len(xs)), key=lambda i: ys[i]):
        width = 6.2 * len(labels[i]) + 2
        side_right = xs[i] + 6 + width < edges[1]
        fits_left = xs[i] - 7 - width >= edges[0]  # a label left of a point near the axis would leave the plot
        for dy in (0, -12, 12, -24, 24, -36, 36, -48, 48, -60, 60):
            for right in (side_right, not side_right) if fits_left else (True,):
                x0 = xs[i] + 7 if right else xs[i] - 7 - width
                y0 = ys[i] + 4 + dy
                box = (x0, y0 - 10, x0 + width, y0 + 2)
                if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                    break
            else:
                continue
            break
        placed.append(box)
        out[i] = (xs[i] + 7 if right else xs[i] - 7, y0, "start" if right else "end", dy != 0)
    return out


ZERO_GAP = 40  # room left of the log axis for the points with zero trainable parameters


@dataclass(frozen=True)
class XAxis:
    """A linear horizontal axis for a score plot (the default axis is trainable parameters on a log scale)."""

    title: str
    what: str  # the tooltip's words after the value
    unit: str  # printed after each value
    step: float = 0.1  # tick spacing


@dataclass(frozen=True)
class _Axis:
    px: Callable[[float], float]
    ticks: list[Tick]
    title: str
    zeros: list[str]
    axis_break: float | None
    text: Callable[[float], str]  # the tooltip's value and words


def _log_axis(items: list[PlotInput], left: int, right: int) -> _Axis:
    """Trainable parameters on a log scale; zero parameters in a column of their own left of it."""
    zeros = [i.label for i in items if i.params_m <= 0]
    positive = [i for i in items if i.params_m > 0] or [PlotInput("", 1.0, 0.0, None)]
    axis_left = left + ZERO_GAP if zeros else left
    lo = math.floor(math.log10(min(i.params_m for i in positive)))
    hi = math.ceil(math.log10(max(i.params_m for i in positive)))
    hi = max(hi, lo + 1)

    def px(v: float) -> float:
        if v <= 0:
            return float(left + ZERO_GAP // 2)
        return round(axis_left + (math.log10(v) - lo) / (hi - lo) * (right - axis_left), 1)

    ticks = [Tick(px(0.0), "0")] if zeros else []
    ticks += [Tick(px(10.0**e), _params_label(10.0**e)) for e in range(lo, hi + 1)]
    title = ("trainable parameters (millions, log scale; 0 drawn apart)" if zeros
             else "trainable parameters (millions, log scale)")
    return _Axis(px, ticks, title, zeros, float(axis_left - ZERO_GAP // 4) if zeros else None,
                 lambda v: f"{_params_label(v)} trainable parameters")


def _linear_axis(items: list[PlotInput], left: int, right: int, axis: XAxis) -> _Axis:
    lo_i = math.floor(min(i.params_m for i in items) / axis.step)
    hi_i = max(math.ceil(max(i.params_m for i in items) / axis.step), lo_i + 1)
    lo, hi = lo_i * axis.step, hi_i * axis.step

    def px(v: float) -> float:
        return round(left + (v - lo) / (hi - lo) * (right - left), 1)

    stride = max(1, math.ceil((hi_i - lo_i) / 10))
    ticks = [Tick(px(k * axis.step), f"{k * axis.step:.2f}{axis.unit}") for k in range(lo_i, hi_i + 1, stride)]
    return _Axis(px, ticks, axis.title, [], None, lambda v: f"{v:.2f}{axis.unit} {axis.what}")


def accuracy_plot(items: list[PlotInput], y_title: str, width: int = 900, height: int = 560,
                  axis: XAxis | None = None) -> Plot | None:
    """Score against trainable parameters on a log scale (or against `axis`, linear); None when fewer than two
    points can be drawn.

    Points with zero trainable parameters (a frozen backbone) cannot sit on a log axis: they are drawn in a column
    of their own marked "0" left of it, and they take part in the Pareto front like every other point (a frozen
    backbone with a higher score than a method beats it outright). The front is the same on a linear axis: less of
    the x quantity and a higher score."""
    if len(items) < 2:
        return None
    left, top, right, bottom = 56, 16, width - 16, height - 48
    ax = _log_axis(items, left, right) if axis is None else _linear_axis(items, left, right, axis)
    px = ax.px
    y_lo = math.floor(min(i.score for i in items) / 5) * 5
    y_hi = math.ceil(max(i.score for i in items) / 5) * 5
    y_hi = max(y_hi, y_lo + 5)

    def py(v: float) -> float:
        return round(bottom - (v - y_lo) / (y_hi - y_lo) * (bottom - top), 1)

    front = pareto_front(items)
    xs = [px(i.params_m) for i in items]
    ys = [py(i.score) for i in items]
    stairs: list[tuple[float, float]] = []
    for k in sorted(front, key=lambda k: items[k].params_m):
        if stairs:
            stairs.append((xs[k], stairs[-1][1]))
        stairs.append((xs[k], ys[k]))
    segments = [(min(a[0], b[0]) - 1, min(a[1], b[1]) - 1, max(a[0], b[0]) + 1, max(a[1], b[1]) + 1)
                for a, b in zip(stairs, stairs[1:], strict=False)]
    labels = _place_labels(xs, ys, [i.label for i in items], (left, right), segments)
    points = [
        Point(xs[k], ys[k], it.label, *labels[k], k in front, it.href,
              f"{it.label}: {it.score:.2f}, {ax.text(it.params_m)}")
        for k, it in enumerate(items)
    ]
    step = 1 if y_hi - y_lo <= 30 else 5
    y_ticks = [Tick(py(v), str(v)) for v in range(y_lo, y_hi + 1, step if (y_hi - y_lo) // step <= 12 else 5)]
    return Plot(
        width=width, height=height, left=left, top=top, right=right, bottom=bottom,
        x_ticks=ax.ticks, y_ticks=y_ticks, points=points, front=" ".join(f"{x},{y}" for x, y in stairs),
        x_title=ax.title, y_title=y_title, zero_params=ax.zeros, axis_break=ax.axis_break,
    )
