"""The rubric: each question's marks, its rubric items, and the item each machine verdict applies, from a TOML file
(quiz1's own by default).

The rule (Gradescope's positive scoring): a question's mark is the sum of the points of the items applied to it plus
an optional adjustment, clipped to [0, the question's marks]. An item's points are a credit (``"full"``: the
question's marks; or a number, a partial credit) or a deduction (a negative number, applied on top of a credit).

``load_rubric(path)`` reads and checks it (``tomllib``); a bad rubric is one ``ValueError`` naming the file, the key,
what was expected and what was found. ``Rubric.verdict_item(q, verdict)`` is the item the machine applies for a
verdict (None: a human decides, ``unverified``); ``Rubric.proposed(q, verdict)`` is the mark it gives.
"""
from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from ..questions import names as question_names
from ..report import VERDICTS

ITEM_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
ITEM_TEXT_MAX = 300
ITEM_KEYS = ("id", "text", "points")
FULL = "full"
HUMAN = "human"
# The words of the item a verdict given as a number (quiz1's older rubric form) applies: the student reads them.
OLD_FORM_TEXT = {"correct": "Correct.", "wrong": "Your answer does not match the expected result.",
                 "missing": "No answer to this question was found in your notebook.",
                 "error": "The code for this question did not run to the end."}


@dataclass(frozen=True)
class Item:
    """A rubric item: ``points`` added to the question's mark when applied (negative: a deduction)."""

    id: str
    text: str
    points: float


@dataclass(frozen=True)
class Question:
    title: str
    marks: float
    bonus: bool = False
    rule: str = ""
    items: tuple = ()        # Item, in the file's order (the items every question has last)

    def item(self, item_id: str) -> Item | None:
        return next((i for i in self.items if i.id == item_id), None)


def clip(points: float, marks: float) -> float:
    """The rule: ``points`` (the applied items' sum plus the adjustment) clipped to [0, ``marks``]."""
    return round(min(max(points, 0.0), marks), 6)


@dataclass(frozen=True)
class Rubric:
    """``questions``: "Q1".."Q7" -> Question; ``verdicts``: verdict -> the id of the item it applies, or None (a human
    decides)."""

    questions: dict
    verdicts: dict
    source: str

    def verdict_item(self, q: str, verdict: str) -> Item | None:
        """The item the machine applies to question ``q`` for ``verdict`` (None: a human decides)."""
        item_id = self.verdicts.get(verdict)
        return None if item_id is None else self.questions[q].item(item_id)

    def proposed(self, q: str, verdict: str) -> float | None:
        """The mark the machine proposes for ``verdict`` on question ``q`` (None: a human decides)."""
        item = self.verdict_item(q, verdict)
        return None if item is None else clip(item.points, self.questions[q].marks)

    @property
    def base(self) -> float:
        return sum(x.marks for x in self.questions.values() if not x.bonus)

    @property
    def bonus(self) -> float:
        return sum(x.marks for x in self.questions.values() if x.bonus)


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_points(points, marks: float, where: str) -> float:
    """``points`` as a float: ``"full"`` (``marks``) or a number from -``marks`` to ``marks``; else ``ValueError``."""
    if points == FULL:
        return float(marks)
    if not _number(points) or not -marks <= points <= marks:
        raise ValueError(f"{where}: expected \"full\" or a number from {-marks:g} to {marks:g} but found {points!r}")
    return float(points)


def check_text(text, where: str) -> str:
    if not isinstance(text, str) or not text.strip() or len(text.strip()) > ITEM_TEXT_MAX:
        found = f"{len(text.strip()):,} characters" if isinstance(text, str) and text.strip() else repr(text)
        raise ValueError(f"{where}: expected a text for the student of 1 to {ITEM_TEXT_MAX} characters but found "
                         f"{found[:60]}")
    return text.strip()


def check_id(item_id, where: str) -> str:
    if not isinstance(item_id, str) or not ITEM_ID.match(item_id):
        raise ValueError(f"{where}: expected an id of 1 to 40 lowercase letters, digits, '-' or '_' (a letter or digit "
                         f"first) but found {item_id!r}")
    return item_id


