"""A toy eighth question, registered only by ``tests/test_toy_question.py``: "print the sum of the first row of
Q_1/data.txt". It shows what a question needs in quiz1: this module (a name, a number, what its cells do, a verdict
from the ``Evidence``) and one entry in ``questions.QUESTIONS``; nothing else of the grader changes."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from quiz1.grading.evidence import Evidence
from quiz1.grading.reading.values import literal_in_code, matches, numbers
from quiz1.grading.report import Verdict
from quiz1.grading.running.layout import find_data_file

NAME, NUMBER = "Q8", 8
CONTENT = re.compile(r"first row")


def reference(root: Path, given) -> float | None:
    """The sum of the first row of the submission's Q_1/data.txt, read before the notebook runs; None without it."""
    p = find_data_file(root, "data.txt")
    return None if p is None else float(np.loadtxt(p, ndmin=2)[0].sum())


def verdict(ev: Evidence) -> Verdict:
    """``correct`` when code of the section printed the sum of the data's first row and did not type it in."""
    want = ev.refs[NAME]
    if want is None:
        return Verdict("unverified", ev.found_numbers(NUMBER), None, "no Q_1/data.txt to check it against")
    expected = f"{want:.6g}"
    for c, _ in ev.ordered(NUMBER):
        for p in numbers(c.text):
            if matches(p, want) and not literal_in_code(p, ev.all_code):
                return Verdict("correct", f"{p.text} ({c.label})", expected)
    return ev.unmatched(NUMBER, ev.found_numbers(NUMBER), expected)
