"""The class's gradebook: ``OUTDIR/gradebook.sqlite``, one row a submission and one a (submission, question) item.

Every item holds the machine's verdict and evidence, the mark, who set it (``machine`` or a named TA) and when, a
comment, a ``flagged`` bit and a ``version``. A mark is the rubric items applied to it plus an ``adjustment``,
clipped to [0, the question's marks] (``rubric.clip``: the rule, written in ``rubric.toml``'s header); no item and no
adjustment is no mark (a human decides). The rubric items live here too (copied from the rubric when a class is
graded), so a TA's edit applies to everyone: ``edit_item`` changes an item's points or text and re-computes every mark
that uses it, in one transaction; ``add_item`` adds one. Every change a person (or the rubric file) makes is in the
``audit`` log: who, when, what, before and after.

``record`` (called by ``quiz1 grade`` for each report) applies the item of the machine's verdict and never
overwrites a human's mark: when the machine's verdict changes under one, the item is flagged for another look.
``apply_items`` and ``set_mark`` (a mark as a number: an adjustment alone, no item) are optimistic: they name the
version they saw, and a stale save (someone else saved since) is refused with ``StaleMark``, never applied over the
other TA's mark; they check the types of what they are given (the review API passes its JSON through) and keep the
comment unless given a new one. SQLite from the standard library, in WAL mode (readers do not block the writer);
``SCHEMA_VERSION`` in its ``meta`` table; a gradebook of schema 1 (marks without items) is migrated on ``connect``,
its marks kept as adjustments.

Each function takes ``out``, the graded folder, or an open connection (``connect(out)``): a write in a connection's
open transaction becomes part of it.
"""
from __future__ import annotations

import json
import math
import re
import reprlib
import sqlite3
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path

from ..questions import names as question_names
from .rubric import Rubric, check_id, check_points, check_text, clip

SCHEMA_VERSION = 2
MACHINE = "machine"
RUBRIC = "rubric"    # who set an item copied from the rubric file (a TA's edit replaces it with the TA's name)
COMMENT_MAX = 4000   # characters of a TA's comment (about a page; the API refuses more)
NAME_MAX = 100       # characters of a TA's name
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    stem TEXT PRIMARY KEY, zip TEXT NOT NULL, student_id TEXT, graded INTEGER NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    stem TEXT NOT NULL REFERENCES submissions(stem), question TEXT NOT NULL, verdict TEXT NOT NULL,
    evidence TEXT NOT NULL, max_marks REAL NOT NULL, marks REAL, marked_by TEXT, marked_at TEXT,
    comment TEXT NOT NULL DEFAULT '', flagged INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL DEFAULT 1,
    adjustment REAL, PRIMARY KEY (stem, question));
CREATE TABLE IF NOT EXISTS questions (question TEXT PRIMARY KEY, marks REAL NOT NULL);
CREATE TABLE IF NOT EXISTS rubric_items (
    question TEXT NOT NULL, id TEXT NOT NULL, text TEXT NOT NULL, points REAL NOT NULL, position INTEGER NOT NULL,
    by TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (question, id));
CREATE TABLE IF NOT EXISTS applied (
    stem TEXT NOT NULL, question TEXT NOT NULL, item TEXT NOT NULL, PRIMARY KEY (stem, question, item));
CREATE INDEX IF NOT EXISTS applied_by_item ON applied (question, item);
CREATE TABLE IF NOT EXISTS audit (
    n INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, by TEXT NOT NULL, action TEXT NOT NULL, question TEXT,
    stem TEXT, item TEXT, before TEXT, after TEXT);
CREATE INDEX IF NOT EXISTS audit_by_item ON audit (question, item, action);
"""


class StaleMark(ValueError):
    """A save that names a version someone else has already replaced."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _version(db: sqlite3.Connection) -> int | None:
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone() is None:
        return None
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return None if row is None else int(row["value"])


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


