"""Q3, the symbolic gradient dL/dx: the one answer not computed by code.

The section's final formula for dL/dx, read from its Markdown and displayed
formulas as the TA sees them rendered (``rendered_markdown``: hidden text,
comments and colours not read, the notebook's macros applied), in the student's
notation (``latex_math``), equal to quiz1's closed form at points in every ReLU
region (``equivalence``); hedges and disowned formulas are for a human.
"""
from __future__ import annotations

import re

from ..evidence import Evidence
from ..report import Verdict

NAME, NUMBER = "Q3", 3
# what a cell of its section does, in a notebook without headings (``sections.by_content``)
CONTENT = re.compile(r"\bsympy\b|symbols\(|\.diff\(")


def verdict(ev: Evidence) -> Verdict:
    """The section's final dL/dx, read from its Markdown and displayed formulas as the TA sees them rendered,
    against quiz1's closed form (``equivalence``)."""
    from ..reading.rendered_markdown import Formula
    from .equivalence import check_q3

    expected = "dL/dx_i = (sigma(s) - y) sum_j W1_ij (1[f_j > 0] + W2_j), f = W1^T x, s = ReLU(f_1) + ReLU(f_2) + W2.f"
    pieces = ev.run.rendered.get(NUMBER, [])
    if not any(isinstance(p, Formula) for p in pieces):
        v = ev.shown(NUMBER, markdown=True)
        return Verdict(v.status, v.found, expected, v.note)
    got = check_q3(pieces)
    if got.status == "unverified" and got.found is None:
        v = ev.shown(NUMBER, markdown=True)
        return Verdict(v.status, v.found, expected, "; ".join(x for x in (got.note, v.note) if x))
    if got.status == "correct" and any(m.get("css") for m in ev.run.markdown.values()):
        return Verdict("unverified", got.found, expected, f"{got.note}; but the notebook's Markdown sets its own CSS "
                       f"(<style>), which can hide or show any text: a human should confirm what is visible")
    return Verdict(got.status, got.found, expected, got.note)

