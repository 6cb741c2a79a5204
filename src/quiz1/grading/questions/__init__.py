"""The quiz's questions for the grader, one module each: what the question's answer is checked against, and its
verdict from an ``Evidence`` (``verdict(ev) -> Verdict``); ``measures(ev)`` where a verdict rests on numbers the
report and the review page show too.

``QUESTIONS`` is the one list of them, in the quiz's order: a question is its module and one entry here.
"""
from __future__ import annotations

from types import ModuleType

from . import q1, q2, q3, q4, q5, q6, q7

QUESTIONS: tuple[ModuleType, ...] = (q1, q2, q3, q4, q5, q6, q7)


def by_name(name: str) -> ModuleType:
    """The module of question ``name`` ("Q1"), ``KeyError`` for another."""
    for q in QUESTIONS:
        if q.NAME == name:
            return q
    raise KeyError(name)