@contextmanager
def _writing(db: sqlite3.Connection):
    """A write transaction (``BEGIN IMMEDIATE``), or the connection's own when one is open."""
    if db.in_transaction:
        yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _log(db, by: str, action: str, question=None, stem=None, item=None, before=None, after=None) -> None:
    db.execute("INSERT INTO audit (at, by, action, question, stem, item, before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (_now(), by, action, question, stem, item, None if before is None else json.dumps(before),
                None if after is None else json.dumps(after)))


def _migrate_from_1(db: sqlite3.Connection) -> None:
    """Schema 1 -> 2 in one transaction: the new tables, and every mark kept as an adjustment (no item applied)."""
    with _writing(db):
        if _version(db) != 1:            # another process migrated it while this one waited
            return
        for stmt in _statements(SCHEMA):
            db.execute(stmt)
        db.execute("ALTER TABLE items ADD COLUMN adjustment REAL")
        n = db.execute("UPDATE items SET adjustment = marks WHERE marks IS NOT NULL").rowcount
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
        _log(db, "quiz1", "migrate", before={"schema_version": 1},
             after={"schema_version": SCHEMA_VERSION, "marks kept as adjustments": n})


def connect(out: str | Path) -> sqlite3.Connection:
    """The gradebook of ``out`` (created on first use; one of schema 1 migrated); ``ValueError`` for one of a newer
    schema."""
    path = Path(out) / "gradebook.sqlite"
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    found = _version(db)
    if found == 1:
        _migrate_from_1(db)
    elif found is not None and found != SCHEMA_VERSION:
        db.close()
        raise ValueError(f"{path}: schema version {found}, but this quiz1 reads version {SCHEMA_VERSION}")
    db.executescript(SCHEMA)
    db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    return db


@contextmanager
def _open(out):
    """``out`` itself when it is a connection, else a connection to ``out``'s gradebook, closed after."""
    if isinstance(out, sqlite3.Connection):
        yield out
    else:
        with closing(connect(out)) as db:
            yield db


# --------------------------------------------------------------------------
# a mark: the items applied, the adjustment, and what they make


def _applied(db, stem: str, question: str) -> list[str]:
    return [r["item"] for r in db.execute(
        "SELECT a.item FROM applied a LEFT JOIN rubric_items r ON r.question = a.question AND r.id = a.item "
        "WHERE a.stem = ? AND a.question = ? ORDER BY r.position, r.rowid", (stem, question))]


def _compute(db, stem: str, question: str) -> float | None:
    """The rule: the applied items' points plus the adjustment, clipped to [0, max_marks]; None without either."""
    row = db.execute("SELECT max_marks, adjustment FROM items WHERE stem = ? AND question = ?", (stem, question)).fetchone()
    points = [r["points"] for r in db.execute(
        "SELECT r.points FROM applied a JOIN rubric_items r ON r.question = a.question AND r.id = a.item "
        "WHERE a.stem = ? AND a.question = ?", (stem, question))]
    if not points and row["adjustment"] is None:
        return None
    return clip(sum(points) + (row["adjustment"] or 0.0), row["max_marks"])


def _state(db, stem: str, question: str) -> dict:
    row = db.execute("SELECT marks, adjustment, comment, marked_by FROM items WHERE stem = ? AND question = ?",
                     (stem, question)).fetchone()
    return {"items": _applied(db, stem, question), "adjustment": row["adjustment"], "marks": row["marks"],
            "comment": row["comment"], "marked_by": row["marked_by"]}


def _put(db, stem: str, question: str, item_ids) -> None:
    db.execute("DELETE FROM applied WHERE stem = ? AND question = ?", (stem, question))
    db.executemany("INSERT INTO applied VALUES (?, ?, ?)", [(stem, question, i) for i in item_ids])


# --------------------------------------------------------------------------
# the rubric's items in the gradebook


