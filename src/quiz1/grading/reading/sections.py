"""Which cells of a student's notebook belong to which question.

A question's section runs from its heading to the next question's heading. The
headings students write: ``# Question 1``, ``## Q2``, ``### Question 3``,
``**Question 4**``, ``## Question 4a``, ``<h2>Question 1</h2>``, ``Part 5``,
``Question 1: ...``, ``Q2) ...``, ``Q.7 ...``, any case, at the start of a
line of a Markdown cell, and ``# Q3`` comment lines at the top of a code cell.
A plain line (no ``#``, bold or HTML heading) is a heading only when it is one:
``Question 5 asks us to learn f from two sets`` is prose. Where no such heading
exists, numbered headings ``## 1. Softmax`` count. A notebook with no heading at
all is split by what its cells do (the quiz files they read, torchviz, the
quiz's class G: each question module's ``CONTENT``; ``by_content``), or is one
section for the one question its file name names (``Q3.ipynb``). Which
questions there are is given (``questions.content()``): this module names none.
Written by hand: a few regular expressions over ``nbformat`` cells.
"""
from __future__ import annotations

import re

_Q = r"(?:question|problem|task|part|qn|q)\s*\.?\s*(?:no\.?\s*)?([1-9])[a-z]?(?![a-z0-9])"
_MARK = r"(?:#{1,6}\s*|>\s*|<h[1-6][^>]*>\s*)"
_EMPH = r"(?:\*\*|__|\*|_)?"
# "# Q2", "**Question 4**", "<h2>Question 1</h2>", "## Question 4a": marked, any words may follow
MARKED = re.compile(rf"^\s{{0,3}}{_MARK}{_EMPH}\s*{_Q}", re.I | re.M)
# "Question 1: ...", "Q2) ...", "**Q3.** ...", "Q.7 autograd", "Problem 4": a plain line that is a heading
PLAIN = re.compile(rf"^\s{{0,3}}{_EMPH}\s*{_Q}\s*{_EMPH}\s*(?:$|[:).\-–—]|(?=\s+\S+(?:\s+\S+){{0,2}}\s*$))", re.I | re.M)
NUMBERED = re.compile(r"^\s{0,3}#{1,6}\s*([1-9])\s*[.):]\s", re.M)
CODE_HEADING = re.compile(rf"^#+\s*{_Q}", re.I)
FILE_QUESTION = re.compile(r"(?:^|[^a-z0-9])(?:question|problem|task|part|q)[ _\-.]?([1-9])(?![0-9])", re.I)
def cell_heading(cell, known, numbered: bool = False) -> int | None:
    """The question a cell starts (its last heading, for a Markdown cell; one of ``known``), or None; ``numbered``:
    ``## 1.`` counts."""
    if cell.cell_type == "markdown":
        hits = sorted([(m.start(), int(m.group(1))) for m in MARKED.finditer(cell.source)]
                      + [(m.start(), int(m.group(1))) for m in PLAIN.finditer(cell.source)]
                      + ([(m.start(), int(m.group(1))) for m in NUMBERED.finditer(cell.source)] if numbered else []))
        hits = [q for _, q in hits if q in known]
        return hits[-1] if hits else None
    if cell.cell_type == "code":
        first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
        m = CODE_HEADING.match(first.strip())
        if m and int(m.group(1)) in known:
            return int(m.group(1))
    return None


def by_content(nb, content) -> list[frozenset]:
    """Sections for a notebook with no heading: a code cell that reads a question's files or uses its tools (``content``:
    (number, pattern) a question) starts that question's section; other cells follow the one before (cells before the
    first such cell: no section)."""
    out, current = [], frozenset()
    for cell in nb.cells:
        if cell.cell_type == "code":
            hit = next((q for q, pattern in content if pattern.search(cell.source)), None)
            if hit is not None:
                current = frozenset({hit})
        out.append(current)
    return out


def cell_questions(nb, content, file_name: str = "") -> list[frozenset]:
    """For each cell of ``nb``, the set of questions whose section holds it (empty before the first heading);
    ``content``: (number, pattern of what its cells do) for each question there is (``questions.content()``)."""
    known = {q for q, _ in content}
    heads = [cell_heading(c, known) for c in nb.cells]
    if not any(h is not None for h in heads):
        heads = [cell_heading(c, known, numbered=True) for c in nb.cells]
    if not any(h is not None for h in heads):
        m = FILE_QUESTION.search(file_name)
        if m and int(m.group(1)) in known:
            return [frozenset({int(m.group(1))})] * len(nb.cells)
        return by_content(nb, content)
    out, current = [], frozenset()
    for h in heads:
        if h is not None:
            current = frozenset({h})
        out.append(current)
    return out
