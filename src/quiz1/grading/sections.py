"""Which cells of a student's notebook belong to which question.

A question's section runs from its heading to the next question's heading. The
headings students write: ``# Question 1``, ``## Q2``, ``### Question 3``,
``**Question 4**``, ``Question 1: ...``, ``Q2) ...``, ``Q.7 ...``, ``# Q7``, any
case, at the start of a line of a Markdown cell, and ``# Q3`` comment lines at the
top of a code cell. A notebook with no heading at all is one section for every
question (or for the one question its file name names, e.g. ``Q3.ipynb``).
Written by hand: this is a few regular expressions over ``nbformat`` cells.
"""
from __future__ import annotations

import re

N_QUESTIONS = 7
_Q = r"(?:question|problem|task|qn|q)\s*\.?\s*(?:no\.?\s*)?([1-9])(?![0-9])"
# a Markdown line that starts a question: "# Q2", "**Question 4**", "Question 1: ...", "Q2) ...", "Q.7 ..."
MD_HEADING = re.compile(rf"^\s{{0,3}}(?:#{{1,6}}\s*|>\s*)?(?:\*\*|__|\*|_)?\s*{_Q}(?=\s*(?:\*\*|__|\*|_)?\s*(?:$|[\s:).\-–—\[(]))",
                        re.I | re.M)
CODE_HEADING = re.compile(rf"^#+\s*{_Q}\b", re.I)
FILE_QUESTION = re.compile(r"(?:^|[^a-z0-9])(?:question|problem|task|q)[ _\-.]?([1-9])(?![0-9])", re.I)


def cell_heading(cell) -> int | None:
    """The question a cell starts (its last heading, for a Markdown cell), or None."""
    if cell.cell_type == "markdown":
        hits = [int(m.group(1)) for m in MD_HEADING.finditer(cell.source)]
        hits = [h for h in hits if h <= N_QUESTIONS]
        return hits[-1] if hits else None
    if cell.cell_type == "code":
        first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
        m = CODE_HEADING.match(first.strip())
        if m and int(m.group(1)) <= N_QUESTIONS:
            return int(m.group(1))
    return None


def cell_questions(nb, file_name: str = "") -> list[frozenset]:
    """For each cell of ``nb``, the set of questions (1..7) whose section holds it (empty before the first heading)."""
    heads = [cell_heading(c) for c in nb.cells]
    if not any(h is not None for h in heads):
        m = FILE_QUESTION.search(file_name)
        every = frozenset({int(m.group(1))}) if m and int(m.group(1)) <= N_QUESTIONS else frozenset(range(1, N_QUESTIONS + 1))
        return [every] * len(nb.cells)
    out, current = [], frozenset()
    for h in heads:
        if h is not None:
            current = frozenset({h})
        out.append(current)
    return out