def _question_marks(db, question: str) -> float | None:
    row = db.execute("SELECT marks FROM questions WHERE question = ?", (question,)).fetchone()
    return None if row is None else row["marks"]


def _no_such_item(items: list, question: str, item_id) -> ValueError:
    """The one sentence for an item id ``question`` does not have (``items``: its items, ``rubric_items``)."""
    ids = ", ".join(r["id"] for r in items) or "none"
    return ValueError(f"{question} item: expected one of {question}'s items ({ids}) but found {reprlib.repr(item_id)}")


def _edit(db, question: str, item_id: str, points, text, by: str) -> dict:
    """Change one item and re-compute every mark that uses it (in ``db``'s transaction); what changed."""
    old = db.execute("SELECT * FROM rubric_items WHERE question = ? AND id = ?", (question, item_id)).fetchone()
    if old is None:
        raise _no_such_item(rubric_items(db, question), question, item_id)
    marks = _question_marks(db, question)
    new_points = old["points"] if points is None else check_points(points, marks, f"{question} {item_id}: points")
    new_text = old["text"] if text is None else check_text(text, f"{question} {item_id}: text")
    db.execute("UPDATE rubric_items SET points = ?, text = ?, by = ?, at = ? WHERE question = ? AND id = ?",
               (new_points, new_text, by, _now(), question, item_id))
    _log(db, by, "edit item", question, item=item_id, before={"text": old["text"], "points": old["points"]},
         after={"text": new_text, "points": new_points})
    recomputed = []
    for r in db.execute("SELECT stem FROM applied WHERE question = ? AND item = ? ORDER BY stem",
                        (question, item_id)).fetchall():
        before = db.execute("SELECT marks FROM items WHERE stem = ? AND question = ?", (r["stem"], question)).fetchone()
        if before is None:
            continue
        after = _compute(db, r["stem"], question)
        if after != before["marks"]:
            db.execute("UPDATE items SET marks = ?, version = version + 1 WHERE stem = ? AND question = ?",
                       (after, r["stem"], question))
            _log(db, by, "re-compute", question, r["stem"], item_id, {"marks": before["marks"]}, {"marks": after})
            recomputed.append((r["stem"], before["marks"], after))
    return {"question": question, "id": item_id, "text": new_text, "points": new_points, "recomputed": recomputed}


def seed(out, rubric: Rubric) -> None:
    """Copy ``rubric``'s questions and items into the gradebook: an item it does not hold is added; one no TA has
    edited (set by the rubric) follows the file, re-computing the marks that use it; a TA's item is kept."""
    with _open(out) as db, _writing(db):
        for q in question_names():
            question = rubric.questions[q]
            db.execute("INSERT INTO questions VALUES (?, ?) ON CONFLICT(question) DO UPDATE SET marks = excluded.marks",
                       (q, question.marks))
            for pos, it in enumerate(question.items):
                old = db.execute("SELECT * FROM rubric_items WHERE question = ? AND id = ?", (q, it.id)).fetchone()
                if old is None:
                    db.execute("INSERT INTO rubric_items VALUES (?, ?, ?, ?, ?, ?, ?)",
                               (q, it.id, it.text, it.points, pos, RUBRIC, _now()))
                    _log(db, RUBRIC, "add item", q, item=it.id, after={"text": it.text, "points": it.points})
                elif old["by"] == RUBRIC and (old["text"], old["points"]) != (it.text, it.points):
                    _edit(db, q, it.id, it.points, it.text, RUBRIC)


def rubric_items(out, question: str | None = None) -> list[dict]:
    """The gradebook's rubric items (of ``question``, or all), in the rubric's order; ``from_rubric``: copied from the
    rubric file (else a TA added it)."""
    with _open(out) as db:
        rows = db.execute("SELECT question, id, text, points, by, at, EXISTS (SELECT 1 FROM audit a WHERE a.action = "
                          "'add item' AND a.by = ? AND a.question = r.question AND a.item = r.id) AS from_rubric "
                          "FROM rubric_items r WHERE ? IS NULL OR question = ? ORDER BY question, position, rowid",
                          (RUBRIC, question, question)).fetchall()
    return [{**dict(r), "from_rubric": bool(r["from_rubric"])} for r in rows]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-") or "item"


