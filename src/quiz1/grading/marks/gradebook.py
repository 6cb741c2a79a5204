"""The class's gradebook: ``OUTDIR/gradebook.sqlite``, one row a submission and one a (submission, question) item.

Every item holds the machine's verdict and evidence, the mark, who set it (``machine`` or a named TA) and when, a
comment, a ``flagged`` bit and a ``version``. ``record`` (called by ``quiz1 grade`` for each report) never
overwrites a human's mark: when the machine's verdict changes under one, the item is flagged for another look.
``set_mark`` is optimistic: it names the version it saw, and a stale save (someone else saved since) is refused
with ``StaleMark``, never applied over the other TA's mark; it checks the types of what it is given (the review API
passes its JSON through) and keeps the comment unless given a new one. SQLite from the standard library, in WAL mode
(readers do not block the writer); ``SCHEMA_VERSION`` in its ``meta`` table.
"""
from __future__ import annotations

import json
import math
import reprlib
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

from ..questions import names as question_names
from .rubric import Rubric

SCHEMA_VERSION = 1
MACHINE = "machine"
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
    PRIMARY KEY (stem, question));
"""


class StaleMark(ValueError):
    """A save that names a version someone else has already replaced."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def connect(out: str | Path) -> sqlite3.Connection:
    """The gradebook of ``out`` (created on first use); ``ValueError`` for one of another schema version."""
    db = sqlite3.connect(Path(out) / "gradebook.sqlite", timeout=30, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    elif int(row["value"]) != SCHEMA_VERSION:
        db.close()
        raise ValueError(f"{Path(out) / 'gradebook.sqlite'}: schema version {row['value']}, but this quiz1 reads "
                         f"version {SCHEMA_VERSION}")
    return db


def record(out: str | Path, stem: str, report: dict, rubric: Rubric) -> None:
    """Put one graded report into the gradebook: the machine's marks where no human has marked; a human's mark kept,
    and flagged when the verdict under it changed. A ``not graded`` report changes no item."""
    with closing(connect(out)) as db:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO submissions VALUES (?, ?, ?, ?, ?) ON CONFLICT(stem) DO UPDATE SET zip = excluded.zip, "
                   "student_id = excluded.student_id, graded = excluded.graded, updated_at = excluded.updated_at",
                   (stem, report["zip"], report.get("student_id"), int(report.get("graded", True)), _now()))
        for q in question_names() if report.get("graded", True) else ():
            v = report["questions"][q]
            evidence = json.dumps({k: v.get(k) for k in ("found", "expected", "note")})
            proposed = rubric.proposed(q, v["status"])
            old = db.execute("SELECT * FROM items WHERE stem = ? AND question = ?", (stem, q)).fetchone()
            if old is None:
                db.execute("INSERT INTO items (stem, question, verdict, evidence, max_marks, marks, marked_by, "
                           "marked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (stem, q, v["status"], evidence, rubric.questions[q].marks, proposed,
                            MACHINE if proposed is not None else None, _now() if proposed is not None else None))
            elif old["marked_by"] not in (None, MACHINE):   # a human's mark: kept; a changed verdict is flagged
                changed = old["verdict"] != v["status"]
                db.execute("UPDATE items SET verdict = ?, evidence = ?, flagged = flagged OR ?, version = version + ? "
                           "WHERE stem = ? AND question = ?", (v["status"], evidence, int(changed), int(changed), stem, q))
            else:
                db.execute("UPDATE items SET verdict = ?, evidence = ?, max_marks = ?, marks = ?, marked_by = ?, "
                           "marked_at = ?, version = version + 1 WHERE stem = ? AND question = ?",
                           (v["status"], evidence, rubric.questions[q].marks, proposed,
                            MACHINE if proposed is not None else None, _now() if proposed is not None else None, stem, q))
        db.execute("COMMIT")


def set_mark(out: str | Path, stem: str, question: str, marks: float, by: str, version: int,
             comment: str | None = None) -> int:
    """A TA's mark for one item, saved only if the item is still at ``version``; returns the new version.

    ``comment`` None keeps the item's comment (a new mark does not erase another TA's words); a string replaces it.
    ``StaleMark`` when someone saved since; ``ValueError`` (one sentence) for no such item, a mark that is not a
    number from 0 to the question's marks (a bool is not a number here), a name that is not a non-empty string
    (nor ``machine``) of at most ``NAME_MAX`` characters, or a comment that is not a string of at most
    ``COMMENT_MAX`` characters: the API hands its JSON fields here as they came.
    """
    for field, value in (("stem", stem), ("question", question)):
        if not isinstance(value, str):
            raise ValueError(f"{field}: expected a string but found {value!r}")
    where = f"{stem} {question}"
    if isinstance(marks, bool) or not isinstance(marks, (int, float)) or not math.isfinite(marks):
        raise ValueError(f"{where}: marks: expected a number but found {marks!r}")
    if not isinstance(by, str) or not by.strip() or by.strip() == MACHINE or len(by.strip()) > NAME_MAX:
        raise ValueError(f"{where}: marked by: expected a TA's name (1 to {NAME_MAX} characters) but found "
                         f"{reprlib.repr(by)}")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"{where}: version: expected the item's version number but found {version!r}")
    if comment is not None and not isinstance(comment, str):
        raise ValueError(f"{where}: comment: expected a string but found {type(comment).__name__}")
    if comment is not None and len(comment) > COMMENT_MAX:
        raise ValueError(f"{where}: comment: expected at most {COMMENT_MAX:,} characters but found {len(comment):,}")
    with closing(connect(out)) as db:
        row = db.execute("SELECT max_marks, version, marked_by FROM items WHERE stem = ? AND question = ?",
                         (stem, question)).fetchone()
        if row is None:
            raise ValueError(f"{where}: no such item in the gradebook")
        if not 0 <= marks <= row["max_marks"]:
            raise ValueError(f"{where}: marks: expected 0 to {row['max_marks']:g} but found {marks:g}")
        cur = db.execute("UPDATE items SET marks = ?, marked_by = ?, marked_at = ?, comment = COALESCE(?, comment), "
                         "flagged = 0, version = version + 1 WHERE stem = ? AND question = ? AND version = ?",
                         (float(marks), by.strip(), _now(), comment, stem, question, version))
        if cur.rowcount == 0:
            raise StaleMark(f"{where}: not saved: it changed since you opened it (version {row['version']}, "
                            f"last marked by {row['marked_by'] or 'nobody'}); reload it and mark again")
        return version + 1


def waiting(it: dict) -> bool:
    """Whether an item waits for a human: no mark yet (a verdict the rubric leaves to a TA), or flagged (the verdict
    changed under a TA's mark, which is kept but needs another look). The one rule ``report.html``, the review page's
    count and ``export`` all use."""
    return it["marks"] is None or bool(it["flagged"])


def items(out: str | Path) -> list[dict]:
    """Every item of the gradebook, with its submission's zip and student id."""
    with closing(connect(out)) as db:
        rows = db.execute("SELECT i.*, s.zip, s.student_id, s.graded FROM items i JOIN submissions s USING (stem) "
                          "ORDER BY i.question, s.student_id, i.stem").fetchall()
    return [dict(r) for r in rows]
