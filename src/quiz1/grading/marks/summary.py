"""The class summary a TA reads at the top of ``report.html``: the distribution of the totals, their median and mean,
and the pass rate at a pass mark the TA sets.

A submission's total is what ``quiz1 export`` sends to Canvas: its base questions' marks plus its bonus questions'
(``StudentMarks.total + bonus``; Q1-Q5 of 15 plus Q6-Q7 of 4 in quiz1's rubric), each mark as the gradebook holds
it now. An item that waits for a human (``gradebook.waiting``) counts 0 until it is marked; the summary says how many
submissions are so provisional. It passes at a total of at least the pass mark. The pass mark is the TA's (``quiz1
report --pass MARK``, the review page's ``/report?pass=MARK``); without one it is half the rubric's base marks
(``default_pass_mark``: 7.5 of 15 in quiz1's rubric), and the page says which. "Passed" here is the pass mark's;
``passed`` in a zip's JSON (every question correct) is the machine's verdict and is not this.

Written here with ``statistics``: a median, a mean and a count need no library.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timezone

from .gradebook import MACHINE


def default_pass_mark(rubric) -> float:
    """Half the rubric's base marks (the bonus questions' left out): the pass mark when the TA gives none."""
    return rubric.base / 2


def pass_mark_of(value, rubric) -> float:
    """The TA's pass mark (a number or its text) from 0 to the rubric's base + bonus marks; None: the default;
    ``ValueError`` in one sentence otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default_pass_mark(rubric)
    top = rubric.base + rubric.bonus
    try:
        mark = float(value)
    except (TypeError, ValueError):
        mark = math.nan
    if not math.isfinite(mark) or not 0 <= mark <= top:
        raise ValueError(f"pass mark: expected a number from 0 to {top:g} (the total's base + bonus marks) but "
                         f"found {str(value)[:40]!r}")
    return mark


@dataclass(frozen=True)
class Summary:
    """The class's totals: ``count`` submissions, the ``median`` and ``mean`` (None for an empty class), ``passed``
    at ``pass_mark`` (``pass_from`` says where that came from), ``provisional`` (submissions with an item waiting for
    a human), ``bins`` ((low, high, count), one mark wide), ``svg`` (the histogram), when it was ``made`` and when a
    TA last marked (``last_mark``, None when no TA has)."""

    count: int
    median: float | None
    mean: float | None
    pass_mark: float
    pass_from: str
    passed: int
    provisional: int
    base: float
    bonus: float
    bins: tuple
    svg: str
    made: str
    last_mark: str | None

    @property
    def top(self) -> float:
        return self.base + self.bonus

    @property
    def rate(self) -> float | None:
        """The share of submissions at or over the pass mark (0 to 1), None for an empty class."""
        return self.passed / self.count if self.count else None


def bins_of(totals: list[float], top: float) -> list[tuple[float, float, int]]:
    """(low, high, count) of the totals, one mark wide from 0: [k, k + 1), the last bin holding ``top`` too."""
    last = max(int(math.floor(top)), 0)
    if last == top and last > 0:
        last -= 1                      # 19 falls in [18, 19], not a bin of its own
    counts = [0] * (last + 1)
    for t in totals:
        counts[min(max(int(math.floor(t)), 0), last)] += 1
    return [(k, min(k + 1, top) if k == last else k + 1, c) for k, c in enumerate(counts)]


def totals_svg(bins: list[tuple[float, float, int]], pass_mark: float) -> str:
    """The histogram of the totals (inline SVG): a bar per bin with its count written over it, the marks at the
    bins' edges under them, and the pass mark as a dashed line."""
    w, h, top_pad, foot = 26, 120, 14, 16
    most = max((c for _, _, c in bins), default=0) or 1
    parts = []
    for i, (lo, hi, c) in enumerate(bins):
        bh = (h - top_pad) * c / most
        y = top_pad + (h - top_pad) - bh
        parts.append(f"<rect x='{i * w + 1}' y='{y:.1f}' width='{w - 2}' height='{bh:.1f}' fill='#5c6bc0'>"
                     f"<title>{lo:g} &#8804; total {'&#8804;' if i == len(bins) - 1 else '&lt;'} {hi:g}: {c}</title></rect>")
        if c:
            parts.append(f"<text x='{i * w + w / 2:.1f}' y='{y - 3:.1f}' font-size='11' text-anchor='middle' "
                         f"class='count'>{c}</text>")
        parts.append(f"<text x='{i * w:.1f}' y='{h + 12}' font-size='10' text-anchor='middle'>{lo:g}</text>")
    if bins:                                      # the marks at the bins' edges: an axis
        parts.append(f"<text x='{len(bins) * w:.1f}' y='{h + 12}' font-size='10' text-anchor='middle'>"
                     f"{bins[-1][1]:g}</text>")
    hi_edge = bins[-1][1] if bins else 1
    x = 0.0
    for i, (lo, hi, _) in enumerate(bins):          # the pass mark's place inside its bin
        if lo <= pass_mark <= hi or (i == len(bins) - 1 and pass_mark >= hi_edge):
            x = i * w + w * (min(pass_mark, hi) - lo) / ((hi - lo) or 1)
            break
    parts.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='2' y2='{h}' stroke='#c62828' stroke-dasharray='4 3'>"
                 f"<title>pass mark {pass_mark:g}</title></line>")
    return (f"<svg class='totals' width='{len(bins) * w + 12}' height='{h + foot}' viewBox='-6 0 {len(bins) * w + 12} "
            f"{h + foot}' role='img' aria-label='totals: "
            f"{', '.join(f'{lo:g} to {hi:g}: {c}' for lo, hi, c in bins)}'>{''.join(parts)}</svg>")


def summarise(marks: list, rubric, pass_mark: float | None = None, items: list | None = None) -> Summary:
    """The summary of ``marks`` (``export.class_marks``: one row a submission) at ``pass_mark`` (None: the default);
    ``items`` (``gradebook.items``) give when a TA last marked."""
    given = pass_mark is not None
    pass_mark = default_pass_mark(rubric) if pass_mark is None else pass_mark
    totals = [m.total + m.bonus for m in marks]
    top = rubric.base + rubric.bonus
    bins = bins_of(totals, top)
    last = max((it["marked_at"] for it in items or () if it["marked_by"] not in (None, MACHINE) and it["marked_at"]),
               default=None)
    return Summary(count=len(totals), median=statistics.median(totals) if totals else None,
                   mean=statistics.fmean(totals) if totals else None, pass_mark=pass_mark,
                   pass_from="set by the TA" if given else f"the default: half the rubric's base marks "
                                                            f"({rubric.base:g})",
                   passed=sum(t >= pass_mark - 1e-9 for t in totals), provisional=sum(bool(m.pending) for m in marks),
                   base=rubric.base, bonus=rubric.bonus, bins=tuple(bins), svg=totals_svg(bins, pass_mark),
                   made=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"), last_mark=last)


__all__ = ["Summary", "bins_of", "default_pass_mark", "pass_mark_of", "summarise", "totals_svg"]