def _check_by(by, where: str) -> str:
    if not isinstance(by, str) or not by.strip() or by.strip() in (MACHINE, RUBRIC) or len(by.strip()) > NAME_MAX:
        raise ValueError(f"{where}: marked by: expected a TA's name (1 to {NAME_MAX} characters) but found "
                         f"{reprlib.repr(by)}")
    return by.strip()


def _check_str(**fields) -> None:
    for field, value in fields.items():
        if not isinstance(value, str):
            raise ValueError(f"{field}: expected a string but found {reprlib.repr(value)}")


def add_item(out, question: str, *, text: str, points, by: str, id: str | None = None) -> dict:  # noqa: A002
    """A new rubric item of ``question`` (its id made from its text unless given); the item, as ``rubric_items``."""
    _check_str(question=question)
    by = _check_by(by, f"{question} new item")
    with _open(out) as db, _writing(db):
        marks = _question_marks(db, question)
        if marks is None:
            raise ValueError(f"question: expected one of the gradebook's questions "
                             f"({', '.join(question_names())}) but found {reprlib.repr(question)}")
        text = check_text(text, f"{question} new item: text")
        points = check_points(points, marks, f"{question} new item: points")
        taken = {r["id"] for r in db.execute("SELECT id FROM rubric_items WHERE question = ?", (question,))}
        if id is None:
            base = _slug(text)
            id = next(c for c in (base, *(f"{base[:36]}-{n}" for n in range(2, 10_000))) if c not in taken)  # noqa: A001
        else:
            check_id(id, f"{question} new item: id")
            if id in taken:
                raise ValueError(f"{question} new item: id: expected an id {question} does not have yet but found {id!r}")
        pos = db.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM rubric_items WHERE question = ?",
                         (question,)).fetchone()[0]
        at = _now()
        db.execute("INSERT INTO rubric_items VALUES (?, ?, ?, ?, ?, ?, ?)", (question, id, text, points, pos, by, at))
        _log(db, by, "add item", question, item=id, after={"text": text, "points": points})
    return {"question": question, "id": id, "text": text, "points": points, "by": by, "at": at}


def edit_item(out, question: str, id: str, *, points=None, text: str | None = None, by: str) -> dict:  # noqa: A002
    """Change an item's ``points`` (``"full"`` or a number from -marks to marks) or ``text`` and re-compute every mark
    that uses it, in one transaction; the item and ``recomputed``, a list of (stem, marks before, marks after).

    A re-computed mark keeps who set it (the mark is still theirs: the items they chose) and gets a new version (a
    page opened before sees its save refused as stale); each change is in the audit log under ``by``."""
    _check_str(question=question, id=id)
    by = _check_by(by, f"{question} {id}")
    if points is None and text is None:
        raise ValueError(f"{question} {id}: expected new points or a new text but found neither")
    with _open(out) as db, _writing(db):
        return _edit(db, question, id, points, text, by)


