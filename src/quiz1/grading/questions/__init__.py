"""The quiz's questions for the grader, one module each.

A question module has ``NAME`` ("Q1"), ``NUMBER`` (its heading's number),
``CONTENT`` (a pattern of what its cells do, for notebooks without headings)
and ``verdict(ev) -> Verdict`` from an ``evidence.Evidence``. Where it needs
them: ``reference(root, given)``, what it reads from the data below ``root``
before the notebook runs, a frozen record of its own (``given``: the TA's
inputs, ``reference.Given``; in ``ev.refs[NAME]``, and for the variant data in
``ev.variant.refs[NAME]``); ``variant(root, ref, seed, given) -> (files
changed, what it drew or None)``, its data changed for the second run (what it
drew in ``ev.variant.drawn[NAME]``); ``cells(plan)`` and ``collect``, grader
cells around its section and their reports; ``apart(ctx)``, what it runs apart
from the notebook after the run (``wants_models(ref)``: its models pickled for
it); ``measures(ev)``, typed records the report (as JSON) and the review page
show too; ``figure(measures, status)``, a picture for the TA, from the JSON;
``class_view(reports, stems)``, a section of report.html about the whole
class; ``shared_wrong(found)``, the wrong value similarity compares;
``excused(ev, verdict)``, errors shown on purpose; ``group_key(item)``, a short
string equal for two students exactly when their evidence is the same (``item``:
the question's entry of a report's JSON "questions" plus "measures", that
question's measures), None when nothing is machine-readable, and
``group_label(item)``, what a group's members share in words (``marks.groups``;
``grouping`` holds what the hooks share).

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


def modules() -> tuple[ModuleType, ...]:
    """``QUESTIONS``, read when called (a test may register a question of its own)."""
    return QUESTIONS


def names() -> tuple[str, ...]:
    """"Q1", "Q2", ...: the questions' names, in order."""
    return tuple(q.NAME for q in QUESTIONS)


def content() -> tuple:
    """(number, pattern) a question: what its cells do, for a notebook without headings (``sections``)."""
    return tuple((q.NUMBER, q.CONTENT) for q in QUESTIONS)


def figure(report: dict, name: str) -> tuple[str, str] | None:
    """(alt text, data URI) of what question ``name``'s module draws from a report's JSON (its ``figure(measures,
    status)``), or None when it draws nothing there (no hook, no measures, or the hook's None)."""
    q = by_name(name)
    m = (report.get("measures") or {}).get(name)
    if not hasattr(q, "figure") or not m:
        return None
    return q.figure(m, ((report.get("questions") or {}).get(name) or {}).get("status"))


def figures(report: dict) -> dict:
    """Question name -> (alt text, data URI) of what its module draws from a report's JSON (``figure``: Q5's model
    over f, Q6's changes), for the questions that draw one."""
    return {q.NAME: got for q in QUESTIONS if (got := figure(report, q.NAME)) is not None}


def class_views(reports: list[dict], stems: list[str]) -> list[str]:
    """The sections of report.html a question adds about the whole class (its ``class_view``: Q4's ranking), HTML."""
    return [v for q in QUESTIONS if hasattr(q, "class_view") and (v := q.class_view(reports, stems))]
