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



# why a human is asked, read from an ``unverified`` note (``equivalence.check_q3``), and whether ``found`` then holds
# the grader's sympy spelling (a formula it compared) rather than the student's LaTeX
UNREAD = re.compile(r"written but the grader could not read it")
WHY = (("offered", re.compile(r"different formulas for dL/dx are offered"), False),
       ("stops short", re.compile(r"\bstops at\b"), False),
       ("all disowned", re.compile(r"disowned by its text: no answer"), False),
       ("components missing", re.compile(r"components written are equal to the reference"), True),
       ("own CSS", re.compile(r"sets its own CSS"), True))


def _reading(item: dict) -> tuple[str, bool] | None:
    """(why the verdict is what it is, ``found`` is the grader's sympy spelling) of an item, or None when its
    ``found`` holds no formula to read (an unreadable one, or what the section shows)."""
    status, note = item.get("status"), item.get("note") or ""
    if status in ("correct", "wrong"):
        return status, True
    if status != "unverified":
        return None
    return next(((why, pretty) for why, pattern, pretty in WHY if pattern.search(note)), None)


def group_key(item: dict) -> str | None:
    """Q3 groups by the formula read up to equivalence (values at fixed points in every ReLU region), or unread by its text."""
    from .formula_values import signature
    from .grouping import digest, value_key

    reading = _reading(item)
    if reading is None:       # a machine-decided missing or error by its reason; an unverified one by its text, or alone
        if item.get("status") in ("missing", "error"):
            return value_key(item, None)
        return _unread_key(item)
    why, pretty = reading
    if item["status"] == "correct":
        return "correct: dL/dx equal to quiz1's closed form"
    sig = signature(item.get("found"), pretty)
    if sig is None:
        return None
    lhs, values = sig
    return f"{item['status']}: {lhs} formula {digest(values, 12)}" + (f" ({why})" if why != item["status"] else "")


def _unread_key(item: dict) -> str | None:
    """A formula the grader could not read, by its text in ``latex_math``'s one spelling of each LaTeX variant
    (sizing, spacing, ``\\dfrac``; a product written with ``\\cdot`` or without): the same text, the same
    evidence; None for anything else."""
    from .grouping import digest
    from .latex_math import normalise

    found = item.get("found") or ""
    if not UNREAD.search(item.get("note") or "") or not found.startswith("dL/d") or " = " not in found:
        return None
    lhs, rhs = found.split(" = ", 1)
    text = re.sub(r"\s+|\\cdot(?![A-Za-z])", "", normalise(rhs))
    return f"unverified: dL/d{lhs[4:5].lower()} unread, text {digest(text, 12)}"


def group_label(item: dict) -> str:
    """What the members of ``item``'s group share, in words: its formula, and every formula equal to it."""
    from .formula_values import N_POINTS

    if item.get("status") == "correct":
        return "correct: dL/dx equal to quiz1's closed form at the grader's points in every ReLU region"
    if _reading(item) is None:
        return f"{item.get('status')}: {item.get('found')}, not read by the grader: the same text"
    return (f"{item.get('status')}: {item.get('found')}, and every formula equal to it at {N_POINTS} points, "
            f"{N_POINTS // 4} in each ReLU region")