def delete_item(out, question: str, id: str, *, by: str) -> dict:  # noqa: A002
    """Take out an item a TA added that no mark uses (a mistaken one); the item as it was. ``ValueError`` (one
    sentence) for an item of the rubric file (it would come back with the next ``grade``: edit it, or take it out of
    the file) or one a mark uses (take it off those marks first: a deletion never changes a mark)."""
    _check_str(question=question, id=id)
    by = _check_by(by, f"{question} {id}")
    with _open(out) as db, _writing(db):
        items = rubric_items(db, question)
        row = next((r for r in items if r["id"] == id), None)
        if row is None:
            raise _no_such_item(items, question, id)
        if row["from_rubric"]:
            raise ValueError(f"{question} {id}: not deleted: it comes from the rubric file and would come back when the "
                             f"class is graded again; edit its points or text, or take it out of the rubric file")
        using = [r["stem"] for r in db.execute("SELECT stem FROM applied WHERE question = ? AND item = ? ORDER BY stem",
                                               (question, id))]
        if using:
            raise ValueError(f"{question} {id}: not deleted: {len(using)} mark(s) use it ({', '.join(using[:5])}"
                             f"{', ...' if len(using) > 5 else ''}); take it off them first")
        db.execute("DELETE FROM rubric_items WHERE question = ? AND id = ?", (question, id))
        _log(db, by, "delete item", question, item=id, before={"text": row["text"], "points": row["points"]})
    return {k: row[k] for k in ("question", "id", "text", "points")}


# --------------------------------------------------------------------------
# marks


def record(out, stem: str, report: dict, rubric: Rubric) -> None:
    """Put one graded report into the gradebook: the item of the machine's verdict where no human has marked; a
    human's mark kept, and flagged when the verdict under it changed. A ``not graded`` report changes no item."""
    with _open(out) as db, _writing(db):
        seed(db, rubric)
        db.execute("INSERT INTO submissions VALUES (?, ?, ?, ?, ?) ON CONFLICT(stem) DO UPDATE SET zip = excluded.zip, "
                   "student_id = excluded.student_id, graded = excluded.graded, updated_at = excluded.updated_at",
                   (stem, report["zip"], report.get("student_id"), int(report.get("graded", True)), _now()))
        for q in question_names() if report.get("graded", True) else ():
            v = report["questions"][q]
            evidence = json.dumps({k: v.get(k) for k in ("found", "expected", "note")})
            machine_item = rubric.verdict_item(q, v["status"])
            top = rubric.questions[q].marks
            if machine_item is None:
                proposed = None
            else:
                points = db.execute("SELECT points FROM rubric_items WHERE question = ? AND id = ?",
                                    (q, machine_item.id)).fetchone()["points"]     # the gradebook's (a TA may have edited it)
                proposed = clip(points, top)
            by, at = (MACHINE, _now()) if proposed is not None else (None, None)
            old = db.execute("SELECT * FROM items WHERE stem = ? AND question = ?", (stem, q)).fetchone()
            if old is None:
                db.execute("INSERT INTO items (stem, question, verdict, evidence, max_marks, marks, marked_by, "
                           "marked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (stem, q, v["status"], evidence, top, proposed,
                                                                          by, at))
                _put(db, stem, q, [machine_item.id] if machine_item else [])
            elif old["marked_by"] not in (None, MACHINE):   # a human's mark: kept; a changed verdict is flagged
                changed = old["verdict"] != v["status"]
                db.execute("UPDATE items SET verdict = ?, evidence = ?, flagged = flagged OR ?, version = version + ? "
                           "WHERE stem = ? AND question = ?", (v["status"], evidence, int(changed), int(changed), stem, q))
            else:
                before = _state(db, stem, q)
                _put(db, stem, q, [machine_item.id] if machine_item else [])
                db.execute("UPDATE items SET verdict = ?, evidence = ?, max_marks = ?, marks = ?, marked_by = ?, "
                           "marked_at = ?, adjustment = NULL, version = version + 1 WHERE stem = ? AND question = ?",
                           (v["status"], evidence, top, proposed, by, at, stem, q))
                after = _state(db, stem, q)
                if (before["items"], before["marks"]) != (after["items"], after["marks"]):
                    _log(db, MACHINE, "machine", q, stem, before=before, after=after)


def _check_mark_args(stem, question, by, version, comment) -> tuple[str, str]:
    _check_str(stem=stem, question=question)
    where = f"{stem} {question}"
    by = _check_by(by, where)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"{where}: version: expected the item's version number but found {version!r}")
    if comment is not None and not isinstance(comment, str):
        raise ValueError(f"{where}: comment: expected a string but found {type(comment).__name__}")
    if comment is not None and len(comment) > COMMENT_MAX:
        raise ValueError(f"{where}: comment: expected at most {COMMENT_MAX:,} characters but found {len(comment):,}")
    return where, by