def _items(raw, key: str, marks: float, name: str) -> list[Item]:
    """The items of the TOML list ``raw`` at ``key``; ``ValueError`` naming the item's key."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise ValueError(f"{name}: {key}: expected a list of tables ([[{key}]]) but found {raw!r}"[:300])
    out: list[Item] = []
    for n, t in enumerate(raw):
        where = f"{name}: {key}[{n}]"
        extra = sorted(set(t) - set(ITEM_KEYS))
        if extra or "id" not in t or "text" not in t or "points" not in t:
            raise ValueError(f"{where}: expected the keys id, text, points but found {', '.join(sorted(t)) or 'none'}")
        item_id = check_id(t["id"], f"{where}.id")
        if any(i.id == item_id for i in out):
            raise ValueError(f"{where}.id: expected an id not used before in {key} but found {item_id!r} again")
        out.append(Item(item_id, check_text(t["text"], f"{where}.text"), check_points(t["points"], marks,
                                                                                        f"{where}.points")))
    return out


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
    qs, verdicts = raw.get("questions"), raw.get("verdicts")
    if not isinstance(qs, dict) or sorted(qs) != sorted(question_names()):
        found = ", ".join(sorted(qs)) if isinstance(qs, dict) else "none"
        raise ValueError(f"{name}: questions: expected a table for each of {', '.join(question_names())} but found {found}")
    if not isinstance(verdicts, dict) or sorted(verdicts) != sorted(VERDICTS):
        found = ", ".join(sorted(verdicts)) if isinstance(verdicts, dict) else "none"
        raise ValueError(f"{name}: verdicts: expected one entry for each of {', '.join(VERDICTS)} but found {found}")
    for v, e in verdicts.items():
        if not (isinstance(e, str) or (_number(e) and e >= 0)):
            raise ValueError(f"{name}: verdicts.{v}: expected \"human\", the id of an item or a number >= 0 but found "
                             f"{e!r}")
    questions = {}
    for q in question_names():
        t = qs[q]
        if not isinstance(t, dict):
            raise ValueError(f"{name}: questions.{q}: expected a table but found {t!r}")
        marks = t.get("marks")
        if not _number(marks) or marks < 0:
            raise ValueError(f"{name}: questions.{q}.marks: expected a number >= 0 but found {marks!r}")
        if not isinstance(t.get("bonus", False), bool):
            raise ValueError(f"{name}: questions.{q}.bonus: expected true or false but found {t['bonus']!r}")
        own = _items(t.get("items"), f"questions.{q}.items", marks, name)
        common = _items(raw.get("items"), "items", marks, name)
        for i in common:
            if any(o.id == i.id for o in own):
                raise ValueError(f"{name}: questions.{q}.items: expected ids other than those of items (every "
                                 f"question's) but found {i.id!r} in both")
        its = own + common
        if not any(i.id == FULL for i in its):   # every question has its full marks
            its.insert(0, Item(FULL, OLD_FORM_TEXT["correct"], float(marks)))
        for v, e in verdicts.items():           # quiz1's older form: a verdict worth a number of marks
            if _number(e) and not any(i.id == v for i in its):
                its.append(Item(v, OLD_FORM_TEXT.get(v, "Marked by the rubric."), min(float(e), float(marks))))
        questions[q] = Question(str(t.get("title", q)), float(marks), t.get("bonus", False), str(t.get("rule", "")),
                                tuple(its))
    resolved = {}
    for v, e in verdicts.items():
        if e == HUMAN:
            resolved[v] = None
            continue
        item_id = v if _number(e) else e
        lacking = [q for q in question_names() if questions[q].item(item_id) is None]
        if lacking:
            raise ValueError(f"{name}: verdicts.{v}: expected \"human\", a number >= 0 or the id of an item every "
                             f"question has but found {e!r} ({', '.join(lacking)} have no item {item_id!r})")
        resolved[v] = item_id
    return Rubric(questions, resolved, name)
