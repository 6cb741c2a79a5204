"""Answer groups: the items of one question whose evidence is the same, for a TA to mark once.

Each question says when two of its items show the same evidence through its module's ``group_key(item)`` hook (the
registry's ``modules()``; this module names no question): ``item`` is the question's entry of a report's JSON
``"questions"`` plus ``"measures"``, that question's measures or None; the key is a short string, equal for two
students exactly when their evidence is the same, or None when nothing is machine-readable (the item stays alone).
A module may add ``group_label(item)``, what the members share in words (else the key says it). ``propose`` groups a
class's reports, largest groups first, the ``unverified`` ones a TA must mark among them, and the machine-decided
``correct`` and ``wrong`` ones too, so that a TA spot-checks one group rather than every student.

A TA may disagree: ``move`` takes an item out of its group (into another, or alone), ``merge`` puts two groups
together. These overrides are kept in ``OUTDIR/gradebook.sqlite``, in a table of this module's own
(``group_moves``, created here; the gradebook's own tables are not touched), one row per override in the order
given, and ``groups(out, question)`` applies them, in that order, to the groups proposed from ``OUTDIR/*.json``;
a later grading run that changes a report changes the proposal, and the overrides still apply by stem and key.

Written here, with the standard library's ``sqlite3``: the grouping is a dictionary from key to members, and the
overrides a log replayed on it; no library does either for quiz1's items.
"""
from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..questions import modules