def _current(db, stem: str, question: str, version: int, where: str) -> sqlite3.Row:
    row = db.execute("SELECT max_marks, version, marked_by FROM items WHERE stem = ? AND question = ?",
                     (stem, question)).fetchone()
    if row is None:
        raise ValueError(f"{where}: no such item in the gradebook")
    if row["version"] != version:
        raise StaleMark(f"{where}: not saved: it changed since you opened it (version {row['version']}, "
                        f"last marked by {row['marked_by'] or 'nobody'}); reload it and mark again")
    return row


def _save(db, stem, question, item_ids, adjustment, comment, by, version, action) -> int:
    before = _state(db, stem, question)
    _put(db, stem, question, item_ids)
    db.execute("UPDATE items SET adjustment = ?, marked_by = ?, marked_at = ?, comment = COALESCE(?, comment), "
               "flagged = 0, version = version + 1 WHERE stem = ? AND question = ?",
               (float(adjustment), by, _now(), comment, stem, question))
    db.execute("UPDATE items SET marks = ? WHERE stem = ? AND question = ?",
               (_compute(db, stem, question), stem, question))
    _log(db, by, action, question, stem, before=before, after=_state(db, stem, question))
    return version + 1


def _item_row(db, stem: str, question: str, where: str):
    """The item's row (its ``max_marks``), or ``ValueError`` naming ``where``: no such item."""
    row = db.execute("SELECT max_marks FROM items WHERE stem = ? AND question = ?", (stem, question)).fetchone()
    if row is None:
        raise ValueError(f"{where}: no such item in the gradebook")
    return row


def set_mark(out, stem: str, question: str, marks: float, by: str, version: int, comment: str | None = None) -> int:
    """A TA's mark for one item as a number (an adjustment alone: the items applied are removed), saved only if the
    item is still at ``version``; returns the new version.

    ``comment`` None keeps the item's comment (a new mark does not erase another TA's words); a string replaces it.
    ``StaleMark`` when someone saved since; ``ValueError`` (one sentence) for no such item, a mark that is not a
    number from 0 to the question's marks (a bool is not a number here), a name that is not a non-empty string
    (nor ``machine``) of at most ``NAME_MAX`` characters, or a comment that is not a string of at most
    ``COMMENT_MAX`` characters: the API hands its JSON fields here as they came.
    """
    _check_str(stem=stem, question=question)
    if isinstance(marks, bool) or not isinstance(marks, (int, float)) or not math.isfinite(marks):
        raise ValueError(f"{stem} {question}: marks: expected a number but found {marks!r}")
    where, by = _check_mark_args(stem, question, by, version, comment)
    with _open(out) as db, _writing(db):
        row = _item_row(db, stem, question, where)
        if not 0 <= marks <= row["max_marks"]:
            raise ValueError(f"{where}: marks: expected 0 to {row['max_marks']:g} but found {marks:g}")
        _current(db, stem, question, version, where)
        return _save(db, stem, question, [], marks, comment, by, version, "mark")


