"""The rubric: each question's marks and what each verdict earns, from a TOML file (quiz1's own by default).

``load_rubric(path)`` reads and checks it (``tomllib``); a bad rubric is one ``ValueError`` naming the file and the
key. ``Rubric.proposed(q, verdict)`` is the machine's mark for a verdict: the question's marks, a number, or None when
a human must decide (``unverified``).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from ..questions import names as question_names
from ..report import VERDICTS


@dataclass(frozen=True)
class Question:
    title: str
    marks: float
    bonus: bool = False
    rule: str = ""


@dataclass(frozen=True)
class Rubric:
    """``questions``: "Q1".."Q7" -> Question; ``earns``: verdict -> "full", a number of marks, or "human"."""

    questions: dict
    earns: dict
    source: str

    def proposed(self, q: str, verdict: str) -> float | None:
        """The mark the machine proposes for ``verdict`` on question ``q`` (None: a human decides)."""
        e = self.earns.get(verdict, "human")
        if e == "full":
            return float(self.questions[q].marks)
        return None if e == "human" else min(float(e), float(self.questions[q].marks))

    @property
    def base(self) -> float:
        return sum(x.marks for x in self.questions.values() if not x.bonus)

    @property
    def bonus(self) -> float:
        return sum(x.marks for x in self.questions.values() if x.bonus)


def load_rubric(path: str | Path | None = None) -> Rubric:
    """The rubric at ``path`` (default: quiz1's, ``rubric.toml`` beside this module); ``ValueError`` naming the key."""
    name = str(path) if path is not None else "quiz1's rubric.toml"
    try:
        text = Path(path).read_text() if path is not None else files("quiz1.grading.marks").joinpath("rubric.toml").read_text()
        raw = tomllib.loads(text)
    except OSError as e:
        raise ValueError(f"{name}: cannot be read ({e.strerror or e.__class__.__name__})") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{name}: not valid TOML ({e})") from None
    qs, earns = raw.get("questions"), raw.get("verdicts")
    if not isinstance(qs, dict) or sorted(qs) != sorted(question_names()):
        found = ", ".join(sorted(qs)) if isinstance(qs, dict) else "none"
        raise ValueError(f"{name}: questions: expected a table for each of {', '.join(question_names())} but found {found}")
    if not isinstance(earns, dict) or sorted(earns) != sorted(VERDICTS):
        found = ", ".join(sorted(earns)) if isinstance(earns, dict) else "none"
        raise ValueError(f"{name}: verdicts: expected one entry for each of {', '.join(VERDICTS)} but found {found}")
    for v, e in earns.items():
        if not (e in ("full", "human") or (isinstance(e, (int, float)) and not isinstance(e, bool) and e >= 0)):
            raise ValueError(f"{name}: verdicts.{v}: expected \"full\", \"human\" or a number >= 0 but found {e!r}")
    questions = {}
    for q in question_names():
        t = qs[q]
        marks = t.get("marks")
        if not isinstance(marks, (int, float)) or isinstance(marks, bool) or marks < 0:
            raise ValueError(f"{name}: questions.{q}.marks: expected a number >= 0 but found {marks!r}")
        if not isinstance(t.get("bonus", False), bool):
            raise ValueError(f"{name}: questions.{q}.bonus: expected true or false but found {t['bonus']!r}")
        questions[q] = Question(str(t.get("title", q)), float(marks), t.get("bonus", False), str(t.get("rule", "")))
    return Rubric(questions, dict(earns), name)
