"""The slip ledger as a small chart: a release's target date over time, each change a
numbered point labelled with its reason. Geometry only; the template draws it as inline SVG
(no script, no inline style), so it renders on the server and reads the same everywhere.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 92, 24, 24, 36
LABEL_CHARS = 34


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    number: int
    label: str
    #: ``slip`` (later) or ``pull-in`` (earlier).
    kind: str
    anchor: str
    label_y: float


@dataclass(frozen=True)
class SlipChart:
    width: int
    height: int
    path: str
    start: tuple[float, float]
    #: The plot area: left, top, right, bottom.
    plot: tuple[float, float, float, float]
    points: list[Point] = field(default_factory=list)
    #: (y, text) of the dates on the vertical axis; (x, text) of the instants below.
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_ticks: list[tuple[float, str, str]] = field(default_factory=list)
    description: str = ""


def short(text: str, limit: int = LABEL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def slip_chart(planned_at: str, planned_target: str, changes: list[dict[str, Any]],
               now: datetime) -> SlipChart:
    """The chart of a release planned at ``planned_at`` for ``planned_target`` whose target
    date then changed as ``changes`` say (a slip ledger's entries, oldest first)."""
    times = [datetime.fromisoformat(planned_at)] + [
        datetime.fromisoformat(c["occurred_at"]) for c in changes]
    # The changes spread over most of the width; the last stretch runs on to now.
    end = times[-1] if changes else max(now, times[-1])
    dates = [date.fromisoformat(planned_target)] + [
        date.fromisoformat(c["target_date"]) for c in changes]
    t0, t1 = times[0].timestamp(), end.timestamp()
    span = max(t1 - t0, 1.0)
    low, high = min(dates).toordinal(), max(dates).toordinal()
    if low == high:
        low, high = low - 7, high + 7
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(moment: datetime) -> float:
        return round(LEFT + (moment.timestamp() - t0) / span * plot_w * 0.85, 1)

    def y(day: date) -> float:
        return round(TOP + (high - day.toordinal()) / (high - low) * plot_h, 1)

    steps = [f"M{x(times[0])},{y(dates[0])}"]
    points = []
    for number, (moment, day, entry) in enumerate(zip(times[1:], dates[1:], changes,
                                                      strict=True), start=1):
        px, py = x(moment), y(day)
        steps.append(f"H{px}V{py}")
        right_half = px > LEFT + plot_w * 0.55
        sign = "+" if entry["delta_days"] > 0 else "\N{MINUS SIGN}"
        reason = short(entry["rationale"] or "no reason given")
        points.append(Point(
            px, py, number, f"{number}. {sign}{abs(entry['delta_days'])} d: {reason}",
            entry["kind"], "end" if right_half else "start",
            py - 8 if number % 2 else min(py + 16, HEIGHT - BOTTOM - 2)))
    steps.append(f"H{round(LEFT + plot_w, 1)}")
    ticks = sorted({dates[0], min(dates), max(dates), dates[-1]})
    return SlipChart(
        WIDTH, HEIGHT, "".join(steps), (x(times[0]), y(dates[0])),
        (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM), points,
        [(y(day), day.isoformat()) for day in ticks],
        [(x(times[0]), "start", f"{times[0]:%Y-%m-%d}"),
         (round(LEFT + plot_w, 1), "end", f"{max(now, end):%Y-%m-%d}")],
        f"Target date planned for {dates[0].isoformat()}, changed {len(changes)} time(s), "
        f"now {dates[-1].isoformat()}.")