def apply_items(out, stem: str, question: str, items: list, adjustment: float | None, comment: str | None, by: str,
                version: int) -> int:
    """A TA's mark for one item as rubric items: the ids of ``question``'s items ``items`` applied (those alone),
    plus ``adjustment`` (None: 0; from -marks to marks), clipped to [0, marks]; saved only if the item is still at
    ``version``; returns the new version. ``comment``, ``by``, ``StaleMark`` and ``ValueError`` as ``set_mark``."""
    _check_str(stem=stem, question=question)
    where = f"{stem} {question}"
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
        raise ValueError(f"{where}: items: expected a list of item ids but found {reprlib.repr(items)}")
    if len(set(items)) != len(items):
        twice = ", ".join(sorted({i for i in items if items.count(i) > 1}))
        raise ValueError(f"{where}: items: expected each item once but found {twice} more than once")
    adjustment = 0.0 if adjustment is None else adjustment
    if isinstance(adjustment, bool) or not isinstance(adjustment, (int, float)) or not math.isfinite(adjustment):
        raise ValueError(f"{where}: adjustment: expected a number but found {adjustment!r}")
    where, by = _check_mark_args(stem, question, by, version, comment)
    with _open(out) as db, _writing(db):
        row = _item_row(db, stem, question, where)
        known = [r["id"] for r in db.execute("SELECT id FROM rubric_items WHERE question = ? ORDER BY position, rowid",
                                             (question,))]
        unknown = [i for i in items if i not in known]
        if unknown:
            raise ValueError(f"{where}: items: expected ids of {question}'s items ({', '.join(known) or 'none'}) but "
                             f"found {reprlib.repr(', '.join(unknown))}")
        if not -row["max_marks"] <= adjustment <= row["max_marks"]:
            raise ValueError(f"{where}: adjustment: expected {-row['max_marks']:g} to {row['max_marks']:g} but found "
                             f"{adjustment:g}")
        _current(db, stem, question, version, where)
        return _save(db, stem, question, list(items), adjustment, comment, by, version, "apply items")


def waiting(it: dict) -> bool:
    """Whether an item waits for a human: no mark yet (a verdict the rubric leaves to a TA), or flagged (the verdict
    changed under a TA's mark, which is kept but needs another look). The one rule ``report.html``, the review page's
    count and ``export`` all use."""
    return it["marks"] is None or bool(it["flagged"])


def _with_applied(db, rows) -> list[dict]:
    applied: dict[tuple, list] = {}
    for r in db.execute("SELECT a.stem, a.question, a.item FROM applied a LEFT JOIN rubric_items r "
                        "ON r.question = a.question AND r.id = a.item ORDER BY r.position, r.rowid"):
        applied.setdefault((r["stem"], r["question"]), []).append(r["item"])
    return [{**dict(r), "applied": applied.get((r["stem"], r["question"]), [])} for r in rows]


def items(out) -> list[dict]:
    """Every item of the gradebook, with its submission's zip and student id, and ``applied``: the ids of the rubric
    items applied to it, in the rubric's order."""
    with _open(out) as db:
        rows = db.execute("SELECT i.*, s.zip, s.student_id, s.graded FROM items i JOIN submissions s USING (stem) "
                          "ORDER BY i.question, s.student_id, i.stem").fetchall()
        return _with_applied(db, rows)


def item(out, stem: str, question: str) -> dict | None:
    """One item, as ``items`` gives it, or None."""
    with _open(out) as db:
        rows = db.execute("SELECT i.*, s.zip, s.student_id, s.graded FROM items i JOIN submissions s USING (stem) "
                          "WHERE i.stem = ? AND i.question = ?", (stem, question)).fetchall()
        return next(iter(_with_applied(db, rows)), None)


def audit(out) -> list[dict]:
    """The audit log, oldest first: n, at, by, action (migrate, add item, edit item, re-compute, mark, apply items,
    machine), question, stem, item, before and after (decoded JSON, or None)."""
    with _open(out) as db:
        rows = db.execute("SELECT * FROM audit ORDER BY n").fetchall()
    return [{**dict(r), "before": json.loads(r["before"]) if r["before"] else None,
             "after": json.loads(r["after"]) if r["after"] else None} for r in rows]


__all__ = ["COMMENT_MAX", "MACHINE", "NAME_MAX", "RUBRIC", "SCHEMA_VERSION", "StaleMark", "add_item",
           "apply_items", "audit", "connect", "edit_item", "item", "items", "record", "rubric_items", "seed", "set_mark",
           "waiting"]