ALONE = "alone: "      # the key of an item left alone is this and its stem (no hook's key starts so)
MIXED = "mixed"        # the status of a group whose members' statuses differ (after a TA's move)
SCHEMA = """
CREATE TABLE IF NOT EXISTS group_moves (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, question TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('move', 'merge')),
    stem TEXT, from_key TEXT, to_key TEXT, by TEXT, at TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Group:
    """Items of one question a TA can mark at once.

    Attributes
    ----------
    question : str
        "Q1" .. "Q7".
    key : str
        What the members share, as the question's ``group_key`` hook gives it; ``ALONE`` + the stem for an item
        with nothing machine-readable, or a TA's own key (``move``).
    status : str
        The members' verdict ("unverified", "correct", ...), or ``MIXED`` when a TA's move put several together.
    label : str
        What the members share, in words (the question's ``group_label`` of its first member, else the key).
    members : tuple of str
        The members' stems (``OUTDIR/<stem>.json``), sorted.
    """

    question: str
    key: str
    status: str
    label: str
    members: tuple

    @property
    def alone(self) -> bool:
        """A group of one with nothing machine-readable (no key of its question's)."""
        return self.key.startswith(ALONE)


def item(report: dict, question: str) -> dict | None:
    """``question``'s item of a report's JSON: its entry of ``"questions"`` plus ``"measures"`` (that question's
    measures, or None); None when the report has no verdict for it (not graded)."""
    q = (report.get("questions") or {}).get(question)
    if not isinstance(q, dict) or report.get("graded") is False:
        return None
    return {**q, "measures": (report.get("measures") or {}).get(question)}


def _hooks() -> dict:
    return {q.NAME: q for q in modules()}


def key_of(question: str, it: dict) -> str | None:
    """The group key of an item (``question``'s ``group_key`` hook), None when it has none or the hook cannot read
    the item (a report of an older quiz1, a hand-edited JSON: the item stays alone, it never stops the page)."""
    q = _hooks().get(question)
    hook = getattr(q, "group_key", None)
    if hook is None:
        return None
    try:
        key = hook(it)
    except (KeyError, TypeError, ValueError, AttributeError, ZeroDivisionError):
        return None
    return key if key and not key.startswith(ALONE) else None


def _label(question: str, key: str, it: dict) -> str:
    q = _hooks().get(question)
    if key.startswith(ALONE):
        return f"alone: {it.get('status')}" + (f", {it['found']}" if it.get("found") else ", nothing machine-readable")
    hook = getattr(q, "group_label", None)
    try:
        return hook(it) if hook is not None else key
    except (KeyError, TypeError, ValueError, AttributeError):
        return key


def _build(question: str, assigned: dict, items: dict, labels: dict) -> list[Group]:
    """Groups from {stem: key}, largest first (then by status and key); ``labels``: key -> label (a key not there is
    a TA's own: it is its label)."""
    members = defaultdict(list)
    for stem, key in assigned.items():
        members[key].append(stem)
    out = []
    for key, stems in members.items():
        stems = sorted(stems)
        statuses = {items[s].get("status") for s in stems}
        label = labels.get(key) or (_label(question, key, items[stems[0]]) if key.startswith(ALONE) else key)
        out.append(Group(question, key, statuses.pop() if len(statuses) == 1 else MIXED, label, tuple(stems)))
    return sorted(out, key=lambda g: (-len(g.members), g.status, g.key))


def _proposal(reports: dict, question: str) -> tuple[dict, dict, dict]:
    """({stem: key}, {stem: item}, {key: label}) of one question's items, the label from the key's first member;
    the key of a status the hook did not name gets the status (a group never holds two statuses as proposed)."""
    items, keys = {}, {}
    for stem, report in reports.items():
        it = item(report, question)
        if it is None:
            continue
        items[stem] = it
        keys[stem] = key_of(question, it) or ALONE + stem
    statuses = defaultdict(set)
    for stem, key in keys.items():
        statuses[key].add(items[stem].get("status"))
    keys = {stem: key if len(statuses[key]) == 1 else f"{key} [{items[stem].get('status')}]"
            for stem, key in keys.items()}
    labels = {}
    for stem in sorted(keys):
        if keys[stem] not in labels:
            labels[keys[stem]] = _label(question, keys[stem], items[stem])
    return keys, items, labels


def propose(reports: dict) -> dict:
    """The groups of a class's reports, question by question.

    Parameters
    ----------
    reports : dict
        Stem -> a report's JSON (``GradeReport.to_json``, as ``quiz1 grade`` writes ``OUTDIR/<stem>.json``).

    Returns
    -------
    dict
        Question name -> list of ``Group``, largest first; an item with nothing machine-readable is a group of
        one (``Group.alone``). Every graded item is in exactly one group.
    """
    out = {}
    for q in modules():
        keys, items, labels = _proposal(reports, q.NAME)
        out[q.NAME] = _build(q.NAME, keys, items, labels)
    return out


# --------------------------------------------------------------------------
# the TA's overrides

def _connect(out: str | Path) -> sqlite3.Connection:
    db = sqlite3.connect(Path(out) / "gradebook.sqlite", timeout=30, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)
    return db


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _check(question: str, *texts) -> None:
    if question not in _hooks():
        raise ValueError(f"expected a question ({', '.join(_hooks())}) but found {question!r}")
    for t in texts:
        if not isinstance(t, str) or not t:
            raise ValueError(f"expected a non-empty text but found {t!r}")


def move(out: str | Path, question: str, stem: str, to_key: str | None, by: str | None = None) -> None:
    """Put ``stem``'s item of ``question`` into the group ``to_key`` (an existing group's key, or a new one the TA
    names), or alone (None); kept in ``OUTDIR/gradebook.sqlite``.

    Parameters
    ----------
    out : str or Path
        The graded folder.
    question : str
        "Q1" .. "Q7".
    stem : str
        The submission (``OUTDIR/<stem>.json``).
    to_key : str or None
        The group it joins; None: alone.
    by : str, optional
        Who moved it (a TA's name), kept with the move.
    """
    _check(question, stem, *([to_key] if to_key is not None else []))
    with closing(_connect(out)) as db:
        db.execute("INSERT INTO group_moves (question, kind, stem, to_key, by, at) VALUES (?, 'move', ?, ?, ?, ?)",
                   (question, stem, to_key if to_key is not None else ALONE + stem, by, _now()))


def merge(out: str | Path, question: str, key_a: str, key_b: str, by: str | None = None) -> None:
    """Put every member of group ``key_b`` of ``question`` into group ``key_a`` (the members ``key_b`` has when the
    groups are read, a later grading run's too); kept in ``OUTDIR/gradebook.sqlite``.

    Parameters
    ----------
    out : str or Path
        The graded folder.
    question : str
        "Q1" .. "Q7".
    key_a, key_b : str
        The group kept and the group merged into it.
    by : str, optional
        Who merged them, kept with the merge.
    """
    _check(question, key_a, key_b)
    with closing(_connect(out)) as db:
        db.execute("INSERT INTO group_moves (question, kind, from_key, to_key, by, at) VALUES (?, 'merge', ?, ?, ?, ?)",
                   (question, key_b, key_a, by, _now()))


def overrides(out: str | Path, question: str) -> list[dict]:
    """``question``'s overrides in ``OUTDIR/gradebook.sqlite``, in the order given: {"kind": "move" | "merge",
    "stem", "from_key", "to_key", "by", "at"}."""
    if not (Path(out) / "gradebook.sqlite").exists():
        return []
    with closing(_connect(out)) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT kind, stem, from_key, to_key, by, at FROM group_moves WHERE question = ? "
                          "ORDER BY seq", (question,)).fetchall()
    return [dict(r) for r in rows]


def apply(proposed: dict, moves: list[dict]) -> dict:
    """{stem: key} after the overrides ``moves`` (``overrides``), in order: a move sets one stem's key (a stem not
    among the items is skipped: regraded away), a merge gives every stem of ``from_key`` the key ``to_key``."""
    keys = dict(proposed)
    for m in moves:
        if m["kind"] == "move" and m["stem"] in keys:
            keys[m["stem"]] = m["to_key"]
        elif m["kind"] == "merge":
            keys = {s: m["to_key"] if k == m["from_key"] else k for s, k in keys.items()}
    return keys


def reports_in(out: str | Path) -> dict:
    """Stem -> the report's JSON of every ``OUTDIR/<stem>.json`` that is one (a dict with "questions")."""
    found = {}
    for p in sorted(Path(out).glob("*.json")):
        try:
            r = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(r, dict) and isinstance(r.get("questions"), dict):
            found[p.stem] = r
    return found


def groups(out: str | Path, question: str, reports: dict | None = None) -> list[Group]:
    """``question``'s groups in the graded folder ``out``: proposed from ``OUTDIR/*.json`` (``propose``), then the
    TA's overrides applied (``apply``), largest first.

    Parameters
    ----------
    out : str or Path
        The graded folder.
    question : str
        "Q1" .. "Q7".
    reports : dict, optional
        Stem -> report JSON, when the caller has read them already (else ``reports_in(out)``).

    Returns
    -------
    list of Group
    """
    _check(question)
    keys, items, labels = _proposal(reports if reports is not None else reports_in(out), question)
    moved = apply(keys, overrides(out, question))      # a group keeps the words of its proposal when a TA's move joins it
    return _build(question, moved, items, labels)
